//! A fake Telegram Bot API server on loopback, for tests (feature `fake`).
//!
//! It serves `/bot{token}/{method}` on `127.0.0.1:<ephemeral port>` in the real Bot API shape, so
//! that the real teloxide client (in this process or in a bot process pointed at
//! [`FakeTelegram::api_url`]) runs against it unchanged. Methods: `getMe`, `deleteWebhook`,
//! `getWebhookInfo`, `getUpdates` (offset confirmation, long polling), `sendMessage`,
//! `sendDocument`, `editMessageText`, `editMessageReplyMarkup`, `answerCallbackQuery`. Request
//! bodies may be JSON, form-encoded or multipart, as with the real API.
//!
//! The state lives in the test process, in the [`FakeTelegram`] handle (cheap to clone, usable from
//! any task or thread): a bot process killed and restarted finds the unconfirmed updates and the
//! chat history where it left them.
//!
//! Like Telegram, the fake refuses what Telegram refuses: empty or over-long texts, captions over
//! 1024 characters, callback data over 64 bytes, edits of unknown messages, and edits that change
//! nothing (« message is not modified »).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use crate::sender::{CAPTION_LIMIT, TEXT_LIMIT, utf16_len};

/// The bot's own user id in the fake.
pub const BOT_USER_ID: i64 = 7_000_000_001;
/// The bot's username in the fake.
pub const BOT_USERNAME: &str = "essaim_fake_bot";

/// One message the bot sent or edited, as the fake received it.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    /// `sendMessage`, `sendDocument`, `editMessageText` or `editMessageReplyMarkup`.
    pub method: String,
    pub chat_id: i64,
    /// The message sent, or the one edited.
    pub message_id: i64,
    /// The text, or the document's caption (the current text for `editMessageReplyMarkup`).
    pub text: String,
    /// Inline keyboard rows: `(label, callback_data)`.
    pub buttons: Vec<Vec<(String, String)>>,
    pub at: Instant,
    pub document_name: Option<String>,
    pub document_content: Option<Vec<u8>>,
}

/// An error the fake answers instead of doing what was asked (see [`FakeTelegram::fail_next`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeError {
    /// 429 « Too Many Requests » with `parameters.retry_after` in seconds.
    RetryAfter(u32),
    /// 500 « Internal Server Error ».
    ServerError,
    /// 403 « Forbidden: bot was blocked by the user ».
    BotBlocked,
    /// 400 « Bad Request: chat not found ».
    ChatNotFound,
    /// Any other Bot API error.
    Api { code: u16, description: String },
}

impl FakeError {
    fn response(&self) -> Response {
        match self {
            FakeError::RetryAfter(seconds) => error_with(
                429,
                &format!("Too Many Requests: retry after {seconds}"),
                Some(json!({ "retry_after": seconds })),
            ),
            FakeError::ServerError => error(500, "Internal Server Error"),
            FakeError::BotBlocked => error(403, "Forbidden: bot was blocked by the user"),
            FakeError::ChatNotFound => error(400, "Bad Request: chat not found"),
            FakeError::Api { code, description } => error(*code, description),
        }
    }
}

/// Handle on a running fake server and its state.
#[derive(Clone)]
pub struct FakeTelegram {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl std::fmt::Debug for FakeTelegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeTelegram").field("addr", &self.addr).finish_non_exhaustive()
    }
}

struct Shared {
    state: Mutex<FakeState>,
    /// Woken when an update is pushed (long polls wait on it).
    pushed: Notify,
}

struct Queued {
    id: i64,
    json: Value,
    /// Pushed again with an id already confirmed: delivered once more, whatever the offset.
    redelivery: bool,
    delivered: bool,
}

struct Stored {
    text: String,
    buttons: Vec<Vec<(String, String)>>,
    document: Option<(String, usize)>,
    date: i64,
    /// `None`: the bot sent it.
    from_user: Option<i64>,
}

struct FakeState {
    tokens: Vec<String>,
    calls: Vec<String>,
    next_update_id: i64,
    updates: Vec<Queued>,
    confirmed: i64,
    allowed_updates: Option<Vec<String>>,
    next_message_id: HashMap<i64, i64>,
    messages: HashMap<(i64, i64), Stored>,
    sent: Vec<SentMessage>,
    callback_answers: Vec<(String, Option<String>)>,
    /// Command menus set by `setMyCommands`, per language code ("" for the default).
    menus: BTreeMap<String, Vec<(String, String)>>,
    next_callback: u64,
    failures: HashMap<String, VecDeque<FakeError>>,
    chat_failures: HashMap<i64, FakeError>,
    languages: HashMap<i64, Option<String>>,
    enforce_limits: bool,
    violations: usize,
    last_send: HashMap<i64, Instant>,
    recent_sends: VecDeque<Instant>,
}

impl FakeState {
    fn new() -> Self {
        Self {
            tokens: Vec::new(),
            calls: Vec::new(),
            next_update_id: 10_001,
            updates: Vec::new(),
            confirmed: 0,
            allowed_updates: None,
            next_message_id: HashMap::new(),
            messages: HashMap::new(),
            sent: Vec::new(),
            callback_answers: Vec::new(),
            menus: BTreeMap::new(),
            next_callback: 1,
            failures: HashMap::new(),
            chat_failures: HashMap::new(),
            languages: HashMap::new(),
            enforce_limits: false,
            violations: 0,
            last_send: HashMap::new(),
            recent_sends: VecDeque::new(),
        }
    }

    fn new_message_id(&mut self, chat: i64) -> i64 {
        let next = self.next_message_id.entry(chat).or_insert(1);
        let id = *next;
        *next += 1;
        id
    }

    fn user_json(&self, user: i64) -> Value {
        let language = self.languages.get(&user).cloned().unwrap_or(Some("fr".to_owned()));
        let mut json = json!({ "id": user, "is_bot": false, "first_name": format!("User{user}") });
        if let Some(language) = language {
            json["language_code"] = Value::String(language);
        }
        json
    }

    fn push(&mut self, mut json: Value) -> i64 {
        let given = json.get("update_id").and_then(Value::as_i64);
        let id = given.unwrap_or(self.next_update_id);
        if !json.is_object() {
            json = json!({ "unknown": json });
        }
        json["update_id"] = json!(id);
        self.next_update_id = self.next_update_id.max(id + 1);
        let redelivery = id <= self.confirmed;
        self.updates.push(Queued { id, json, redelivery, delivered: false });
        id
    }

    fn stored_json(&self, chat: i64, id: i64) -> Value {
        let mut json = json!({ "message_id": id, "date": now_unix(), "chat": chat_json(chat) });
        match self.messages.get(&(chat, id)) {
            None => {
                json["from"] = bot_user();
                json["text"] = json!("");
            }
            Some(stored) => {
                json["date"] = json!(stored.date);
                json["from"] = match stored.from_user {
                    None => bot_user(),
                    Some(user) => self.user_json(user),
                };
                match &stored.document {
                    Some((name, size)) => {
                        json["document"] = json!({
                            "file_id": format!("doc-{chat}-{id}"),
                            "file_unique_id": format!("udoc-{chat}-{id}"),
                            "file_name": name,
                            "file_size": size,
                        });
                        if !stored.text.is_empty() {
                            json["caption"] = json!(stored.text);
                        }
                    }
                    None => json["text"] = json!(stored.text),
                }
                if !stored.buttons.is_empty() {
                    json["reply_markup"] = keyboard_json(&stored.buttons);
                }
            }
        }
        json
    }

    /// Applies `offset` as Telegram does: updates below it are confirmed and forgotten.
    fn confirm(&mut self, offset: i64) {
        if offset > 0 {
            self.confirmed = self.confirmed.max(offset - 1);
            self.updates.retain(|q| q.id >= offset || (q.redelivery && !q.delivered));
        } else if offset < 0 {
            // -N: only the last N updates remain.
            let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
            self.updates.sort_by_key(|q| q.id);
            let drop = self.updates.len().saturating_sub(keep);
            for q in self.updates.drain(..drop) {
                self.confirmed = self.confirmed.max(q.id);
            }
        }
    }

    fn take_updates(&mut self, limit: usize) -> Vec<Value> {
        if let Some(allowed) = &self.allowed_updates {
            // Telegram never keeps updates of kinds the bot did not ask for.
            self.updates.retain(|q| {
                let kind = q.json.as_object().and_then(|o| o.keys().find(|k| *k != "update_id"));
                kind.is_none_or(|k| allowed.iter().any(|a| a == k))
            });
        }
        self.updates.sort_by_key(|q| q.id);
        self.updates
            .iter_mut()
            .filter(|q| !(q.redelivery && q.delivered))
            .take(limit)
            .map(|q| {
                q.delivered = true;
                q.json.clone()
            })
            .collect()
    }

    /// Rate limits, when enforced: `Some(response)` refuses this send.
    fn check_limits(&mut self, chat: i64) -> Result<(), FakeError> {
        let now = Instant::now();
        let second = Duration::from_secs(1);
        while self.recent_sends.front().is_some_and(|t| now.duration_since(*t) >= second) {
            self.recent_sends.pop_front();
        }
        if self.enforce_limits {
            let chat_too_soon = self.last_send.get(&chat).is_some_and(|t| now.duration_since(*t) < second);
            if chat_too_soon || self.recent_sends.len() >= 30 {
                self.violations += 1;
                return Err(FakeError::RetryAfter(1));
            }
        }
        self.last_send.insert(chat, now);
        self.recent_sends.push_back(now);
        Ok(())
    }
}

impl FakeTelegram {
    /// A token tests may give the bot (any token is accepted; see [`FakeTelegram::tokens_used`]).
    pub const TOKEN: &'static str = "7000000001:FAKE-essaim-test-token";

    /// Starts the fake on `127.0.0.1:0` in the current tokio runtime.
    pub async fn start() -> FakeTelegram {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the fake Telegram server could not bind a loopback port");
        let addr = listener.local_addr().expect("the fake Telegram server has no local address");
        let shared = Arc::new(Shared { state: Mutex::new(FakeState::new()), pushed: Notify::new() });
        let app = Router::new().route("/{bot_token}/{method}", any(api)).with_state(Arc::clone(&shared));
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("fake Telegram server stopped: {err}");
            }
        });
        FakeTelegram { shared, addr }
    }

    /// Starts the fake on a thread of its own (with its own runtime), for tests that block their
    /// thread or have no runtime. It serves until the process ends.
    pub fn spawn() -> FakeTelegram {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the fake Telegram server");
            runtime.block_on(async move {
                let fake = FakeTelegram::start().await;
                let _ = tx.send(fake);
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("the fake Telegram server thread died while starting")
    }

    /// Base URL for [`crate::TelegramConfig::api_url`], e.g. `http://127.0.0.1:PORT/`.
    pub fn api_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The tokens bots used, in order of first use.
    pub fn tokens_used(&self) -> Vec<String> {
        self.lock().tokens.clone()
    }

    /// Every Bot API method called, in order (`getUpdates`, `sendMessage`…).
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// The update kinds the bot last asked for in `getUpdates` (`message`, `callback_query`…).
    pub fn allowed_updates(&self) -> Option<Vec<String>> {
        self.lock().allowed_updates.clone()
    }

    /// The language `user` reports in later updates (`fr` unless set; `None` for no language).
    pub fn set_language(&self, user: i64, language: Option<&str>) {
        self.lock().languages.insert(user, language.map(str::to_owned));
    }

    /// A text message from `user` in `chat` that starts with a command (`/start ABC`).
    pub fn push_command(&self, user: i64, chat: i64, text: &str) -> i64 {
        let command_len = text.split_whitespace().next().map_or(0, |w| w.encode_utf16().count());
        self.push_message(user, chat, text, command_len)
    }

    /// A plain text message from `user` in `chat`.
    pub fn push_text(&self, user: i64, chat: i64, text: &str) -> i64 {
        self.push_message(user, chat, text, 0)
    }

    fn push_message(&self, user: i64, chat: i64, text: &str, command_len: usize) -> i64 {
        let id = {
            let mut state = self.lock();
            let message_id = state.new_message_id(chat);
            let date = now_unix();
            state.messages.insert(
                (chat, message_id),
                Stored { text: text.to_owned(), buttons: Vec::new(), document: None, date, from_user: Some(user) },
            );
            let mut message = json!({
                "message_id": message_id,
                "date": date,
                "chat": chat_json(chat),
                "from": state.user_json(user),
                "text": text,
            });
            if command_len > 0 && text.starts_with('/') {
                message["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": command_len }]);
            }
            state.push(json!({ "message": message }))
        };
        self.shared.pushed.notify_waiters();
        id
    }

    /// `user` shares a location in `chat`.
    pub fn push_location(&self, user: i64, chat: i64, latitude: f64, longitude: f64) -> i64 {
        let id = {
            let mut state = self.lock();
            let message_id = state.new_message_id(chat);
            let message = json!({
                "message_id": message_id,
                "date": now_unix(),
                "chat": chat_json(chat),
                "from": state.user_json(user),
                "location": { "latitude": latitude, "longitude": longitude },
            });
            state.push(json!({ "message": message }))
        };
        self.shared.pushed.notify_waiters();
        id
    }

    /// `user` presses the button carrying `data` under message `message_id` of `chat`.
    pub fn push_button(&self, user: i64, chat: i64, data: &str, message_id: i64) -> i64 {
        let id = {
            let mut state = self.lock();
            let callback_id = format!("cbq-{}", state.next_callback);
            state.next_callback += 1;
            let query = json!({
                "id": callback_id,
                "from": state.user_json(user),
                "message": state.stored_json(chat, message_id),
                "chat_instance": format!("ci{chat}"),
                "data": data,
            });
            state.push(json!({ "callback_query": query }))
        };
        self.shared.pushed.notify_waiters();
        id
    }

    /// Any update JSON. Its `update_id` is kept when present (re-push an id to deliver an update
    /// twice: even once confirmed, it is delivered once more), else the next id is given; a value
    /// that is not an object is wrapped as an update of an unknown kind. Returns the update id.
    pub fn push_raw_update(&self, json: Value) -> i64 {
        let id = self.lock().push(json);
        self.shared.pushed.notify_waiters();
        id
    }

    /// Every message sent or edited (`sendMessage`, `sendDocument`, `editMessageText`,
    /// `editMessageReplyMarkup`) in arrival order; refused calls are not in it.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.lock().sent.clone()
    }

    /// [`FakeTelegram::sent`] to one chat.
    pub fn messages_to(&self, chat: i64) -> Vec<SentMessage> {
        self.lock().sent.iter().filter(|m| m.chat_id == chat).cloned().collect()
    }

    /// Callback queries answered: `(callback query id, notice text)`.
    pub fn callback_answers(&self) -> Vec<(String, Option<String>)> {
        self.lock().callback_answers.clone()
    }

    /// The command menus the bot set (`setMyCommands`): per language code ("" for the default),
    /// `(command, description)` in order.
    pub fn menus(&self) -> BTreeMap<String, Vec<(String, String)>> {
        self.lock().menus.clone()
    }

    /// The highest update id the bot confirmed (through a later `getUpdates` offset); 0 for none.
    pub fn confirmed_up_to(&self) -> i64 {
        self.lock().confirmed
    }

    /// Updates pushed and not confirmed yet.
    pub fn pending_updates(&self) -> usize {
        self.lock().updates.len()
    }

    /// The next call of `method` (case-insensitive Bot API name) is answered with `error`. Several
    /// calls queue up, one per call.
    pub fn fail_next(&self, method: &str, error: FakeError) {
        self.lock().failures.entry(method.to_ascii_lowercase()).or_default().push_back(error);
    }

    /// Every send or edit to `chat` is answered with `error` (e.g. the user blocked the bot) until
    /// cleared with `None`.
    pub fn fail_chat(&self, chat: i64, error: Option<FakeError>) {
        let mut state = self.lock();
        match error {
            Some(error) => state.chat_failures.insert(chat, error),
            None => state.chat_failures.remove(&chat),
        };
    }

    /// When on, a `sendMessage` / `sendDocument` that comes less than 1 s after the previous one to
    /// the same chat, or after 30 in the last second overall, is answered 429 (`retry_after` 1) and
    /// counted in [`FakeTelegram::limit_violations`].
    pub fn enforce_limits(&self, on: bool) {
        self.lock().enforce_limits = on;
    }

    pub fn limit_violations(&self) -> usize {
        self.lock().violations
    }

    /// Waits until `chat` has received at least `n` messages (sends and edits) or `timeout` passed;
    /// returns what it received.
    pub async fn wait_for_messages(&self, chat: i64, n: usize, timeout: Duration) -> Vec<SentMessage> {
        self.wait_until(timeout, |fake| fake.messages_to(chat).len() >= n).await;
        self.messages_to(chat)
    }

    /// Waits until `done(self)` holds (checked every 10 ms) or `timeout` passed; whether it held.
    pub async fn wait_until(&self, timeout: Duration, done: impl Fn(&FakeTelegram) -> bool) -> bool {
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
        self.shared.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, FakeState> {
    shared.state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn chat_json(chat: i64) -> Value {
    if chat > 0 {
        json!({ "id": chat, "type": "private", "first_name": format!("User{chat}") })
    } else {
        json!({ "id": chat, "type": "supergroup", "title": format!("Group {chat}") })
    }
}

fn bot_user() -> Value {
    json!({ "id": BOT_USER_ID, "is_bot": true, "first_name": "Essaim (fake)", "username": BOT_USERNAME })
}

fn keyboard_json(rows: &[Vec<(String, String)>]) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .map(|row| {
            Value::Array(row.iter().map(|(text, data)| json!({ "text": text, "callback_data": data })).collect())
        })
        .collect();
    json!({ "inline_keyboard": rows })
}

fn ok(result: Value) -> Response {
    (StatusCode::OK, axum::Json(json!({ "ok": true, "result": result }))).into_response()
}

fn error(code: u16, description: &str) -> Response {
    error_with(code, description, None)
}

fn error_with(code: u16, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({ "ok": false, "error_code": code, "description": description });
    if let Some(parameters) = parameters {
        body["parameters"] = parameters;
    }
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(body)).into_response()
}

fn bad_request(what: &str) -> FakeError {
    FakeError::Api { code: 400, description: format!("Bad Request: {what}") }
}

/// The Bot API answer for `result`.
fn respond(result: Result<Value, FakeError>) -> Response {
    match result {
        Ok(value) => ok(value),
        Err(error) => error.response(),
    }
}

/// The parameters of one call, whatever the body encoding, and the uploaded file if any.
struct Params {
    fields: Map<String, Value>,
    file: Option<(String, Vec<u8>)>,
}

impl Params {
    fn int(&self, key: &str) -> Option<i64> {
        match self.fields.get(key)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn string(&self, key: &str) -> Option<String> {
        match self.fields.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// An object or array field, given as JSON or as a JSON string (form and multipart bodies).
    fn json(&self, key: &str) -> Option<Value> {
        match self.fields.get(key)? {
            Value::String(s) => serde_json::from_str(s).ok(),
            other => Some(other.clone()),
        }
    }

    /// `reply_markup.inline_keyboard` as `(label, data)` rows; `Err` when Telegram would refuse it.
    fn keyboard(&self) -> Result<Vec<Vec<(String, String)>>, FakeError> {
        let Some(markup) = self.json("reply_markup") else {
            return Ok(Vec::new());
        };
        let Some(rows) = markup.get("inline_keyboard").and_then(Value::as_array) else {
            return Err(bad_request("can't parse reply keyboard markup JSON object"));
        };
        let mut keyboard = Vec::new();
        for row in rows {
            let Some(row) = row.as_array() else {
                return Err(bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object"));
            };
            let mut buttons = Vec::new();
            for button in row {
                let text = button.get("text").and_then(Value::as_str).unwrap_or_default();
                let data = button.get("callback_data").and_then(Value::as_str).unwrap_or_default();
                if text.is_empty() {
                    return Err(bad_request("can't parse inline keyboard button: Text must be non-empty"));
                }
                if data.is_empty() || data.len() > 64 {
                    return Err(bad_request("BUTTON_DATA_INVALID"));
                }
                buttons.push((text.to_owned(), data.to_owned()));
            }
            if !buttons.is_empty() {
                keyboard.push(buttons);
            }
        }
        Ok(keyboard)
    }
}

async fn read_params(headers: &HeaderMap, request: Request) -> Result<Params, FakeError> {
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    let mut fields = Map::new();
    let mut file = None;
    if let Some(query) = request.uri().query() {
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            fields.insert(key.into_owned(), Value::String(value.into_owned()));
        }
    }
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| bad_request(&format!("bad multipart body: {e}")))?;
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(e) => return Err(bad_request(&format!("bad multipart body: {e}"))),
            };
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let bytes = field.bytes().await.map_err(|e| bad_request(&format!("bad multipart body: {e}")))?;
            match file_name {
                Some(file_name) => file = Some((file_name, bytes.to_vec())),
                None => {
                    fields.insert(name, Value::String(String::from_utf8_lossy(&bytes).into_owned()));
                }
            }
        }
    } else {
        let body = axum::body::to_bytes(request.into_body(), 8 * 1024 * 1024)
            .await
            .map_err(|e| bad_request(&format!("unreadable body: {e}")))?;
        if content_type.starts_with("application/x-www-form-urlencoded") {
            for (key, value) in url::form_urlencoded::parse(&body) {
                fields.insert(key.into_owned(), Value::String(value.into_owned()));
            }
        } else if !body.iter().all(u8::is_ascii_whitespace) {
            match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(map)) => fields.extend(map),
                _ => return Err(bad_request("can't parse JSON object")),
            }
        }
    }
    Ok(Params { fields, file })
}

async fn api(
    State(shared): State<Arc<Shared>>,
    Path((bot_token, method)): Path<(String, String)>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let Some(token) = bot_token.strip_prefix("bot") else {
        return error(404, "Not Found");
    };
    let params = match read_params(&headers, request).await {
        Ok(params) => params,
        Err(refused) => return refused.response(),
    };
    let method = canonical(&method);
    {
        let mut state = lock(&shared);
        if !state.tokens.iter().any(|t| t == token) {
            state.tokens.push(token.to_owned());
        }
        state.calls.push(method.to_owned());
        let injected = state.failures.get_mut(&method.to_ascii_lowercase()).and_then(VecDeque::pop_front);
        if let Some(injected) = injected {
            return injected.response();
        }
    }
    match method {
        "getMe" => ok(me()),
        "deleteWebhook" | "setWebhook" | "close" | "logOut" => ok(json!(true)),
        "getWebhookInfo" => {
            let pending = lock(&shared).updates.len();
            ok(json!({ "url": "", "has_custom_certificate": false, "pending_update_count": pending }))
        }
        "getUpdates" => get_updates(&shared, &params).await,
        "sendMessage" => respond(send_message(&mut lock(&shared), &params)),
        "sendDocument" => respond(send_document(&mut lock(&shared), &params)),
        "editMessageText" => respond(edit(&mut lock(&shared), &params, true)),
        "editMessageReplyMarkup" => respond(edit(&mut lock(&shared), &params, false)),
        "setMyCommands" => {
            let Some(commands) = params.json("commands").and_then(|c| c.as_array().cloned()) else {
                return bad_request("commands must be an array").response();
            };
            let mut menu = Vec::with_capacity(commands.len());
            for c in &commands {
                let (Some(name), Some(description)) = (c["command"].as_str(), c["description"].as_str()) else {
                    return bad_request("a command needs command and description").response();
                };
                // The Bot API's rules: 1–32 characters a-z, 0-9, _; a description of 1–256.
                let valid_name = (1..=32).contains(&name.len())
                    && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !valid_name || !(1..=256).contains(&description.chars().count()) {
                    return bad_request("BOT_COMMAND_INVALID").response();
                }
                menu.push((name.to_owned(), description.to_owned()));
            }
            lock(&shared).menus.insert(params.string("language_code").unwrap_or_default(), menu);
            ok(json!(true))
        }
        "answerCallbackQuery" => {
            let Some(id) = params.string("callback_query_id") else {
                return bad_request("query is too old and response timeout expired or query id is invalid").response();
            };
            let text = params.string("text").filter(|t| !t.is_empty());
            lock(&shared).callback_answers.push((id, text));
            ok(json!(true))
        }
        _ => error(404, "Not Found"),
    }
}

/// Bot API method names are case-insensitive.
fn canonical(method: &str) -> &str {
    const METHODS: [&str; 13] = [
        "getMe",
        "deleteWebhook",
        "setWebhook",
        "getWebhookInfo",
        "close",
        "logOut",
        "getUpdates",
        "sendMessage",
        "sendDocument",
        "editMessageText",
        "editMessageReplyMarkup",
        "answerCallbackQuery",
        "setMyCommands",
    ];
    METHODS.iter().find(|m| m.eq_ignore_ascii_case(method)).copied().unwrap_or(method)
}

fn me() -> Value {
    let mut me = bot_user();
    me["can_join_groups"] = json!(true);
    me["can_read_all_group_messages"] = json!(false);
    me["supports_inline_queries"] = json!(false);
    me["can_connect_to_business"] = json!(false);
    me["has_main_web_app"] = json!(false);
    me
}

async fn get_updates(shared: &Shared, params: &Params) -> Response {
    let offset = params.int("offset").unwrap_or(0);
    let limit = params.int("limit").unwrap_or(100).clamp(1, 100);
    let limit = usize::try_from(limit).unwrap_or(100);
    let timeout = Duration::from_secs(params.int("timeout").unwrap_or(0).clamp(0, 3600).unsigned_abs());
    {
        let mut state = lock(shared);
        if let Some(allowed) = params.json("allowed_updates").and_then(|v| v.as_array().cloned()) {
            // An empty list means every kind, as with Telegram.
            let allowed: Vec<String> = allowed.iter().filter_map(Value::as_str).map(str::to_owned).collect();
            state.allowed_updates = (!allowed.is_empty()).then_some(allowed);
        }
        state.confirm(offset);
    }
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let pushed = shared.pushed.notified();
        let mut pushed = std::pin::pin!(pushed);
        pushed.as_mut().enable();
        let updates = lock(shared).take_updates(limit);
        if !updates.is_empty() || tokio::time::Instant::now() >= deadline {
            return ok(Value::Array(updates));
        }
        let _ = tokio::time::timeout_at(deadline, pushed).await;
    }
}

fn chat_of(state: &FakeState, params: &Params) -> Result<i64, FakeError> {
    let chat = params.int("chat_id").ok_or_else(|| bad_request("chat not found"))?;
    match state.chat_failures.get(&chat) {
        Some(failure) => Err(failure.clone()),
        None => Ok(chat),
    }
}

fn send_message(state: &mut FakeState, params: &Params) -> Result<Value, FakeError> {
    let chat = chat_of(state, params)?;
    let text = params.string("text").unwrap_or_default();
    if text.trim().is_empty() {
        return Err(bad_request("message text is empty"));
    }
    if utf16_len(&text) > TEXT_LIMIT {
        return Err(bad_request("message is too long"));
    }
    let buttons = params.keyboard()?;
    state.check_limits(chat)?;
    deliver(state, "sendMessage", chat, text, buttons, None)
}

fn send_document(state: &mut FakeState, params: &Params) -> Result<Value, FakeError> {
    let chat = chat_of(state, params)?;
    let caption = params.string("caption").unwrap_or_default();
    if utf16_len(&caption) > CAPTION_LIMIT {
        return Err(bad_request("message caption is too long"));
    }
    let document = match (&params.file, params.string("document")) {
        (Some(file), _) => file.clone(),
        (None, Some(reference)) if !reference.starts_with("attach://") => (reference, Vec::new()),
        _ => return Err(bad_request("there is no document in the request")),
    };
    let buttons = params.keyboard()?;
    state.check_limits(chat)?;
    deliver(state, "sendDocument", chat, caption, buttons, Some(document))
}

fn deliver(
    state: &mut FakeState,
    method: &str,
    chat: i64,
    text: String,
    buttons: Vec<Vec<(String, String)>>,
    document: Option<(String, Vec<u8>)>,
) -> Result<Value, FakeError> {
    let message_id = state.new_message_id(chat);
    state.messages.insert(
        (chat, message_id),
        Stored {
            text: text.clone(),
            buttons: buttons.clone(),
            document: document.as_ref().map(|(name, content)| (name.clone(), content.len())),
            date: now_unix(),
            from_user: None,
        },
    );
    let (document_name, document_content) = document.map_or((None, None), |(n, c)| (Some(n), Some(c)));
    state.sent.push(SentMessage {
        method: method.to_owned(),
        chat_id: chat,
        message_id,
        text,
        buttons,
        at: Instant::now(),
        document_name,
        document_content,
    });
    Ok(state.stored_json(chat, message_id))
}

const NOT_MODIFIED: &str = "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message";

fn edit(state: &mut FakeState, params: &Params, text_too: bool) -> Result<Value, FakeError> {
    let chat = chat_of(state, params)?;
    let Some(message_id) = params.int("message_id") else {
        return Err(bad_request("message identifier is not specified"));
    };
    let buttons = params.keyboard()?;
    let new_text = if text_too {
        let text = params.string("text").unwrap_or_default();
        if text.trim().is_empty() {
            return Err(bad_request("message text is empty"));
        }
        if utf16_len(&text) > TEXT_LIMIT {
            return Err(bad_request("MESSAGE_TOO_LONG"));
        }
        Some(text)
    } else {
        None
    };
    let Some(stored) = state.messages.get_mut(&(chat, message_id)) else {
        return Err(bad_request("message to edit not found"));
    };
    if stored.from_user.is_some() {
        return Err(bad_request("message can't be edited"));
    }
    if new_text.is_some() && stored.document.is_some() {
        return Err(bad_request("there is no text in the message to edit"));
    }
    let text = new_text.unwrap_or_else(|| stored.text.clone());
    if text == stored.text && buttons == stored.buttons {
        return Err(bad_request(NOT_MODIFIED));
    }
    stored.text = text.clone();
    stored.buttons = buttons.clone();
    state.sent.push(SentMessage {
        method: if text_too { "editMessageText" } else { "editMessageReplyMarkup" }.to_owned(),
        chat_id: chat,
        message_id,
        text,
        buttons,
        at: Instant::now(),
        document_name: None,
        document_content: None,
    });
    Ok(state.stored_json(chat, message_id))
}
