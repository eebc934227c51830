//! Webhook mode: Telegram POSTs each update to us.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::routing::post;
use essaim_chat::{Handled, Incoming};
use subtle::ConstantTimeEq;
use teloxide::Bot;
use teloxide::types::Update;
use tracing::Instrument;

use crate::polling::answer_callback;
use crate::translate::{callback_query_id, translate};

/// Where Telegram delivers updates in webhook mode.
pub const WEBHOOK_PATH: &str = "/telegram/webhook";
/// The header in which Telegram repeats the webhook's `secret_token`.
pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";
/// Largest update body read. An update carries at most a 4 096-character text or a 1 024-character
/// caption and their entities: a few kilobytes. Anything near this is not Telegram.
pub const MAX_UPDATE_BYTES: usize = 256 * 1024;

struct Hook<H> {
    bot: Bot,
    secret: String,
    handler: H,
}

/// An axum router with `POST /telegram/webhook` ([`WEBHOOK_PATH`]).
///
/// - The [`SECRET_HEADER`] header must equal `secret` (compared in constant time): wrong or missing
///   -> 401 and nothing is handled. An empty `secret` refuses every request.
/// - The secret is checked before the body is read; a body over [`MAX_UPDATE_BYTES`] -> 413, one that
///   is not an update -> 400.
/// - The update is translated and handed to `handler`; the answer is 200 only once the handler
///   returned `Ok` (a button press is then answered through `bot`, as in polling — but not by a copy
///   of an update already handled, which may run at the same time as the copy that recorded it); a
///   handler error
///   -> 500, so that Telegram delivers the update again later. Updates the engine does not handle
///   -> 200 at once.
pub fn webhook_router<H, Fut>(bot: Bot, secret: String, handler: H) -> Router
where
    H: Fn(Incoming) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Handled, String>> + Send + 'static,
{
    if secret.is_empty() {
        tracing::error!("the Telegram webhook secret is empty: every webhook request will be refused");
    }
    let hook = Arc::new(Hook { bot, secret, handler });
    Router::new().route(WEBHOOK_PATH, post(receive::<H, Fut>)).with_state(hook)
}

async fn receive<H, Fut>(State(hook): State<Arc<Hook<H>>>, request: Request) -> StatusCode
where
    H: Fn(Incoming) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Handled, String>> + Send + 'static,
{
    let given = request.headers().get(SECRET_HEADER).map(|value| value.as_bytes()).unwrap_or_default();
    let authentic = !hook.secret.is_empty() && bool::from(given.ct_eq(hook.secret.as_bytes()));
    if !authentic {
        tracing::warn!("webhook request without the right secret token: refused");
        return StatusCode::UNAUTHORIZED;
    }
    let body = match axum::body::to_bytes(request.into_body(), MAX_UPDATE_BYTES).await {
        Ok(body) => body,
        Err(err) => {
            tracing::warn!(error = %err, "webhook body over {MAX_UPDATE_BYTES} bytes (or cut short): refused");
            return StatusCode::PAYLOAD_TOO_LARGE;
        }
    };
    let update: Update = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(err) => {
            tracing::warn!(error = %err, "webhook body is not a Telegram update");
            return StatusCode::BAD_REQUEST;
        }
    };
    let span = tracing::info_span!("telegram_update", update_id = update.id.0);
    async move {
        let Some(translated) = translate(&update) else {
            tracing::debug!("update not for the engine; skipped");
            if let Some(id) = callback_query_id(&update) {
                answer_callback(&hook.bot, id, None).await;
            }
            return StatusCode::OK;
        };
        match (hook.handler)(translated.incoming).await {
            Ok(handled) => {
                // Copies of one update may run at once here, and a press is answered once: the first
                // answer is the one the phone shows. The copy that found the update already recorded
                // (`duplicate`) answers nothing, so that its empty answer cannot come first and hide
                // the « C'est noté » of the copy that recorded the press.
                if let Some(id) = translated.callback_query_id.filter(|_| !handled.duplicate) {
                    answer_callback(&hook.bot, id, handled.notice).await;
                }
                StatusCode::OK
            }
            Err(error) => {
                tracing::error!(error, "the engine could not handle the update; Telegram will deliver it again");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
    .instrument(span)
    .await
}
