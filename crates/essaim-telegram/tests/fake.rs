//! The fake Bot API itself, as other crates' tests rely on it.

mod common;

use std::time::{Duration, Instant};

use essaim_telegram::fake::FakeTelegram;
use serde_json::{Value, json};
use teloxide::Bot;
use teloxide::prelude::Requester;

use common::fake_and_bot;

async fn call(bot: &Bot, fake: &FakeTelegram, method: &str, body: Value) -> Value {
    let url = format!("{}bot{}/{method}", fake.api_url(), FakeTelegram::TOKEN);
    let response = bot.client().post(url).json(&body).send().await.expect("fake reachable");
    response.json().await.expect("JSON answer")
}

fn ids(answer: &Value) -> Vec<i64> {
    answer["result"]
        .as_array()
        .map(|updates| updates.iter().filter_map(|u| u["update_id"].as_i64()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn get_updates_confirms_by_offset() {
    let (fake, bot) = fake_and_bot().await;
    let a = fake.push_command(1, 1, "/start A");
    let b = fake.push_text(1, 1, "B");
    let c = fake.push_button(1, 1, "x", 1);
    assert_eq!(ids(&call(&bot, &fake, "getUpdates", json!({})).await), [a, b, c]);
    assert_eq!(fake.confirmed_up_to(), 0, "reading does not confirm");
    assert_eq!(ids(&call(&bot, &fake, "getUpdates", json!({"offset": b + 1})).await), [c]);
    assert_eq!(fake.confirmed_up_to(), b);
    assert_eq!(fake.pending_updates(), 1);
    assert_eq!(ids(&call(&bot, &fake, "getUpdates", json!({"offset": c + 1, "timeout": 0})).await), Vec::<i64>::new());
    assert_eq!(fake.pending_updates(), 0);
}

#[tokio::test]
async fn a_long_poll_wakes_up_when_an_update_arrives() {
    let (fake, bot) = fake_and_bot().await;
    let pusher = fake.clone();
    let push = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        pusher.push_command(1, 1, "/help")
    });
    let started = Instant::now();
    let answer = call(&bot, &fake, "getUpdates", json!({"timeout": 5})).await;
    let pushed = push.await.expect("push task");
    assert_eq!(ids(&answer), [pushed]);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn form_encoded_bodies_are_understood() {
    let (fake, bot) = fake_and_bot().await;
    let url = format!("{}bot{}/sendMessage", fake.api_url(), FakeTelegram::TOKEN);
    let keyboard = json!({"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}).to_string();
    let body = format!(
        "chat_id=5&text=Bonjour%20%C3%A0%20tous&reply_markup={}",
        keyboard.bytes().map(|b| format!("%{b:02X}")).collect::<String>()
    );
    let answer: Value = bot
        .client()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("fake reachable")
        .json()
        .await
        .expect("JSON");
    assert_eq!(answer["ok"], json!(true), "{answer}");
    let sent = fake.messages_to(5);
    assert_eq!(sent[0].text, "Bonjour à tous");
    assert_eq!(sent[0].buttons, vec![vec![("OK".to_owned(), "ok".to_owned())]]);
}

#[tokio::test]
async fn get_me_and_message_ids_look_like_telegram() {
    let (fake, bot) = fake_and_bot().await;
    let me = bot.get_me().await.expect("getMe parses");
    assert_eq!(me.username(), essaim_telegram::fake::BOT_USERNAME);
    let first = bot.send_message(teloxide::types::ChatId(9), "un").await.expect("sent");
    let second = bot.send_message(teloxide::types::ChatId(9), "deux").await.expect("sent");
    let elsewhere = bot.send_message(teloxide::types::ChatId(-100), "trois").await.expect("sent");
    assert_eq!(second.id.0, first.id.0 + 1, "ids increase per chat");
    assert_eq!(elsewhere.id.0, 1);
    assert_eq!(first.from.map(|u| u.is_bot), Some(true));
    assert_eq!(fake.sent().len(), 3);
}

#[test]
fn a_spawned_fake_serves_tests_without_a_runtime() {
    let fake = FakeTelegram::spawn();
    let id = fake.push_command(1, 1, "/start");
    assert_eq!(fake.pending_updates(), 1);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let bot = common::bot_for(&fake);
    let updates = runtime.block_on(async { bot.get_updates().await }).expect("getUpdates");
    assert_eq!(updates.len(), 1);
    assert_eq!(i64::from(updates[0].id.0), id);
}
