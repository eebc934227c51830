//! Long polling that never loses an update.

use std::future::Future;
use std::pin::{Pin, pin};
use std::time::Duration;

use essaim_chat::{Handled, Incoming};
use teloxide::payloads::{AnswerCallbackQuerySetters, GetUpdatesSetters};
use teloxide::prelude::Requester;
use teloxide::types::{AllowedUpdate, CallbackQueryId, Update};
use teloxide::{ApiError, Bot, RequestError};
use tracing::Instrument;

use crate::translate::{callback_query_id, translate};
use crate::{TelegramError, backoff, redact};

/// Telegram's limit on the text of a callback query answer.
const NOTICE_LIMIT: usize = 200;

/// Receives updates by long polling until `shutdown` resolves, handing each to `handler` in order.
///
/// `getUpdates` asks for messages and button presses only and waits up to `timeout` (the bot's HTTP
/// client must wait longer: see [`crate::bot`]). For each update, in order: [`translate`], then
/// `handler(incoming)`; on `Ok(handled)` a button press is answered (`answerCallbackQuery`, with the
/// notice text when `Some`) so that the phone's spinner stops. An update only counts as done once
/// its handler returned `Ok`: the offset given to the next `getUpdates` (which is what confirms
/// updates to Telegram) never moves past an update whose handler failed. A failing handler is
/// logged and retried on the same update after 1 s, 2 s, 4 s … (at most 30 s). Updates the engine
/// does not handle (translate to `None`) are confirmed right away (a button press among them is
/// still answered).
///
/// `deleteWebhook` is called once at start (Telegram refuses `getUpdates` while a webhook is set).
/// When `shutdown` resolves, the update in hand is finished (a handler is never interrupted; a retry
/// wait is), the updates handled so far are confirmed, and the function returns `Ok(())`. Telegram
/// being unreachable is retried with backoff; only a refused bot token ends with an error.
pub async fn run_polling<H, Fut>(
    bot: Bot,
    timeout: Duration,
    handler: H,
    shutdown: impl Future<Output = ()>,
) -> Result<(), TelegramError>
where
    H: Fn(Incoming) -> Fut,
    Fut: Future<Output = Result<Handled, String>>,
{
    let mut shutdown = pin!(shutdown);
    if !delete_webhook(&bot, shutdown.as_mut()).await? {
        return Ok(());
    }
    let timeout_secs = u32::try_from(timeout.as_secs()).unwrap_or(u32::MAX);
    // The offset of the next getUpdates, and the one Telegram last received (= confirmed).
    let mut offset: i32 = 0;
    let mut confirmed: i32 = 0;
    let mut failures = 0;
    'polling: loop {
        let request = bot
            .get_updates()
            .offset(offset)
            .timeout(timeout_secs)
            .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
        let result = tokio::select! {
            biased;
            () = shutdown.as_mut() => break 'polling,
            result = request => result,
        };
        let updates = match result {
            Ok(updates) => {
                failures = 0;
                confirmed = offset;
                updates
            }
            Err(err) => {
                let delay = match &err {
                    RequestError::Api(ApiError::InvalidToken) => return Err(TelegramError::InvalidToken),
                    RequestError::RetryAfter(seconds) => seconds.duration(),
                    RequestError::Api(ApiError::CantGetUpdates) => {
                        tracing::error!(
                            "a webhook is set for this bot: Telegram refuses long polling until it is \
                             removed (restart in polling mode, or use webhook mode)"
                        );
                        backoff(failures)
                    }
                    _ => backoff(failures),
                };
                failures = failures.saturating_add(1);
                tracing::warn!(
                    error = %redact(&err, bot.token()),
                    retry_in = ?delay,
                    "getUpdates failed"
                );
                if sleep_or_shutdown(delay, shutdown.as_mut()).await {
                    break 'polling;
                }
                continue;
            }
        };
        for update in updates {
            let next = i32::try_from(u64::from(update.id.0) + 1).unwrap_or(i32::MAX);
            let span = tracing::info_span!("telegram_update", update_id = update.id.0);
            let handled = handle_update(&bot, &update, &handler, shutdown.as_mut()).instrument(span).await;
            if !handled {
                break 'polling;
            }
            offset = offset.max(next);
            if is_ready(shutdown.as_mut()).await {
                break 'polling;
            }
        }
    }
    if offset != confirmed {
        // Confirm what was handled, so that a restart does not receive it again.
        let request = bot.get_updates().offset(offset).limit(1).timeout(0);
        if let Err(err) = request.await {
            tracing::warn!(error = %redact(&err, bot.token()), "could not confirm the last updates");
        }
    }
    Ok(())
}

/// How often a replica standing by tries to become the poller.
pub const STAND_BY_RETRY: Duration = Duration::from_secs(1);

/// [`run_polling`] by one replica at a time: several `essaim serve` on one database elect the one that
/// polls (Telegram answers `getUpdates` to one consumer only, and a second one makes both fail with
/// 409 Conflict).
///
/// `elect` tries, without waiting, to take the lead: `None` while another live process holds it, else a
/// future that owns the lead and resolves when it is lost (its database session gone). Until it has the
/// lead a replica stands by and tries again every [`STAND_BY_RETRY`], so that when the leader dies (its
/// session closes and frees the lead) another replica polls within a second or two. When the lead is
/// lost the replica stops polling — the update in hand finished, those handled confirmed, as on
/// shutdown — and stands by again. A new leader starts from what Telegram still holds unconfirmed: an
/// update the dead leader handled without confirming comes again, and the engine's inbox recognises it.
/// Returns `Ok(())` on `shutdown`, an error only for a refused bot token.
pub async fn run_polling_elected<H, Fut, E, Elected, Lead>(
    bot: Bot,
    timeout: Duration,
    handler: H,
    shutdown: impl Future<Output = ()>,
    mut elect: E,
) -> Result<(), TelegramError>
where
    H: Fn(Incoming) -> Fut,
    Fut: Future<Output = Result<Handled, String>>,
    E: FnMut() -> Elected,
    Elected: Future<Output = Option<Lead>>,
    Lead: Future<Output = ()>,
{
    let mut shutdown = pin!(shutdown);
    let mut standing_by = false;
    loop {
        let elected = tokio::select! {
            biased;
            () = shutdown.as_mut() => return Ok(()),
            elected = elect() => elected,
        };
        let Some(lead) = elected else {
            if !standing_by {
                standing_by = true;
                tracing::info!("another replica polls Telegram; standing by to take over");
            }
            if sleep_or_shutdown(STAND_BY_RETRY, shutdown.as_mut()).await {
                return Ok(());
            }
            continue;
        };
        tracing::info!("this replica polls Telegram");
        standing_by = false;
        let mut lead = pin!(lead);
        let mut lost = false;
        let stop = async {
            tokio::select! {
                biased;
                () = shutdown.as_mut() => {}
                () = lead.as_mut() => lost = true,
            }
        };
        run_polling(bot.clone(), timeout, &handler, stop).await?;
        if !lost {
            return Ok(());
        }
        tracing::warn!("lost the lead of Telegram polling; stopped polling and standing by");
    }
}

/// `deleteWebhook`, retried until Telegram says yes. `Ok(false)`: shutdown came first.
async fn delete_webhook(bot: &Bot, mut shutdown: Pin<&mut impl Future<Output = ()>>) -> Result<bool, TelegramError> {
    let mut failures = 0;
    loop {
        let result = tokio::select! {
            biased;
            () = shutdown.as_mut() => return Ok(false),
            result = bot.delete_webhook() => result,
        };
        let delay = match result {
            Ok(_) => return Ok(true),
            Err(RequestError::Api(ApiError::InvalidToken)) => return Err(TelegramError::InvalidToken),
            Err(RequestError::RetryAfter(seconds)) => seconds.duration(),
            Err(err) => {
                let delay = backoff(failures);
                tracing::warn!(error = %redact(&err, bot.token()), retry_in = ?delay, "deleteWebhook failed");
                delay
            }
        };
        failures += 1;
        if sleep_or_shutdown(delay, shutdown.as_mut()).await {
            return Ok(false);
        }
    }
}

/// Runs the handler on one update until it succeeds. `false`: shutdown came while waiting to retry
/// (the update stays unconfirmed).
async fn handle_update<H, Fut>(
    bot: &Bot,
    update: &Update,
    handler: &H,
    mut shutdown: Pin<&mut impl Future<Output = ()>>,
) -> bool
where
    H: Fn(Incoming) -> Fut,
    Fut: Future<Output = Result<Handled, String>>,
{
    let Some(translated) = translate(update) else {
        tracing::debug!("update not for the engine; skipped");
        if let Some(id) = callback_query_id(update) {
            answer_callback(bot, id, None).await;
        }
        return true;
    };
    let mut failures = 0;
    loop {
        match handler(translated.incoming.clone()).await {
            Ok(handled) => {
                // Updates are handled one at a time here: a second copy comes after the first was
                // answered (Telegram ignores the second answer), or after a crash left it unanswered.
                if let Some(id) = translated.callback_query_id {
                    answer_callback(bot, id, handled.notice).await;
                }
                return true;
            }
            Err(error) => {
                let delay = backoff(failures);
                failures = failures.saturating_add(1);
                tracing::error!(error, retry_in = ?delay, "the engine could not handle the update; it will be retried");
                if sleep_or_shutdown(delay, shutdown.as_mut()).await {
                    return false;
                }
            }
        }
    }
}

/// Stops the phone's spinner on a button press, showing `notice` when there is one. Failures are
/// logged only: the press itself is already handled.
pub(crate) async fn answer_callback(bot: &Bot, id: String, notice: Option<String>) {
    let mut request = bot.answer_callback_query(CallbackQueryId(id));
    if let Some(notice) = notice.filter(|n| !n.trim().is_empty()) {
        request = request.text(shorten(&notice, NOTICE_LIMIT));
    }
    if let Err(err) = request.await {
        tracing::warn!(error = %redact(&err, bot.token()), "could not answer the button press");
    }
}

fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max_chars - 1).collect();
    out.push('…');
    out
}

/// Sleeps `delay`; `true` when `shutdown` resolved first.
async fn sleep_or_shutdown(delay: Duration, shutdown: Pin<&mut impl Future<Output = ()>>) -> bool {
    tokio::select! {
        biased;
        () = shutdown => true,
        () = tokio::time::sleep(delay) => false,
    }
}

/// Whether `shutdown` has resolved, without waiting.
async fn is_ready(shutdown: Pin<&mut impl Future<Output = ()>>) -> bool {
    tokio::select! {
        biased;
        () = shutdown => true,
        () = std::future::ready(()) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_fit_telegram() {
        assert_eq!(shorten("Merci !", 200), "Merci !");
        let long = "é".repeat(250);
        let short = shorten(&long, 200);
        assert_eq!(short.chars().count(), 200);
        assert!(short.ends_with('…'));
    }
}
