//! The signed interactions endpoint, with requests signed by a real Ed25519 key.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{button, command, fake_and_http, modal, ping};
use ed25519_dalek::{Signer, SigningKey};
use essaim_chat::{ChatKind, Handled, Incoming, IncomingKind};
use essaim_discord::fake::FakeDiscord;
use essaim_discord::{INTERACTIONS_PATH, InteractionsConfig, interactions_router};
use serde_json::{Value, json};

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

struct Endpoint {
    url: String,
    fake: FakeDiscord,
    seen: Arc<Mutex<Vec<Incoming>>>,
    client: reqwest::Client,
}

/// The endpoint served on loopback; the handler records what it gets, sleeps `delay`, and answers
/// `notice` (or fails when `notice` is `Err`).
async fn endpoint(delay: Duration, notice: Result<Option<&'static str>, &'static str>) -> Endpoint {
    let handled = notice.map(|n| Handled { notice: n.map(str::to_owned), ..Handled::default() });
    endpoint_answering(delay, handled).await
}

/// The endpoint, its handler answering `handled`.
async fn endpoint_answering(delay: Duration, handled: Result<Handled, &'static str>) -> Endpoint {
    let (fake, http) = fake_and_http().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let handler = move |incoming: Incoming| {
        let record = Arc::clone(&record);
        let handled = handled.clone();
        async move {
            record.lock().map(|mut s| s.push(incoming)).ok();
            tokio::time::sleep(delay).await;
            handled.map_err(str::to_owned)
        }
    };
    let config = InteractionsConfig::new(hex(key().verifying_key().as_bytes()), FakeDiscord::APPLICATION_ID);
    let app = interactions_router(config, http, handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    Endpoint { url: format!("http://{addr}{INTERACTIONS_PATH}"), fake, seen, client: reqwest::Client::new() }
}

impl Endpoint {
    async fn post(&self, body: &str, headers: &[(&str, String)]) -> (u16, Value) {
        let mut request = self.client.post(&self.url).body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("the endpoint answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// POSTs `body` signed now by the application's key.
    async fn signed(&self, body: &Value) -> (u16, Value) {
        let body = body.to_string();
        let timestamp = now().to_string();
        let signature = key().sign(format!("{timestamp}{body}").as_bytes());
        self.post(&body, &[("X-Signature-Ed25519", hex(&signature.to_bytes())), ("X-Signature-Timestamp", timestamp)])
            .await
    }

    fn seen(&self) -> Vec<Incoming> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[tokio::test]
async fn ping_is_answered_pong() {
    let endpoint = endpoint(Duration::ZERO, Ok(None)).await;
    assert_eq!(endpoint.signed(&ping()).await, (200, json!({ "type": 1 })));
    assert!(endpoint.seen().is_empty());
}

#[tokio::test]
async fn command_is_handled_and_answered_ephemerally() {
    let endpoint = endpoint(Duration::ZERO, Ok(None)).await;
    let options = json!([{ "name": "code", "type": 3, "value": "ABC-123" }]);
    let (status, answer) = endpoint.signed(&command(11, "demarrer", options, "fr")).await;
    assert_eq!(status, 200);
    assert_eq!(answer, json!({ "type": 4, "data": { "content": "✅", "flags": 64 } }));
    let seen = endpoint.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].kind, IncomingKind::Command { name: "demarrer".into(), args: vec!["ABC-123".into()] });
}

#[tokio::test]
async fn button_notice_is_ephemeral_and_silence_is_an_acknowledgement() {
    let with_notice = endpoint(Duration::ZERO, Ok(Some("Cette proposition a expiré."))).await;
    let (status, answer) = with_notice.signed(&button(12, "ok:9:T-1", 77)).await;
    assert_eq!(status, 200);
    assert_eq!(answer, json!({ "type": 4, "data": { "content": "Cette proposition a expiré.", "flags": 64 } }));

    let silent = endpoint(Duration::ZERO, Ok(None)).await;
    assert_eq!(silent.signed(&modal(13, "pt:9:T-1", "12")).await, (200, json!({ "type": 6 })));
    assert_eq!(silent.seen()[0].kind, IncomingKind::Form { data: "pt:9:T-1".into(), value: "12".into() });
}

#[tokio::test]
async fn quantity_button_opens_a_form_once_the_engine_says_it_may() {
    let endpoint = endpoint_answering(Duration::ZERO, Ok(Handled { form: true, ..Handled::default() })).await;
    let (status, answer) = endpoint.signed(&button(14, "q|pt:9:T-1", 77)).await;
    assert_eq!(status, 200);
    assert_eq!(answer["type"], 9);
    assert_eq!(answer["data"]["custom_id"], "pt:9:T-1");
    let input = &answer["data"]["components"][0]["components"][0];
    assert_eq!(input["type"], 4);
    assert_eq!(input["style"], 1, "a short text input");
    assert_eq!(input["label"], "Quantité");
    assert_eq!(endpoint.seen()[0].kind, IncomingKind::OpenForm { data: "pt:9:T-1".into() });
}

#[tokio::test]
async fn quantity_button_of_a_closed_offer_answers_the_refusal_instead_of_a_form() {
    let endpoint = endpoint(Duration::ZERO, Ok(Some("Cette offre n'est plus ouverte."))).await;
    let (status, answer) = endpoint.signed(&button(18, "q|pt:9:T-1", 77)).await;
    assert_eq!(status, 200);
    assert_eq!(answer, json!({ "type": 4, "data": { "content": "Cette offre n'est plus ouverte.", "flags": 64 } }));
}

#[tokio::test]
async fn a_command_in_a_server_channel_is_shared_and_its_answer_shown_to_the_user_alone() {
    // What the engine answers about a user's own lots, in a server channel: only in the notice.
    let endpoint = endpoint(Duration::ZERO, Ok(Some("1 offre(s) en attente."))).await;
    let (_, answer) = endpoint.signed(&command(19, "mes_lots", json!([]), "fr")).await;
    assert_eq!(answer, json!({ "type": 4, "data": { "content": "1 offre(s) en attente.", "flags": 64 } }));
    let members_read = ChatKind::Shared { private_notice: true };
    assert_eq!(endpoint.seen()[0].chat, members_read, "a server's channel is read by its members");
    assert!(endpoint.fake.calls().is_empty(), "nothing posted in the channel");
}

#[tokio::test]
async fn handler_error_is_a_500() {
    let endpoint = endpoint(Duration::ZERO, Err("database is locked")).await;
    let (status, _) = endpoint.signed(&command(15, "aide", json!([]), "fr")).await;
    assert_eq!(status, 500);
}

#[tokio::test]
async fn unsigned_altered_or_old_requests_are_refused_before_the_handler() {
    let endpoint = endpoint(Duration::ZERO, Ok(None)).await;
    let body = command(16, "aide", json!([]), "fr").to_string();
    let timestamp = now().to_string();
    let signature = hex(&key().sign(format!("{timestamp}{body}").as_bytes()).to_bytes());

    // Missing headers.
    assert_eq!(endpoint.post(&body, &[]).await.0, 401);
    assert_eq!(endpoint.post(&body, &[("X-Signature-Ed25519", signature.clone())]).await.0, 401);
    // Altered body.
    let altered = body.replace("aide", "allocate");
    let headers = [("X-Signature-Ed25519", signature.clone()), ("X-Signature-Timestamp", timestamp.clone())];
    assert_eq!(endpoint.post(&altered, &headers).await.0, 401);
    // Signed by another key.
    let other = SigningKey::from_bytes(&[8u8; 32]).sign(format!("{timestamp}{body}").as_bytes());
    let headers = [("X-Signature-Ed25519", hex(&other.to_bytes())), ("X-Signature-Timestamp", timestamp.clone())];
    assert_eq!(endpoint.post(&body, &headers).await.0, 401);
    // Garbage signature.
    let headers = [("X-Signature-Ed25519", "zz".repeat(64)), ("X-Signature-Timestamp", timestamp.clone())];
    assert_eq!(endpoint.post(&body, &headers).await.0, 401);
    // Correctly signed, but 10 minutes ago (a replay).
    let old = (now() - 600).to_string();
    let signature = hex(&key().sign(format!("{old}{body}").as_bytes()).to_bytes());
    let headers = [("X-Signature-Ed25519", signature), ("X-Signature-Timestamp", old)];
    assert_eq!(endpoint.post(&body, &headers).await.0, 401);

    assert!(endpoint.seen().is_empty(), "the handler was never called");
    // The same request signed properly goes through.
    assert_eq!(endpoint.signed(&command(16, "aide", json!([]), "fr")).await.0, 200);
    assert_eq!(endpoint.seen().len(), 1);
}

#[tokio::test]
async fn slow_handler_is_deferred_then_the_answer_is_edited() {
    let endpoint = endpoint(Duration::from_secs(3), Ok(Some("Répartition calculée : 4 propositions envoyées."))).await;
    let options = json!([{ "name": "ref", "type": 3, "value": "T-2026-014" }]);
    let started = Instant::now();
    let (status, answer) = endpoint.signed(&command(17, "allocate", options, "fr")).await;
    assert!(started.elapsed() < Duration::from_millis(2600), "{:?}", started.elapsed());
    assert_eq!(status, 200);
    assert_eq!(answer, json!({ "type": 5, "data": { "flags": 64 } }));
    assert!(endpoint.fake.interaction_responses().is_empty());

    let fake = &endpoint.fake;
    assert!(fake.wait_until(Duration::from_secs(5), |f| !f.interaction_responses().is_empty()).await);
    let edits = fake.interaction_responses();
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0].kind, "@original");
    assert_eq!(edits[0].token, "itoken-17");
    assert_eq!(edits[0].body["content"], "Répartition calculée : 4 propositions envoyées.");
    assert_eq!(fake.calls(), [format!("PATCH /webhooks/{}/itoken-17/messages/@original", FakeDiscord::APPLICATION_ID)]);
}
