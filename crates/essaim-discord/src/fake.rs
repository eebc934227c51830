//! A fake Discord REST API on loopback, for tests (feature `fake`).
//!
//! It serves `/api/v10/...` on `127.0.0.1:<ephemeral port>` in the real API's JSON shapes, so that
//! the real serenity client (in this process, or in a bot process pointed at
//! [`FakeDiscord::api_url`]) runs against it unchanged: `POST` and `PATCH
//! /channels/{channel}/messages[/{id}]` (JSON or multipart with files), `PUT
//! /applications/{app}/commands`, `POST /interactions/{id}/{token}/callback`, `PATCH
//! /webhooks/{app}/{token}/messages/@original` and `GET /gateway/bot`.
//!
//! Like Discord, it honours `nonce` + `enforce_nonce`: a second post with the same nonce in the
//! same channel answers the message already posted and is not recorded again. Every answer carries
//! `X-RateLimit-*` headers (see [`FakeDiscord::set_rate_limit`]).
//!
//! The state lives in the test process, in the [`FakeDiscord`] handle (cheap to clone): a bot
//! process killed and restarted finds the history where it left it.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

/// The bot's own user id in the fake.
pub const BOT_USER_ID: u64 = 900_000_000_000_000_001;
/// The bot's username in the fake.
pub const BOT_USERNAME: &str = "essaim-fake";
/// The first snowflake the fake hands out.
const FIRST_ID: u64 = 1_300_000_000_000_000_000;

/// One message the bot posted.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub id: String,
    pub channel_id: String,
    pub content: String,
    /// Button rows: `(label, custom_id)`.
    pub buttons: Vec<Vec<(String, String)>>,
    /// Button rows: style number (1 primary, 3 success, 4 danger…).
    pub styles: Vec<Vec<u64>>,
    pub nonce: Option<String>,
    pub enforce_nonce: bool,
    /// Files attached: `(file name, content)`.
    pub files: Vec<(String, Vec<u8>)>,
}

/// One edit of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    pub channel_id: String,
    pub message_id: String,
    pub content: Option<String>,
    /// `None` when the edit left the components alone; `Some(vec![])` clears them.
    pub buttons: Option<Vec<Vec<(String, String)>>>,
}

/// One answer to an interaction: `POST /interactions/{id}/{token}/callback`, or the edit of the
/// deferred answer (`PATCH /webhooks/{app}/{token}/messages/@original`, `interaction_id` = "").
#[derive(Debug, Clone, PartialEq)]
pub struct InteractionResponse {
    pub interaction_id: String,
    pub token: String,
    /// `callback` or `@original`.
    pub kind: String,
    pub body: Value,
}

/// An error the fake answers instead of doing what was asked (see [`FakeDiscord::fail_next`]).
#[derive(Debug, Clone, PartialEq)]
pub enum FakeError {
    /// 429 with `retry_after` (seconds) in the body and the `Retry-After` header.
    RateLimited { retry_after: f64 },
    /// 500.
    ServerError,
    /// 403 « Missing Access » (code 50001).
    Forbidden,
    /// 404 « Unknown Channel » (code 10003).
    UnknownChannel,
}

impl FakeError {
    fn response(&self) -> Response {
        match self {
            FakeError::RateLimited { retry_after } => {
                let body =
                    json!({ "message": "You are being rate limited.", "retry_after": retry_after, "global": false });
                let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
                let headers = response.headers_mut();
                if let Ok(value) = HeaderValue::from_str(&format!("{}", retry_after.ceil())) {
                    headers.insert(header::RETRY_AFTER, value);
                }
                headers.insert("x-ratelimit-scope", HeaderValue::from_static("user"));
                response
            }
            FakeError::ServerError => error(StatusCode::INTERNAL_SERVER_ERROR, 0, "500: Internal Server Error"),
            FakeError::Forbidden => error(StatusCode::FORBIDDEN, 50001, "Missing Access"),
            FakeError::UnknownChannel => error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"),
        }
    }
}

fn error(status: StatusCode, code: i64, message: &str) -> Response {
    (status, axum::Json(json!({ "code": code, "message": message }))).into_response()
}

/// Handle on a running fake server and its state.
#[derive(Clone)]
pub struct FakeDiscord {
    shared: Arc<Mutex<FakeState>>,
    addr: SocketAddr,
}

impl std::fmt::Debug for FakeDiscord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeDiscord").field("addr", &self.addr).finish_non_exhaustive()
    }
}

#[derive(Default)]
struct FakeState {
    next_id: u64,
    calls: Vec<String>,
    tokens: Vec<String>,
    posts: Vec<Post>,
    /// Message id -> its current JSON.
    messages: HashMap<String, Value>,
    /// (channel, nonce) -> message id.
    nonces: HashMap<(String, String), String>,
    edits: Vec<Edit>,
    commands: Option<Value>,
    interaction_responses: Vec<InteractionResponse>,
    failures: HashMap<String, VecDeque<FakeError>>,
    rate_limit: (u32, f64),
    /// How long a post is held after being recorded, before it is answered.
    post_delay: Duration,
}

impl FakeState {
    fn new_id(&mut self) -> String {
        let id = FIRST_ID + self.next_id;
        self.next_id += 1;
        id.to_string()
    }
}

impl FakeDiscord {
    /// A token tests may give the bot (any token is accepted; see [`FakeDiscord::tokens_used`]).
    pub const TOKEN: &'static str = "ODk5.FAKE.essaim-test-token";
    /// The application id of the fake bot.
    pub const APPLICATION_ID: u64 = 900_000_000_000_000_002;

    /// Starts the fake on `127.0.0.1:0` in the current tokio runtime.
    pub async fn start() -> FakeDiscord {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the fake Discord server could not bind a loopback port");
        let addr = listener.local_addr().expect("the fake Discord server has no local address");
        let state = FakeState { rate_limit: (4, 1.0), ..FakeState::default() };
        let shared = Arc::new(Mutex::new(state));
        let app = Router::new().route("/api/v10/{*path}", any(api)).with_state(Arc::clone(&shared));
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("fake Discord server stopped: {err}");
            }
        });
        FakeDiscord { shared, addr }
    }

    /// Base URL for [`crate::DiscordConfig::api_url`], e.g. `http://127.0.0.1:PORT`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every call, as `METHOD /path` (path after `/api/v10`).
    /// Holds every answer to a message post for `delay` after the post is recorded.
    pub fn set_post_delay(&self, delay: Duration) {
        self.lock().post_delay = delay;
    }

    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// The `Authorization` headers used, in order of first use.
    pub fn tokens_used(&self) -> Vec<String> {
        self.lock().tokens.clone()
    }

    /// Every message posted (a post answered from its nonce is not counted twice).
    pub fn posts(&self) -> Vec<Post> {
        self.lock().posts.clone()
    }

    /// The messages posted in `channel`.
    pub fn messages_to(&self, channel: impl ToString) -> Vec<Post> {
        let channel = channel.to_string();
        self.lock().posts.iter().filter(|p| p.channel_id == channel).cloned().collect()
    }

    /// Every message edit.
    pub fn edits(&self) -> Vec<Edit> {
        self.lock().edits.clone()
    }

    /// The last set of global commands registered (the JSON array sent), if any.
    pub fn commands(&self) -> Option<Value> {
        self.lock().commands.clone()
    }

    /// The answers to interactions sent through the REST API (callbacks and `@original` edits).
    pub fn interaction_responses(&self) -> Vec<InteractionResponse> {
        self.lock().interaction_responses.clone()
    }

    /// The next call to `method_path` (e.g. `POST /channels/123/messages`, as in
    /// [`FakeDiscord::calls`]) fails with `error`. Several failures queue up.
    pub fn fail_next(&self, method_path: &str, error: FakeError) {
        self.lock().failures.entry(method_path.to_owned()).or_default().push_back(error);
    }

    /// Every later answer says `X-RateLimit-Remaining: remaining` and
    /// `X-RateLimit-Reset-After: reset_after` (default 4 and 1.0).
    pub fn set_rate_limit(&self, remaining: u32, reset_after: f64) {
        self.lock().rate_limit = (remaining, reset_after);
    }

    /// Waits until `done(self)` holds (checked every 10 ms) or `timeout` passed; whether it held.
    pub async fn wait_until(&self, timeout: Duration, done: impl Fn(&FakeDiscord) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn bot_user() -> Value {
    json!({
        "id": BOT_USER_ID.to_string(),
        "username": BOT_USERNAME,
        "discriminator": "0000",
        "global_name": null,
        "avatar": null,
        "bot": true,
    })
}

fn timestamp() -> String {
    "2026-03-02T09:00:00.000000+00:00".to_owned()
}

/// `(label, custom_id)` and styles of the button rows of `components`.
type Rows<T> = Vec<Vec<T>>;

fn buttons_of(components: &Value) -> (Rows<(String, String)>, Rows<u64>) {
    let rows = components.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut buttons = Vec::new();
    let mut styles = Vec::new();
    for row in rows {
        let items = row.get("components").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let text = |b: &Value, k: &str| b.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        buttons.push(items.iter().map(|b| (text(b, "label"), text(b, "custom_id"))).collect());
        styles.push(items.iter().map(|b| b.get("style").and_then(Value::as_u64).unwrap_or(0)).collect());
    }
    (buttons, styles)
}

/// The JSON body (or `payload_json`) and the files of a request.
async fn body_of(headers: &HeaderMap, request: Request) -> Result<(Value, Vec<(String, Vec<u8>)>), Response> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let bad = |why: String| error(StatusCode::BAD_REQUEST, 50035, &why);
    if content_type.starts_with("multipart/form-data") {
        let mut multipart =
            Multipart::from_request(request, &()).await.map_err(|e| bad(format!("bad multipart body: {e}")))?;
        let mut json = Value::Null;
        let mut files = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(|e| bad(format!("bad multipart body: {e}")))? {
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let bytes = field.bytes().await.map_err(|e| bad(format!("bad multipart body: {e}")))?;
            if name == "payload_json" {
                json = serde_json::from_slice(&bytes).map_err(|e| bad(format!("bad payload_json: {e}")))?;
            } else if let Some(file_name) = file_name {
                files.push((file_name, bytes.to_vec()));
            }
        }
        return Ok((json, files));
    }
    let bytes = Bytes::from_request(request, &()).await.map_err(|e| bad(format!("unreadable body: {e}")))?;
    if bytes.is_empty() {
        return Ok((Value::Null, Vec::new()));
    }
    let json = serde_json::from_slice(&bytes).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    Ok((json, Vec::new()))
}

async fn api(
    State(shared): State<Arc<Mutex<FakeState>>>,
    Path(path): Path<String>,
    method: Method,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let call = format!("{method} /{path}");
    let (remaining, reset_after) = {
        let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
        state.calls.push(call.clone());
        if let Some(token) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
            && !state.tokens.iter().any(|t| t == token)
        {
            state.tokens.push(token.to_owned());
        }
        state.rate_limit
    };
    let mut response = route(&shared, &call, &method, &path, &headers, request).await;
    let limits = response.headers_mut();
    limits.insert("x-ratelimit-limit", HeaderValue::from_static("5"));
    limits.insert("x-ratelimit-bucket", HeaderValue::from_static("fakebucket"));
    if let Ok(value) = HeaderValue::from_str(&remaining.to_string()) {
        limits.insert("x-ratelimit-remaining", value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("{reset_after:.3}")) {
        limits.insert("x-ratelimit-reset-after", value);
    }
    response
}

async fn route(
    shared: &Mutex<FakeState>,
    call: &str,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    request: Request,
) -> Response {
    let lock = || shared.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(failure) = lock().failures.get_mut(call).and_then(VecDeque::pop_front) {
        return failure.response();
    }
    let segments: Vec<&str> = path.split('/').collect();
    let (json, files) = match body_of(headers, request).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["gateway", "bot"]) => axum::Json(json!({
            "url": "wss://gateway.discord.gg",
            "shards": 1,
            "session_start_limit": { "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1 },
        }))
        .into_response(),
        ("POST", ["channels", channel, "messages"]) => {
            let (response, delay) = {
                let mut state = lock();
                (post_message(&mut state, channel, &json, files), state.post_delay)
            };
            // The message exists from now on; the answer comes later (a bot killed meanwhile never
            // learns it was posted, and must not post it twice when it tries again).
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            response
        }
        ("PATCH", ["channels", channel, "messages", id]) => {
            let mut state = lock();
            let Some(message) = state.messages.get_mut(*id).filter(|m| m["channel_id"] == *channel) else {
                return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            };
            if let Some(content) = json.get("content") {
                message["content"] = content.clone();
            }
            if let Some(components) = json.get("components") {
                message["components"] = components.clone();
            }
            message["edited_timestamp"] = json!(timestamp());
            let answer = message.clone();
            state.edits.push(Edit {
                channel_id: (*channel).to_owned(),
                message_id: (*id).to_owned(),
                content: json.get("content").and_then(Value::as_str).map(str::to_owned),
                buttons: json.get("components").map(|c| buttons_of(c).0),
            });
            axum::Json(answer).into_response()
        }
        ("PUT", ["applications", application, "commands"]) => {
            let mut state = lock();
            let Some(commands) = json.as_array().cloned() else {
                return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
            };
            let answer: Vec<Value> = commands
                .iter()
                .map(|command| {
                    let mut command = command.clone();
                    command["id"] = json!(state.new_id());
                    command["application_id"] = json!(application);
                    command["version"] = json!(state.new_id());
                    if command.get("type").is_none() {
                        command["type"] = json!(1);
                    }
                    command
                })
                .collect();
            state.commands = Some(json.clone());
            axum::Json(answer).into_response()
        }
        ("POST", ["interactions", id, token, "callback"]) => {
            lock().interaction_responses.push(InteractionResponse {
                interaction_id: (*id).to_owned(),
                token: (*token).to_owned(),
                kind: "callback".into(),
                body: json,
            });
            StatusCode::NO_CONTENT.into_response()
        }
        ("PATCH", ["webhooks", _application, token, "messages", "@original"]) => {
            let mut state = lock();
            state.interaction_responses.push(InteractionResponse {
                interaction_id: String::new(),
                token: (*token).to_owned(),
                kind: "@original".into(),
                body: json.clone(),
            });
            let id = state.new_id();
            let mut message = message_json(&id, "0", &json);
            message["webhook_id"] = json!(FakeDiscord::APPLICATION_ID.to_string());
            axum::Json(message).into_response()
        }
        _ => error(StatusCode::NOT_FOUND, 0, "404: Not Found"),
    }
}

fn message_json(id: &str, channel: &str, body: &Value) -> Value {
    json!({
        "id": id,
        "channel_id": channel,
        "author": bot_user(),
        "content": body.get("content").cloned().unwrap_or(json!("")),
        "timestamp": timestamp(),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
        "components": body.get("components").cloned().unwrap_or(json!([])),
        "nonce": body.get("nonce").cloned().unwrap_or(Value::Null),
    })
}

fn post_message(state: &mut FakeState, channel: &str, json: &Value, files: Vec<(String, Vec<u8>)>) -> Response {
    let content = json.get("content").and_then(Value::as_str).unwrap_or_default().to_owned();
    if content.is_empty() && files.is_empty() {
        return error(StatusCode::BAD_REQUEST, 50006, "Cannot send an empty message");
    }
    if content.chars().count() > 2000 {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body (content: Must be 2000 or fewer in length.)");
    }
    let nonce = json.get("nonce").and_then(|n| match n {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    if nonce.as_ref().is_some_and(|n| n.chars().count() > 25) {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body (nonce: Must be 25 or fewer in length.)");
    }
    let enforce_nonce = json.get("enforce_nonce").and_then(Value::as_bool).unwrap_or(false);
    if let (Some(nonce), true) = (&nonce, enforce_nonce) {
        let existing = state.nonces.get(&(channel.to_owned(), nonce.clone())).and_then(|id| state.messages.get(id));
        if let Some(existing) = existing {
            return axum::Json(existing.clone()).into_response();
        }
    }
    let id = state.new_id();
    let mut message = message_json(&id, channel, json);
    message["attachments"] = Value::Array(
        files
            .iter()
            .enumerate()
            .map(|(i, (name, bytes))| {
                json!({
                    "id": format!("{id}{i}"),
                    "filename": name,
                    "size": bytes.len(),
                    "url": format!("https://cdn.example.invalid/{id}/{name}"),
                    "proxy_url": format!("https://media.example.invalid/{id}/{name}"),
                })
            })
            .collect(),
    );
    let (buttons, styles) = buttons_of(&message["components"]);
    state.posts.push(Post {
        id: id.clone(),
        channel_id: channel.to_owned(),
        content,
        buttons,
        styles,
        nonce: nonce.clone(),
        enforce_nonce,
        files,
    });
    if let Some(nonce) = nonce {
        state.nonces.insert((channel.to_owned(), nonce), id.clone());
    }
    state.messages.insert(id, message.clone());
    axum::Json(message).into_response()
}
