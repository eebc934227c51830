//! HTTP interactions mode: Discord POSTs each interaction to us, signed with the application's
//! Ed25519 key, and waits up to 3 seconds for the answer.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use ed25519_dalek::{Signature, VerifyingKey};
use essaim_chat::{Handled, Incoming, IncomingKind};
use serde_json::{Value, json};
use serenity::http::{Http, LightMethod, Request, Route};
use serenity::model::application::Interaction;
use serenity::model::id::ApplicationId;
use tracing::Instrument;

use crate::sender::CONTENT_LIMIT;
use crate::translate::translate;

/// Where Discord delivers interactions (the « Interactions Endpoint URL » of the application).
pub const INTERACTIONS_PATH: &str = "/discord/interactions";
/// The header carrying the hex Ed25519 signature of `timestamp + body`.
pub const SIGNATURE_HEADER: &str = "X-Signature-Ed25519";
/// The header carrying the signing time (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "X-Signature-Timestamp";
/// The `custom_id` of the text input of the quantity form.
pub const QUANTITY_INPUT: &str = "quantity";

/// How long the handler may take before the interaction is answered « deferred » (Discord gives
/// up after 3 s).
const BUDGET: Duration = Duration::from_millis(2500);
/// The ephemeral flag of an interaction message.
const EPHEMERAL: u64 = 64;
/// Shown when a deferred action could not be recorded.
const FAILED: &str = "⚠️ Action non enregistrée : réessayez dans un instant.";
/// Shown when the check before a form took too long (a form can only be the first answer).
const RETRY: &str = "⏳ Réessayez dans un instant.";
/// Shown for a command that succeeded without a notice (the real answers arrive as messages).
const DONE: &str = "✅";

/// Configuration of the interactions endpoint.
#[derive(Debug, Clone)]
pub struct InteractionsConfig {
    /// The application's Ed25519 public key, in hex (Developer Portal → General Information).
    pub public_key: String,
    pub application_id: u64,
    /// Requests signed longer ago than this (or this far in the future) are refused (replays).
    pub max_age: Duration,
}

impl InteractionsConfig {
    /// A configuration refusing requests signed more than 5 minutes ago.
    pub fn new(public_key: impl Into<String>, application_id: u64) -> Self {
        Self { public_key: public_key.into(), application_id, max_age: Duration::from_secs(300) }
    }
}

struct Endpoint<H> {
    key: Option<VerifyingKey>,
    application_id: u64,
    max_age: Duration,
    http: Arc<Http>,
    handler: H,
}

/// An axum router with `POST /discord/interactions` ([`INTERACTIONS_PATH`]).
///
/// - The Ed25519 signature ([`SIGNATURE_HEADER`]) over [`TIMESTAMP_HEADER`] + raw body must verify
///   against `public_key`, and the timestamp must be within `max_age`: otherwise 401 and the
///   handler is not called. A public key that is not 32 bytes of hex refuses every request.
/// - PING -> `{"type":1}`.
/// - A button whose `custom_id` starts with `q|` is handed to `handler` as
///   [`IncomingKind::OpenForm`]: when it answers [`Handled::form`], a form (type 9) with `custom_id` =
///   the data after `q|` and one text input (« Quantité », or the question); else its notice,
///   ephemeral (a closed offer, someone else's). Past 2.5 s: « réessayez » (a form cannot follow a
///   deferred answer).
/// - Anything else is translated ([`translate`]) and handed to `handler`, which has 2.5 s: a
///   command is answered with an ephemeral message (type 4, flags 64) with the notice or « ✅ »; a
///   button or form with an ephemeral message with the notice, or a silent acknowledgement (type
///   6) without one. Past 2.5 s the answer is « deferred » (type 5, ephemeral), the handler goes on
///   in the background and its notice then replaces the « thinking » message (`PATCH
///   /webhooks/{application_id}/{token}/messages/@original`).
/// - A handler error -> 500 (Discord shows a failure; nothing was recorded, the user may retry).
pub fn interactions_router<H, Fut>(config: InteractionsConfig, http: Arc<Http>, handler: H) -> Router
where
    H: Fn(Incoming) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Handled, String>> + Send + 'static,
{
    let key = parse_public_key(&config.public_key);
    if key.is_none() {
        tracing::error!("the Discord public key is not 64 hex digits: every interaction will be refused");
    }
    let endpoint =
        Arc::new(Endpoint { key, application_id: config.application_id, max_age: config.max_age, http, handler });
    Router::new().route(INTERACTIONS_PATH, post(receive::<H, Fut>)).with_state(endpoint)
}

fn parse_public_key(hex: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = decode_hex(hex.trim())?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok()).collect()
}

/// Whether the request is signed by Discord, recently.
fn authentic(
    key: Option<&VerifyingKey>,
    max_age: Duration,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), &'static str> {
    let key = key.ok_or("no usable public key")?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let signature = header(SIGNATURE_HEADER).ok_or("no signature")?;
    let timestamp = header(TIMESTAMP_HEADER).ok_or("no timestamp")?;
    let signed_at: u64 = timestamp.parse().map_err(|_| "the timestamp is not a number")?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    if now.abs_diff(signed_at) > max_age.as_secs() {
        return Err("the timestamp is too old or in the future");
    }
    let signature: [u8; 64] =
        decode_hex(signature).and_then(|b| b.try_into().ok()).ok_or("the signature is not 128 hex digits")?;
    let mut message = Vec::with_capacity(timestamp.len() + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.extend_from_slice(body);
    key.verify_strict(&message, &Signature::from_bytes(&signature)).map_err(|_| "the signature does not verify")
}

fn answer(value: Value) -> Response {
    (StatusCode::OK, Json(value)).into_response()
}

fn ephemeral(content: &str) -> Value {
    json!({ "type": 4, "data": { "content": fit(content), "flags": EPHEMERAL } })
}

fn fit(content: &str) -> String {
    if content.chars().count() <= CONTENT_LIMIT {
        return content.to_owned();
    }
    let mut out: String = content.chars().take(CONTENT_LIMIT - 1).collect();
    out.push('…');
    out
}

/// The form asking for a quantity, for the button whose data is `data` — or for a question about the
/// offer (`qa:…`, « Poser une question »): same form, a paragraph instead of a number.
fn quantity_modal(data: &str) -> Value {
    let question = data.starts_with("qa:");
    let (title, label, style, max, placeholder) = if question {
        ("Poser une question", "Votre question", 2, 500, "ex. Le matériel est-il fourni ?")
    } else {
        ("Accepter une partie", "Quantité", 1, 20, "ex. 12,5")
    };
    json!({
        "type": 9,
        "data": {
            "custom_id": data,
            "title": title,
            "components": [{
                "type": 1,
                "components": [{
                    "type": 4,
                    "custom_id": QUANTITY_INPUT,
                    "label": label,
                    "style": style,
                    "min_length": 1,
                    "max_length": max,
                    "required": true,
                    "placeholder": placeholder,
                }],
            }],
        },
    })
}

async fn receive<H, Fut>(State(endpoint): State<Arc<Endpoint<H>>>, headers: HeaderMap, body: Bytes) -> Response
where
    H: Fn(Incoming) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Handled, String>> + Send + 'static,
{
    if let Err(why) = authentic(endpoint.key.as_ref(), endpoint.max_age, &headers, &body) {
        tracing::warn!(why, "interaction request not signed by Discord: refused");
        return (StatusCode::UNAUTHORIZED, "invalid request signature").into_response();
    }
    let raw: Value = match serde_json::from_slice(&body) {
        Ok(raw) => raw,
        Err(err) => {
            tracing::warn!(error = %err, "interaction body is not JSON");
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    if raw.get("type").and_then(Value::as_u64) == Some(1) {
        return answer(json!({ "type": 1 }));
    }
    let interaction: Interaction = match serde_json::from_value(raw) {
        Ok(interaction) => interaction,
        Err(err) => {
            tracing::warn!(error = %err, "interaction body is not an interaction serenity knows");
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    let span = tracing::info_span!("discord_interaction", id = interaction.id().get());
    async move {
        if let Interaction::Autocomplete(_) = &interaction {
            return answer(json!({ "type": 8, "data": { "choices": [] } }));
        }
        let Some(incoming) = translate(&interaction) else {
            tracing::debug!("interaction not for the engine; acknowledged");
            return answer(ephemeral(DONE));
        };
        let is_command = matches!(incoming.kind, IncomingKind::Command { .. });
        let form = match &incoming.kind {
            IncomingKind::OpenForm { data } => Some(data.clone()),
            _ => None,
        };
        let token = match &interaction {
            Interaction::Command(i) | Interaction::Autocomplete(i) => i.token.clone(),
            Interaction::Component(i) => i.token.clone(),
            Interaction::Modal(i) => i.token.clone(),
            _ => String::new(),
        };
        let mut task = tokio::spawn((endpoint.handler.clone())(incoming));
        match tokio::time::timeout(BUDGET, &mut task).await {
            Ok(Ok(Ok(handled))) => match (form, handled) {
                (Some(data), Handled { form: true, .. }) => answer(quantity_modal(&data)),
                (_, Handled { notice: Some(notice), .. }) => answer(ephemeral(&notice)),
                (None, _) if is_command => answer(ephemeral(DONE)),
                (None, _) => answer(json!({ "type": 6 })),
                (Some(_), _) => answer(ephemeral(RETRY)),
            },
            Ok(Ok(Err(error))) => {
                tracing::error!(error, "the engine could not handle the interaction");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
            Ok(Err(join)) => {
                tracing::error!(error = %join, "the interaction handler panicked");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
            Err(_) if form.is_some() => {
                tracing::info!("the engine is slow: the form is not opened");
                answer(ephemeral(RETRY))
            }
            Err(_) => {
                tracing::info!("the engine is slow: interaction deferred");
                let http = Arc::clone(&endpoint.http);
                let application_id = endpoint.application_id;
                tokio::spawn(
                    async move {
                        let content = match task.await {
                            Ok(Ok(handled)) => handled.notice.unwrap_or_else(|| DONE.to_owned()),
                            Ok(Err(error)) => {
                                tracing::error!(error, "the engine could not handle the deferred interaction");
                                FAILED.to_owned()
                            }
                            Err(join) => {
                                tracing::error!(error = %join, "the deferred interaction handler panicked");
                                FAILED.to_owned()
                            }
                        };
                        edit_original(&http, application_id, &token, &content).await;
                    }
                    .in_current_span(),
                );
                answer(json!({ "type": 5, "data": { "flags": EPHEMERAL } }))
            }
        }
    }
    .instrument(span)
    .await
}

/// Replaces the deferred answer (« essaim réfléchit… ») with `content`.
async fn edit_original(http: &Http, application_id: u64, token: &str, content: &str) {
    let Some(application_id) = (application_id != 0).then(|| ApplicationId::new(application_id)) else {
        tracing::error!("no application id: the deferred interaction answer cannot be edited");
        return;
    };
    let body = json!({ "content": fit(content) }).to_string().into_bytes();
    let request = Request::new(Route::WebhookOriginalInteractionResponse { application_id, token }, LightMethod::Patch)
        .body(Some(body));
    // Not `%err`: the URL in serenity's error carries the interaction token.
    match http.request(request).await {
        Ok(_) => {}
        Err(serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(answer))) => {
            tracing::warn!(status = answer.status_code.as_u16(), message = %answer.error.message, "could not edit the deferred interaction answer");
        }
        Err(_) => tracing::warn!("could not reach Discord to edit the deferred interaction answer"),
    }
}
