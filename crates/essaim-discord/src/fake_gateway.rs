//! A fake Discord gateway (and the few REST routes a gateway bot calls) on loopback, for tests
//! (feature `fake`).
//!
//! One axum server on `127.0.0.1:<ephemeral port>` serves:
//! - the WebSocket gateway at `/gateway`, speaking enough of gateway v10 (JSON text frames, no
//!   compression): HELLO (op 10) on connect, IDENTIFY (op 2) -> READY dispatch, HEARTBEAT (op 1) ->
//!   HEARTBEAT_ACK (op 11), RESUME (op 6) -> INVALID_SESSION (op 9, not resumable: the client
//!   identifies again), and INTERACTION_CREATE dispatches pushed by the test
//!   ([`FakeGateway::push_interaction`]);
//! - `GET /api/v10/gateway` and `GET /api/v10/gateway/bot`, answering the WebSocket URL above (this is
//!   where serenity's `Client` learns the gateway URL: point its `Http` at [`FakeGateway::api_url`]);
//! - `POST /api/v10/interactions/{id}/{token}/callback` (recorded, 204 like Discord) and
//!   `PATCH /api/v10/webhooks/{application_id}/{token}/messages/@original` (recorded, answers a
//!   message object).
//!
//! The state lives in the test process, in the [`FakeGateway`] handle (cheap to clone).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde_json::{Value, json};
use tokio::sync::{Notify, broadcast};

/// The bot's own user id in the fake (also in READY).
pub const BOT_USER_ID: u64 = 800_000_000_000_000_001;
/// The bot's username in the fake.
pub const BOT_USERNAME: &str = "essaim_fake_bot";
/// The application id announced in READY.
pub const APPLICATION_ID: u64 = 800_000_000_000_000_002;

/// One interaction response (`POST /interactions/{id}/{token}/callback`) as the fake received it.
#[derive(Debug, Clone, PartialEq)]
pub struct InteractionResponse {
    pub interaction_id: String,
    pub token: String,
    /// The response `type` (4 message, 5 deferred message, 6 deferred update, 9 modal…).
    pub kind: u64,
    /// The whole JSON body.
    pub body: Value,
}

impl InteractionResponse {
    /// `data.content`, if any.
    pub fn content(&self) -> Option<&str> {
        self.body.pointer("/data/content").and_then(Value::as_str)
    }

    /// `data.flags` (64 = ephemeral), 0 when absent.
    pub fn flags(&self) -> u64 {
        self.body.pointer("/data/flags").and_then(Value::as_u64).unwrap_or(0)
    }

    /// `data.custom_id` (modals).
    pub fn custom_id(&self) -> Option<&str> {
        self.body.pointer("/data/custom_id").and_then(Value::as_str)
    }
}

/// One edit of an original interaction response (`PATCH /webhooks/{app}/{token}/messages/@original`).
#[derive(Debug, Clone, PartialEq)]
pub struct OriginalEdit {
    pub application_id: String,
    pub token: String,
    pub body: Value,
}

#[derive(Default)]
struct Fake {
    /// IDENTIFY payloads (`d`), in order.
    identifies: Vec<Value>,
    /// WebSocket connections accepted, ever.
    connections: usize,
    /// Connections currently open.
    open: usize,
    /// Sessions that received READY and are still open.
    ready_sessions: usize,
    heartbeats: usize,
    /// Close frames received from clients: their codes.
    client_closes: Vec<u16>,
    gateway_requests: usize,
    responses: Vec<InteractionResponse>,
    edits: Vec<OriginalEdit>,
    next_message_id: u64,
}

struct Shared {
    state: Mutex<Fake>,
    changed: Notify,
    /// Dispatches (`t`, `d`) for every identified session.
    dispatch: broadcast::Sender<(String, Value)>,
    heartbeat_interval: Mutex<u64>,
    addr: SocketAddr,
}

/// Handle on a running fake gateway (clone freely).
#[derive(Clone)]
pub struct FakeGateway {
    shared: Arc<Shared>,
}

impl FakeGateway {
    /// Starts the fake on `127.0.0.1:0` in the current Tokio runtime.
    pub async fn start() -> FakeGateway {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake gateway");
        let addr = listener.local_addr().expect("fake gateway address");
        let (dispatch, _) = broadcast::channel(256);
        let shared = Arc::new(Shared {
            state: Mutex::new(Fake { next_message_id: 900_000_000_000_000_000, ..Fake::default() }),
            changed: Notify::new(),
            dispatch,
            heartbeat_interval: Mutex::new(41_250),
            addr,
        });
        let app = Router::new()
            .route("/gateway", get(ws_upgrade))
            .route("/api/v10/gateway", get(gateway))
            .route("/api/v10/gateway/bot", get(gateway_bot))
            .route("/api/v10/interactions/{id}/{token}/callback", post(callback))
            .route("/api/v10/webhooks/{application}/{token}/messages/@original", patch(edit_original))
            .with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeGateway { shared }
    }

    /// The REST base URL to give serenity's `Http` as proxy (`http://127.0.0.1:PORT`).
    pub fn api_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The WebSocket URL announced by `GET /gateway` (`ws://127.0.0.1:PORT/gateway`).
    pub fn ws_url(&self) -> String {
        format!("ws://{}/gateway", self.shared.addr)
    }

    /// The heartbeat interval sent in HELLO to later connections (default 41 250 ms, Discord's).
    pub fn set_heartbeat_interval(&self, interval: Duration) {
        *lock(&self.shared.heartbeat_interval) = interval.as_millis().max(1) as u64;
    }

    /// Dispatches `INTERACTION_CREATE` with this interaction object to every identified session;
    /// returns how many sessions it was sent to (0: nobody connected, the event is lost, as with
    /// Discord).
    pub fn push_interaction(&self, interaction: Value) -> usize {
        self.shared.dispatch.send(("INTERACTION_CREATE".to_owned(), interaction)).unwrap_or(0)
    }

    /// IDENTIFY payloads received (`d`: token, intents, properties, shard…).
    pub fn identifies(&self) -> Vec<Value> {
        self.state().identifies.clone()
    }

    /// Sessions that got READY and are still connected.
    pub fn ready_sessions(&self) -> usize {
        self.state().ready_sessions
    }

    /// WebSocket connections ever accepted.
    pub fn connections(&self) -> usize {
        self.state().connections
    }

    /// WebSocket connections currently open.
    pub fn open_connections(&self) -> usize {
        self.state().open
    }

    /// Heartbeats received (all connections).
    pub fn heartbeats(&self) -> usize {
        self.state().heartbeats
    }

    /// Close codes sent by clients (1000 for a clean shutdown).
    pub fn client_closes(&self) -> Vec<u16> {
        self.state().client_closes.clone()
    }

    /// `GET /gateway` and `GET /gateway/bot` requests served.
    pub fn gateway_requests(&self) -> usize {
        self.state().gateway_requests
    }

    /// Interaction responses received, in order.
    pub fn interaction_responses(&self) -> Vec<InteractionResponse> {
        self.state().responses.clone()
    }

    /// Edits of original interaction responses, in order.
    pub fn original_edits(&self) -> Vec<OriginalEdit> {
        self.state().edits.clone()
    }

    /// Waits until `done(self)` holds (checked on every change and every 50 ms), at most `timeout`.
    pub async fn wait_until(&self, timeout: Duration, done: impl Fn(&FakeGateway) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let changed = self.shared.changed.notified();
            if done(self) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let step = (deadline - now).min(Duration::from_millis(50));
            let _ = tokio::time::timeout(step, changed).await;
        }
    }

    fn state(&self) -> MutexGuard<'_, Fake> {
        lock(&self.shared.state)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn update<R>(&self, f: impl FnOnce(&mut Fake) -> R) -> R {
        let result = f(&mut lock(&self.state));
        self.changed.notify_waiters();
        result
    }
}

async fn gateway(State(shared): State<Arc<Shared>>) -> Response {
    shared.update(|s| s.gateway_requests += 1);
    axum::Json(json!({ "url": format!("ws://{}/gateway", shared.addr) })).into_response()
}

async fn gateway_bot(State(shared): State<Arc<Shared>>) -> Response {
    shared.update(|s| s.gateway_requests += 1);
    axum::Json(json!({
        "url": format!("ws://{}/gateway", shared.addr),
        "shards": 1,
        "session_start_limit": { "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1 },
    }))
    .into_response()
}

async fn callback(
    State(shared): State<Arc<Shared>>,
    Path((id, token)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return api_error(StatusCode::BAD_REQUEST, 50109, "The request body contains invalid JSON.");
    };
    let kind = body.get("type").and_then(Value::as_u64).unwrap_or(0);
    let answered = shared.update(|s| {
        let answered = s.responses.iter().any(|r| r.interaction_id == id);
        if !answered {
            s.responses.push(InteractionResponse { interaction_id: id, token, kind, body });
        }
        answered
    });
    if answered {
        // Discord: « Interaction has already been acknowledged. »
        return api_error(StatusCode::BAD_REQUEST, 40060, "Interaction has already been acknowledged.");
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn edit_original(
    State(shared): State<Arc<Shared>>,
    Path((application, token)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return api_error(StatusCode::BAD_REQUEST, 50109, "The request body contains invalid JSON.");
    };
    let (known, id) = shared.update(|s| {
        let known = s.responses.iter().any(|r| r.token == token);
        s.next_message_id += 1;
        if known {
            s.edits.push(OriginalEdit { application_id: application, token, body: body.clone() });
        }
        (known, s.next_message_id)
    });
    if !known {
        return api_error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
    }
    let content = body.get("content").cloned().unwrap_or(json!(""));
    axum::Json(message_json(id, "0", content)).into_response()
}

fn api_error(status: StatusCode, code: u64, message: &str) -> Response {
    (status, axum::Json(json!({ "code": code, "message": message }))).into_response()
}

/// A minimal but complete message object, as serenity's `Message` deserialises it.
fn message_json(id: u64, channel_id: &str, content: Value) -> Value {
    json!({
        "id": id.to_string(),
        "channel_id": channel_id,
        "author": { "id": BOT_USER_ID.to_string(), "username": BOT_USERNAME, "discriminator": "0",
                    "global_name": null, "avatar": null, "bot": true },
        "content": content,
        "timestamp": "2025-01-01T00:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 0,
        "flags": 64,
        "components": [],
    })
}

async fn ws_upgrade(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(shared, socket))
}

fn frame(value: &Value) -> Message {
    Message::Text(value.to_string().into())
}

/// One gateway connection.
async fn session(shared: Arc<Shared>, mut socket: WebSocket) {
    let connection = shared.update(|s| {
        s.connections += 1;
        s.open += 1;
        s.connections
    });
    let mut dispatches = shared.dispatch.subscribe();
    let interval = *lock(&shared.heartbeat_interval);
    let mut seq: u64 = 0;
    let mut ready = false;
    let hello = json!({ "op": 10, "s": null, "t": null, "d": { "heartbeat_interval": interval } });
    if socket.send(frame(&hello)).await.is_ok() {
        loop {
            tokio::select! {
                incoming = socket.recv() => {
                    let text = match incoming {
                        Some(Ok(Message::Text(text))) => text.to_string(),
                        Some(Ok(Message::Close(close))) => {
                            let code = close.map_or(1005, |c| c.code);
                            shared.update(|s| s.client_closes.push(code));
                            break;
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(_)) | None => break,
                    };
                    let Ok(payload) = serde_json::from_str::<Value>(&text) else {
                        // Discord: 4002 « Decode error ».
                        let _ = socket.send(close_frame(4002, "Decode error")).await;
                        break;
                    };
                    match payload.get("op").and_then(Value::as_u64) {
                        Some(1) => {
                            shared.update(|s| s.heartbeats += 1);
                            if socket.send(frame(&json!({ "op": 11, "s": null, "t": null, "d": null }))).await.is_err() {
                                break;
                            }
                        }
                        Some(2) if !ready => {
                            let d = payload.get("d").cloned().unwrap_or(Value::Null);
                            let has_token = d.get("token").and_then(Value::as_str).is_some_and(|t| !t.is_empty());
                            let shard = d.get("shard").cloned().unwrap_or(json!([0, 1]));
                            shared.update(|s| s.identifies.push(d));
                            if !has_token {
                                // Discord: 4004 « Authentication failed ».
                                let _ = socket.send(close_frame(4004, "Authentication failed")).await;
                                break;
                            }
                            seq += 1;
                            let ready_event = json!({
                                "op": 0, "s": seq, "t": "READY",
                                "d": {
                                    "v": 10,
                                    "user": { "id": BOT_USER_ID.to_string(), "username": BOT_USERNAME,
                                              "discriminator": "0", "global_name": null, "avatar": null,
                                              "bot": true, "verified": true, "mfa_enabled": false, "flags": 0 },
                                    "guilds": [],
                                    "session_id": format!("fake-session-{connection}"),
                                    "resume_gateway_url": format!("ws://{}/gateway", shared.addr),
                                    "shard": shard,
                                    "application": { "id": APPLICATION_ID.to_string(), "flags": 0 },
                                }
                            });
                            if socket.send(frame(&ready_event)).await.is_err() {
                                break;
                            }
                            ready = true;
                            shared.update(|s| s.ready_sessions += 1);
                        }
                        Some(2) => {
                            // Discord: 4005 « Already authenticated ».
                            let _ = socket.send(close_frame(4005, "Already authenticated")).await;
                            break;
                        }
                        Some(6) => {
                            // Sessions are not kept: not resumable, the client identifies again.
                            if socket.send(frame(&json!({ "op": 9, "s": null, "t": null, "d": false }))).await.is_err() {
                                break;
                            }
                        }
                        Some(3 | 4 | 8) => {}
                        _ => {
                            // Discord: 4001 « Unknown opcode ».
                            let _ = socket.send(close_frame(4001, "Unknown opcode")).await;
                            break;
                        }
                    }
                }
                event = dispatches.recv() => {
                    let (t, d) = match event {
                        Ok(event) => event,
                        Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => break,
                    };
                    if !ready {
                        continue;
                    }
                    seq += 1;
                    if socket.send(frame(&json!({ "op": 0, "s": seq, "t": t, "d": d }))).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
    shared.update(|s| {
        s.open -= 1;
        if ready {
            s.ready_sessions -= 1;
        }
    });
}

fn close_frame(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(axum::extract::ws::CloseFrame { code, reason: reason.into() }))
}

/// Interaction objects in Discord's gateway shape, complete enough for serenity to deserialise.
pub mod interactions {
    use serde_json::{Value, json};

    use super::{APPLICATION_ID, BOT_USER_ID, BOT_USERNAME};

    fn user(user_id: u64) -> Value {
        json!({ "id": user_id.to_string(), "username": format!("user{user_id}"), "discriminator": "0",
                "global_name": format!("User {user_id}"), "avatar": null })
    }

    fn base(kind: u8, id: u64, user_id: u64, channel_id: u64, locale: &str) -> Value {
        json!({
            "id": id.to_string(),
            "application_id": APPLICATION_ID.to_string(),
            "type": kind,
            "channel_id": channel_id.to_string(),
            "channel": { "id": channel_id.to_string(), "type": 1 },
            "user": user(user_id),
            "token": format!("itoken-{id}"),
            "version": 1,
            "app_permissions": "0",
            "locale": locale,
            "entitlements": [],
            "attachment_size_limit": 10_485_760,
        })
    }

    /// A slash command (type 2) in a DM; `options` are `(name, value)` with value a JSON string
    /// (type 3) or number (type 10).
    pub fn command(
        id: u64,
        user_id: u64,
        channel_id: u64,
        locale: &str,
        name: &str,
        options: &[(&str, Value)],
    ) -> Value {
        let mut value = base(2, id, user_id, channel_id, locale);
        let options: Vec<Value> = options
            .iter()
            .map(|(name, v)| json!({ "name": name, "type": if v.is_number() { 10 } else { 3 }, "value": v }))
            .collect();
        value["data"] = json!({ "id": (id + 1).to_string(), "name": name, "type": 1, "options": options });
        value
    }

    /// A button press (type 3, component 2) on a bot message.
    pub fn button(id: u64, user_id: u64, channel_id: u64, locale: &str, custom_id: &str, message_id: u64) -> Value {
        let mut value = base(3, id, user_id, channel_id, locale);
        value["data"] = json!({ "custom_id": custom_id, "component_type": 2 });
        value["message"] = json!({
            "id": message_id.to_string(),
            "channel_id": channel_id.to_string(),
            "author": { "id": BOT_USER_ID.to_string(), "username": BOT_USERNAME, "discriminator": "0",
                        "global_name": null, "avatar": null, "bot": true },
            "content": "offer",
            "timestamp": "2025-01-01T00:00:00.000000+00:00",
            "edited_timestamp": null,
            "tts": false,
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": false,
            "type": 0,
            "components": [{ "type": 1, "components": [
                { "type": 2, "style": 1, "label": "button", "custom_id": custom_id }
            ]}],
        });
        value
    }

    /// A modal submit (type 5) with one text input.
    pub fn modal_submit(
        id: u64,
        user_id: u64,
        channel_id: u64,
        locale: &str,
        custom_id: &str,
        value_typed: &str,
    ) -> Value {
        let mut value = base(5, id, user_id, channel_id, locale);
        value["data"] = json!({ "custom_id": custom_id, "components": [{ "type": 1, "components": [
            { "type": 4, "custom_id": "quantity", "value": value_typed }
        ]}]});
        value
    }
}
