//! Webhook mode: the router on a real port, Telegram's POSTs simulated with an HTTP client.

mod common;

use std::sync::{Arc, Mutex};

use essaim_chat::{Handled, Incoming, IncomingKind};
use essaim_telegram::fake::FakeTelegram;
use essaim_telegram::{SECRET_HEADER, WEBHOOK_PATH, webhook_router};
use serde_json::{Value, json};
use teloxide::Bot;

use common::fake_and_bot;

const SECRET: &str = "Wh-s3cret_token";

type Seen = Arc<Mutex<Vec<Incoming>>>;

/// Serves the webhook router on loopback; returns its URL. The handler records what it sees and
/// fails while `fail` is set.
async fn serve(bot: Bot, seen: &Seen, fail: Arc<Mutex<bool>>, notice: Option<&str>) -> String {
    let seen = Arc::clone(seen);
    let notice = notice.map(str::to_owned);
    let handler = move |incoming: Incoming| {
        let result = if *fail.lock().expect("fail") {
            Err("database is down".to_owned())
        } else {
            seen.lock().expect("seen").push(incoming);
            Ok(Handled { notice: notice.clone(), ..Handled::default() })
        };
        async move { result }
    };
    let router = webhook_router(bot, SECRET.to_owned(), handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}{WEBHOOK_PATH}")
}

fn command_update(update_id: i64, text: &str) -> Value {
    json!({"update_id": update_id, "message": {"message_id": 5, "date": 1_760_000_000,
        "chat": {"id": 31, "type": "private", "first_name": "Sami"},
        "from": {"id": 31, "is_bot": false, "first_name": "Sami", "language_code": "en-GB"},
        "text": text}})
}

async fn post(bot: &Bot, url: &str, secret: Option<&str>, body: String) -> u16 {
    let mut request = bot.client().post(url).header("content-type", "application/json").body(body);
    if let Some(secret) = secret {
        request = request.header(SECRET_HEADER, secret);
    }
    request.send().await.expect("webhook reachable").status().as_u16()
}

#[tokio::test]
async fn wrong_or_missing_secret_is_refused_and_nothing_handled() {
    let (_fake, bot) = fake_and_bot().await;
    let seen = Seen::default();
    let url = serve(bot.clone(), &seen, Arc::default(), None).await;
    let body = command_update(1, "/start ABC").to_string();
    assert_eq!(post(&bot, &url, None, body.clone()).await, 401);
    assert_eq!(post(&bot, &url, Some("Wh-s3cret_tokeN"), body.clone()).await, 401);
    assert_eq!(post(&bot, &url, Some(""), body.clone()).await, 401);
    assert_eq!(post(&bot, &url, Some("Wh-s3cret_token-and-more"), body).await, 401);
    assert!(seen.lock().expect("seen").is_empty());
}

#[tokio::test]
async fn right_secret_hands_the_update_to_the_engine() {
    let (_fake, bot) = fake_and_bot().await;
    let seen = Seen::default();
    let url = serve(bot.clone(), &seen, Arc::default(), None).await;
    let status = post(&bot, &url, Some(SECRET), command_update(77, "/start@essaim_bot ABC").to_string()).await;
    assert_eq!(status, 200);
    let seen = seen.lock().expect("seen");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].update_id, "77");
    assert_eq!(seen[0].language.as_deref(), Some("en-GB"));
    assert_eq!(seen[0].kind, IncomingKind::Command { name: "start".into(), args: vec!["ABC".into()] });
}

#[tokio::test]
async fn a_body_that_is_not_an_update_is_a_bad_request() {
    let (_fake, bot) = fake_and_bot().await;
    let seen = Seen::default();
    let url = serve(bot.clone(), &seen, Arc::default(), None).await;
    assert_eq!(post(&bot, &url, Some(SECRET), "{not json".into()).await, 400);
    assert_eq!(post(&bot, &url, Some(SECRET), json!({"message": {}}).to_string()).await, 400);
    assert!(seen.lock().expect("seen").is_empty());
}

#[tokio::test]
async fn an_oversized_body_is_refused_and_a_forged_one_is_not_even_read() {
    let (_fake, bot) = fake_and_bot().await;
    let seen = Seen::default();
    let url = serve(bot.clone(), &seen, Arc::default(), None).await;
    // A real update padded past the limit with a long text.
    let mut update = command_update(7, "/aide");
    update["message"]["text"] = Value::String(format!("/aide {}", "x".repeat(essaim_telegram::MAX_UPDATE_BYTES)));
    assert_eq!(post(&bot, &url, Some(SECRET), update.to_string()).await, 413);
    assert_eq!(post(&bot, &url, None, update.to_string()).await, 401);
    assert!(seen.lock().expect("seen").is_empty());
    // An ordinary update still goes through.
    assert_eq!(post(&bot, &url, Some(SECRET), command_update(8, "/aide").to_string()).await, 200);
    assert_eq!(seen.lock().expect("seen").len(), 1);
}

#[tokio::test]
async fn a_failing_engine_answers_500_so_telegram_delivers_again() {
    let (_fake, bot) = fake_and_bot().await;
    let seen = Seen::default();
    let fail = Arc::new(Mutex::new(true));
    let url = serve(bot.clone(), &seen, fail.clone(), None).await;
    let body = command_update(5, "/lots").to_string();
    assert_eq!(post(&bot, &url, Some(SECRET), body.clone()).await, 500);
    *fail.lock().expect("fail") = false;
    assert_eq!(post(&bot, &url, Some(SECRET), body).await, 200);
    assert_eq!(seen.lock().expect("seen").len(), 1);
}

#[tokio::test]
async fn updates_for_nobody_are_acknowledged() {
    let (_fake, bot) = fake_and_bot().await;
    let seen = Seen::default();
    let url = serve(bot.clone(), &seen, Arc::default(), None).await;
    let edited = json!({"update_id": 6, "edited_message": {"message_id": 5, "date": 1, "edit_date": 2,
        "chat": {"id": 31, "type": "private", "first_name": "Sami"},
        "from": {"id": 31, "is_bot": false, "first_name": "Sami"}, "text": "/start"}});
    assert_eq!(post(&bot, &url, Some(SECRET), edited.to_string()).await, 200);
    assert!(seen.lock().expect("seen").is_empty());
}

#[tokio::test]
async fn a_button_press_is_answered_through_the_bot() {
    let (fake, bot) = fake_and_bot().await;
    let seen = Seen::default();
    let url = serve(bot.clone(), &seen, Arc::default(), Some("Lot refusé")).await;
    let press = json!({"update_id": 8, "callback_query": {"id": "cbq-webhook",
        "from": {"id": 31, "is_bot": false, "first_name": "Sami"},
        "message": {"message_id": 4, "date": 1_760_000_000, "chat": {"id": 31, "type": "private", "first_name": "Sami"},
                    "from": {"id": 1, "is_bot": true, "first_name": "Essaim", "username": "essaim_bot"}, "text": "Offre"},
        "chat_instance": "1", "data": "offer:4:decline"}});
    assert_eq!(post(&bot, &url, Some(SECRET), press.to_string()).await, 200);
    assert_eq!(fake.callback_answers(), [("cbq-webhook".to_owned(), Some("Lot refusé".to_owned()))]);
    assert_eq!(
        seen.lock().expect("seen")[0].kind,
        IncomingKind::Button { data: "offer:4:decline".into(), message_id: Some("4".into()) }
    );
}

#[tokio::test]
async fn an_empty_secret_refuses_everything() {
    let fake = FakeTelegram::start().await;
    let bot = common::bot_for(&fake);
    let router = webhook_router(bot.clone(), String::new(), |_: Incoming| async { Ok(Handled::default()) });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}{WEBHOOK_PATH}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let body = command_update(1, "/start").to_string();
    assert_eq!(post(&bot, &url, Some(""), body.clone()).await, 401);
    assert_eq!(post(&bot, &url, None, body).await, 401);
}

#[tokio::test]
async fn two_copies_of_one_press_at_once_show_the_notice_of_the_copy_that_recorded_it() {
    let (fake, bot) = fake_and_bot().await;
    // As the engine does: the first copy records the press (and takes a while); the second, meanwhile,
    // finds it recorded and is a duplicate — answered at once.
    let recorded = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handler = move |_: Incoming| {
        let first = !recorded.swap(true, std::sync::atomic::Ordering::SeqCst);
        async move {
            if first {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                Ok(Handled { notice: Some("C'est noté.".to_owned()), ..Handled::default() })
            } else {
                Ok(Handled { duplicate: true, ..Handled::default() })
            }
        }
    };
    let router = webhook_router(bot.clone(), SECRET.to_owned(), handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}{WEBHOOK_PATH}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let press = json!({"update_id": 9, "callback_query": {"id": "cbq-twice",
        "from": {"id": 31, "is_bot": false, "first_name": "Sami"},
        "message": {"message_id": 4, "date": 1_760_000_000, "chat": {"id": 31, "type": "private", "first_name": "Sami"},
                    "from": {"id": 1, "is_bot": true, "first_name": "Essaim", "username": "essaim_bot"}, "text": "Offre"},
        "chat_instance": "1", "data": "offer:4:accept"}})
    .to_string();
    let (one, two) = tokio::join!(post(&bot, &url, Some(SECRET), press.clone()), post(&bot, &url, Some(SECRET), press));
    assert_eq!((one, two), (200, 200));
    // One answer, the acknowledgement: the phone shows the first answer a press gets, and an empty one
    // from the duplicate used to come first.
    assert_eq!(fake.callback_answers(), [("cbq-twice".to_owned(), Some("C'est noté.".to_owned()))]);
}
