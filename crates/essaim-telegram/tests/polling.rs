//! Long polling against the fake: order, no loss, confirmation, button answers, shutdown.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use essaim_chat::{Handled, Incoming, IncomingKind};
use essaim_telegram::fake::FakeTelegram;
use essaim_telegram::{TelegramError, run_polling};
use serde_json::json;
use teloxide::Bot;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use common::fake_and_bot;

const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_secs(1);

type Seen = Arc<Mutex<Vec<Incoming>>>;

/// Runs the polling loop in a task; the sender stops it.
fn start<H, Fut>(bot: Bot, handler: H) -> (oneshot::Sender<()>, JoinHandle<Result<(), TelegramError>>)
where
    H: Fn(Incoming) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Handled, String>> + Send + 'static,
{
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(run_polling(bot, POLL, handler, async move {
        let _ = stopped.await;
    }));
    (stop, task)
}

async fn stop(stop: oneshot::Sender<()>, task: JoinHandle<Result<(), TelegramError>>) {
    let _ = stop.send(());
    let result = tokio::time::timeout(WAIT, task).await.expect("polling stops promptly").expect("polling task");
    assert!(result.is_ok(), "{result:?}");
}

fn recorder(
    seen: &Seen,
    notice: Option<&str>,
) -> impl Fn(Incoming) -> std::future::Ready<Result<Handled, String>> + Send + Sync + 'static {
    let seen = Arc::clone(seen);
    let notice = notice.map(str::to_owned);
    move |incoming| {
        seen.lock().expect("seen").push(incoming);
        std::future::ready(Ok(Handled { notice: notice.clone(), ..Handled::default() }))
    }
}

fn names(seen: &Seen) -> Vec<String> {
    seen.lock()
        .expect("seen")
        .iter()
        .map(|i| match &i.kind {
            IncomingKind::Command { name, args } => format!("/{name} {}", args.join(" ")),
            IncomingKind::Text(text) => text.clone(),
            IncomingKind::Button { data, .. } => format!("button {data}"),
            other => format!("{other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn updates_reach_the_handler_in_order_and_are_confirmed() {
    let (fake, bot) = fake_and_bot().await;
    fake.push_command(11, 11, "/start INV-1");
    fake.push_text(11, 11, "12");
    let last = fake.push_command(22, -500, "/aide@essaim_fake_bot");
    let seen = Seen::default();
    let (tx, task) = start(bot, recorder(&seen, None));

    assert!(fake.wait_until(WAIT, |_| seen.lock().expect("seen").len() == 3).await);
    stop(tx, task).await;

    assert_eq!(names(&seen), ["/start INV-1", "12", "/aide "]);
    let seen = seen.lock().expect("seen");
    assert_eq!(seen[2].chat_id, "-500");
    assert_eq!(seen[2].user_id, "22");
    assert_eq!(seen[2].update_id, last.to_string());
    assert_eq!(fake.confirmed_up_to(), last, "handled updates are confirmed at shutdown");
    assert_eq!(fake.pending_updates(), 0);
    let calls = fake.calls();
    assert_eq!(calls.first().map(String::as_str), Some("deleteWebhook"));
    assert_eq!(calls.iter().filter(|c| *c == "deleteWebhook").count(), 1);
    assert_eq!(fake.allowed_updates(), Some(vec!["message".to_owned(), "callback_query".to_owned()]));
}

#[tokio::test]
async fn a_failing_handler_is_retried_and_the_update_is_not_confirmed_meanwhile() {
    let (fake, bot) = fake_and_bot().await;
    let first = fake.push_command(11, 11, "/start A");
    let second = fake.push_command(11, 11, "/start B");
    let third = fake.push_command(11, 11, "/start C");
    let database_up = Arc::new(AtomicBool::new(false));
    let attempts_on_b = Arc::new(AtomicUsize::new(0));
    let seen = Seen::default();
    let handler = {
        let (database_up, attempts_on_b, seen) = (database_up.clone(), attempts_on_b.clone(), seen.clone());
        move |incoming: Incoming| {
            let is_b = matches!(&incoming.kind, IncomingKind::Command { args, .. } if args == &["B"]);
            let result = if is_b && !database_up.load(Ordering::SeqCst) {
                attempts_on_b.fetch_add(1, Ordering::SeqCst);
                Err("database is down".to_owned())
            } else {
                seen.lock().expect("seen").push(incoming);
                Ok(Handled::default())
            };
            std::future::ready(result)
        }
    };
    let (tx, task) = start(bot, handler);

    assert!(fake.wait_until(WAIT, |_| attempts_on_b.load(Ordering::SeqCst) >= 2).await, "B is retried");
    assert_eq!(names(&seen), ["/start A"], "C waits for B");
    assert!(fake.confirmed_up_to() < second, "B is not confirmed while it fails");
    assert_eq!(fake.pending_updates(), 3 - usize::from(fake.confirmed_up_to() >= first));

    database_up.store(true, Ordering::SeqCst);
    assert!(fake.wait_until(WAIT, |_| seen.lock().expect("seen").len() == 3).await);
    assert_eq!(names(&seen), ["/start A", "/start B", "/start C"]);
    stop(tx, task).await;
    assert_eq!(fake.confirmed_up_to(), third);
}

#[tokio::test]
async fn an_update_whose_handler_never_succeeded_is_delivered_after_a_restart() {
    let (fake, bot) = fake_and_bot().await;
    let id = fake.push_command(11, 11, "/lots");
    let failing = |_: Incoming| std::future::ready(Err::<Handled, _>("database is down".to_owned()));
    let (tx, task) = start(bot.clone(), failing);
    assert!(fake.wait_until(WAIT, |f| f.calls().iter().any(|c| c == "getUpdates")).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop(tx, task).await;
    assert!(fake.confirmed_up_to() < id);

    // The bot comes back (same fake, new polling loop): the update is still there.
    let seen = Seen::default();
    let (tx, task) = start(bot, recorder(&seen, None));
    assert!(fake.wait_until(WAIT, |_| seen.lock().expect("seen").len() == 1).await);
    stop(tx, task).await;
    assert_eq!(names(&seen), ["/lots "]);
    assert_eq!(fake.confirmed_up_to(), id);
}

#[tokio::test]
async fn button_presses_are_answered_with_the_notice() {
    let (fake, bot) = fake_and_bot().await;
    fake.push_button(11, 11, "offer:9:accept", 3);
    let seen = Seen::default();
    let (tx, task) = start(bot, recorder(&seen, Some("Merci, lot accepté")));
    assert!(fake.wait_until(WAIT, |f| !f.callback_answers().is_empty()).await);
    stop(tx, task).await;

    let seen = seen.lock().expect("seen");
    assert_eq!(seen[0].kind, IncomingKind::Button { data: "offer:9:accept".into(), message_id: Some("3".into()) });
    let answers = fake.callback_answers();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].1.as_deref(), Some("Merci, lot accepté"));
}

#[tokio::test]
async fn a_press_without_notice_is_still_answered() {
    let (fake, bot) = fake_and_bot().await;
    fake.push_button(11, 11, "offer:9:decline", 3);
    let seen = Seen::default();
    let (tx, task) = start(bot, recorder(&seen, None));
    assert!(fake.wait_until(WAIT, |f| !f.callback_answers().is_empty()).await);
    stop(tx, task).await;
    assert_eq!(fake.callback_answers()[0].1, None, "the spinner stops, no text");
}

#[tokio::test]
async fn updates_for_nobody_are_skipped_and_confirmed() {
    let (fake, bot) = fake_and_bot().await;
    fake.push_raw_update(json!({"message": {"garbage": true}}));
    fake.push_raw_update(json!({"message": {"message_id": 1, "date": 1_760_000_000,
        "chat": {"id": 11, "type": "private", "first_name": "A"},
        "from": {"id": 11, "is_bot": false, "first_name": "A"},
        "sticker": {"file_id": "f", "file_unique_id": "u", "type": "regular", "width": 512, "height": 512,
                    "is_animated": false, "is_video": false}}}));
    // Not asked for: Telegram (and the fake) never deliver it.
    fake.push_raw_update(json!({"edited_message": {"message_id": 1}}));
    let last = fake.push_command(11, 11, "/tenders");
    let seen = Seen::default();
    let (tx, task) = start(bot, recorder(&seen, None));
    assert!(fake.wait_until(WAIT, |_| seen.lock().expect("seen").len() == 1).await);
    stop(tx, task).await;
    assert_eq!(names(&seen), ["/tenders "]);
    assert_eq!(fake.confirmed_up_to(), last);
    assert_eq!(fake.pending_updates(), 0);
}

#[tokio::test]
async fn a_redelivered_update_reaches_the_handler_again() {
    let (fake, bot) = fake_and_bot().await;
    let id = fake.push_command(11, 11, "/start X");
    let seen = Seen::default();
    let (tx, task) = start(bot, recorder(&seen, None));
    assert!(fake.wait_until(WAIT, |_| seen.lock().expect("seen").len() == 1).await);
    // Telegram delivers the same update again (it happens): the engine sees the same update id.
    let raw = json!({"update_id": id, "message": {"message_id": 1, "date": 1_760_000_000,
        "chat": {"id": 11, "type": "private", "first_name": "A"},
        "from": {"id": 11, "is_bot": false, "first_name": "A"}, "text": "/start X"}});
    assert_eq!(fake.push_raw_update(raw), id);
    assert!(fake.wait_until(WAIT, |_| seen.lock().expect("seen").len() == 2).await);
    let next = fake.push_text(11, 11, "after");
    assert!(fake.wait_until(WAIT, |_| seen.lock().expect("seen").len() == 3).await);
    stop(tx, task).await;
    let seen = seen.lock().expect("seen");
    assert_eq!(seen[0].update_id, seen[1].update_id);
    assert_eq!(fake.confirmed_up_to(), next);
}

#[tokio::test]
async fn shutdown_while_waiting_for_updates_is_prompt() {
    let (fake, bot) = fake_and_bot().await;
    let seen = Seen::default();
    let (tx, task) = start(bot, recorder(&seen, None));
    assert!(fake.wait_until(WAIT, |f| f.calls().iter().any(|c| c == "getUpdates")).await);
    let before = std::time::Instant::now();
    stop(tx, task).await;
    assert!(before.elapsed() < Duration::from_millis(500));
    assert!(seen.lock().expect("seen").is_empty());
}

#[tokio::test]
async fn a_refused_token_stops_polling_with_an_error() {
    let fake = FakeTelegram::start().await;
    let bot = common::bot_for(&fake);
    fake.fail_next(
        "deleteWebhook",
        essaim_telegram::fake::FakeError::Api { code: 401, description: "Unauthorized".into() },
    );
    let result =
        run_polling(bot, POLL, |_: Incoming| std::future::ready(Ok(Handled::default())), std::future::pending()).await;
    assert!(matches!(result, Err(TelegramError::InvalidToken)), "{result:?}");
}

#[tokio::test]
async fn telegram_hiccups_do_not_lose_updates() {
    let (fake, bot) = fake_and_bot().await;
    fake.fail_next("getUpdates", essaim_telegram::fake::FakeError::RetryAfter(1));
    let id = fake.push_command(11, 11, "/status T-1");
    let seen = Seen::default();
    let (tx, task) = start(bot, recorder(&seen, None));
    assert!(fake.wait_until(WAIT, |_| seen.lock().expect("seen").len() == 1).await);
    stop(tx, task).await;
    assert_eq!(names(&seen), ["/status T-1"]);
    assert_eq!(fake.confirmed_up_to(), id);
}
