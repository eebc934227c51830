//! The sender against the fake Bot API, through the real teloxide client.

mod common;

use std::time::{Duration, Instant};

use essaim_chat::{Button, Document, Outgoing, Platform, SendOutcome, Sender};
use essaim_telegram::TelegramSender;
use essaim_telegram::fake::{FakeError, FakeTelegram};

use common::{bot_for, fake_and_bot};

const CHAT: i64 = 4242;

fn button(label: &str, data: &str) -> Button {
    Button { label: label.into(), data: data.into(), asks_quantity: false }
}

fn offer() -> Outgoing {
    Outgoing::text(Platform::Telegram, CHAT.to_string(), "Lot 3 : 40 h de nettoyage à Villeurbanne").with_buttons(vec![
        vec![button("Accepter", "offer:9:accept"), button("Refuser", "offer:9:decline")],
        vec![Button { asks_quantity: true, ..button("Accepter une partie", "offer:9:part") }],
    ])
}

fn sent_id(outcome: &SendOutcome) -> i64 {
    match outcome {
        SendOutcome::Sent { message_id } => message_id.parse().expect("a Telegram message id"),
        other => panic!("expected Sent, got {other:?}"),
    }
}

fn pairs(rows: &[&[(&str, &str)]]) -> Vec<Vec<(String, String)>> {
    rows.iter().map(|row| row.iter().map(|(l, d)| (l.to_string(), d.to_string())).collect()).collect()
}

#[tokio::test]
async fn text_with_buttons_arrives_with_the_callback_data() {
    let (fake, bot) = fake_and_bot().await;
    let sender = TelegramSender::new(bot);
    let outcome = sender.send("k1", &offer()).await;
    let sent = fake.messages_to(CHAT);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "sendMessage");
    assert_eq!(sent[0].text, "Lot 3 : 40 h de nettoyage à Villeurbanne");
    assert_eq!(
        sent[0].buttons,
        pairs(&[
            &[("Accepter", "offer:9:accept"), ("Refuser", "offer:9:decline")],
            &[("Accepter une partie", "offer:9:part")]
        ])
    );
    assert_eq!(sent_id(&outcome), sent[0].message_id);
    assert_eq!(fake.tokens_used(), [FakeTelegram::TOKEN]);
}

#[tokio::test]
async fn edit_replaces_text_and_buttons_and_an_identical_edit_counts_as_sent() {
    let (fake, bot) = fake_and_bot().await;
    let sender = TelegramSender::new(bot);
    let id = sent_id(&sender.send("k1", &offer()).await);

    let mut answered = Outgoing::text(Platform::Telegram, CHAT.to_string(), "Lot 3 : accepté ✅");
    answered.edit_message_id = Some(id.to_string());
    let outcome = sender.send("k2", &answered).await;
    assert_eq!(sent_id(&outcome), id);
    let sent = fake.messages_to(CHAT);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].method, "editMessageText");
    assert_eq!(sent[1].message_id, id);
    assert_eq!(sent[1].text, "Lot 3 : accepté ✅");
    assert!(sent[1].buttons.is_empty(), "the offer buttons are gone");

    // Delivered twice (e.g. a retry after a crash): Telegram says « not modified », we say sent.
    let again = sender.send("k2", &answered).await;
    assert_eq!(sent_id(&again), id);
    assert_eq!(fake.messages_to(CHAT).len(), 2);

    // Editing with new buttons puts them under the message.
    let with_buttons = answered.clone().with_buttons(vec![vec![button("Annuler", "offer:9:undo")]]);
    assert_eq!(sent_id(&sender.send("k3", &with_buttons).await), id);
    assert_eq!(fake.messages_to(CHAT)[2].buttons, pairs(&[&[("Annuler", "offer:9:undo")]]));
}

#[tokio::test]
async fn editing_an_unknown_message_is_refused_for_good() {
    let (_fake, bot) = fake_and_bot().await;
    let sender = TelegramSender::new(bot);
    let mut edit = Outgoing::text(Platform::Telegram, CHAT.to_string(), "x");
    edit.edit_message_id = Some("999".into());
    assert_eq!(sender.send("k", &edit).await, SendOutcome::Permanent("Bad Request: message to edit not found".into()));
}

fn proposal(text: &str) -> Outgoing {
    let mut message = Outgoing::text(Platform::Telegram, CHAT.to_string(), text);
    message.document = Some(Document {
        file_name: "proposition-T-2026-001.html".into(),
        mime_type: "text/html".into(),
        content: "<h1>Proposition groupée</h1>".into(),
        base64: false,
    });
    message.with_buttons(vec![vec![button("Envoyer", "send:T-2026-001")]])
}

#[tokio::test]
async fn document_goes_with_its_caption_and_buttons() {
    let (fake, bot) = fake_and_bot().await;
    let sender = TelegramSender::new(bot);
    let outcome = sender.send("k", &proposal("Proposition pour T-2026-001")).await;
    let sent = fake.messages_to(CHAT);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "sendDocument");
    assert_eq!(sent[0].document_name.as_deref(), Some("proposition-T-2026-001.html"));
    assert_eq!(sent[0].document_content.as_deref(), Some("<h1>Proposition groupée</h1>".as_bytes()));
    assert_eq!(sent[0].text, "Proposition pour T-2026-001");
    assert_eq!(sent[0].buttons, pairs(&[&[("Envoyer", "send:T-2026-001")]]));
    assert_eq!(sent_id(&outcome), sent[0].message_id);
}

#[tokio::test]
async fn long_caption_goes_first_as_text_and_a_retry_does_not_repeat_it() {
    let (fake, bot) = fake_and_bot().await;
    let sender = TelegramSender::new(bot);
    let text = "Lot : 40 h de nettoyage, Villeurbanne.\n".repeat(40); // > 1024 characters
    fake.fail_next("sendDocument", FakeError::RetryAfter(3));

    let first = sender.send("proposal-1", &proposal(&text)).await;
    assert_eq!(first, SendOutcome::RetryAfter(Duration::from_secs(3)));
    let second = sender.send("proposal-1", &proposal(&text)).await;

    let sent = fake.messages_to(CHAT);
    let methods: Vec<&str> = sent.iter().map(|m| m.method.as_str()).collect();
    assert_eq!(methods, ["sendMessage", "sendDocument"], "the text is not sent twice");
    assert_eq!(sent[0].text.trim_end(), text.trim_end());
    assert!(sent[0].buttons.is_empty());
    assert_eq!(sent[1].text, "", "no caption");
    assert_eq!(sent[1].buttons, pairs(&[&[("Envoyer", "send:T-2026-001")]]));
    assert_eq!(sent_id(&second), sent[1].message_id);
}

#[tokio::test]
async fn long_text_is_split_on_lines_with_the_buttons_under_the_last_part() {
    let (fake, bot) = fake_and_bot().await;
    let sender = TelegramSender::new(bot);
    let lines: Vec<String> =
        (1..=150).map(|i| format!("SIAE n°{i} — Atelier d'insertion du Rhône : 12 h disponibles")).collect();
    let text = lines.join("\n");
    assert!((2 * 4096..3 * 4096).contains(&text.chars().count()));
    let message = Outgoing::text(Platform::Telegram, CHAT.to_string(), text.clone())
        .with_buttons(vec![vec![button("Répartir", "allocate:T-1")]]);

    let outcome = sender.send("k", &message).await;

    let sent = fake.messages_to(CHAT);
    assert_eq!(sent.len(), 3);
    for part in &sent {
        assert!(part.text.encode_utf16().count() <= 4096);
        for line in part.text.lines() {
            assert!(lines.iter().any(|l| l == line), "line cut in the middle: {line}");
        }
    }
    assert_eq!(sent.iter().map(|m| m.text.as_str()).collect::<Vec<_>>().join("\n"), text);
    assert!(sent[0].buttons.is_empty() && sent[1].buttons.is_empty());
    assert_eq!(sent[2].buttons, pairs(&[&[("Répartir", "allocate:T-1")]]));
    assert_eq!(sent_id(&outcome), sent[2].message_id);
    // One message per second in a chat.
    assert!(sent[1].at.duration_since(sent[0].at) >= Duration::from_secs(1));
    assert!(sent[2].at.duration_since(sent[1].at) >= Duration::from_secs(1));
}

#[tokio::test]
async fn flood_control_becomes_retry_after() {
    let (fake, bot) = fake_and_bot().await;
    fake.fail_next("sendMessage", FakeError::RetryAfter(7));
    let outcome = TelegramSender::new(bot).send("k", &offer()).await;
    assert_eq!(outcome, SendOutcome::RetryAfter(Duration::from_secs(7)));
    assert!(fake.sent().is_empty());
}

#[tokio::test]
async fn blocked_bot_and_unknown_chat_are_permanent() {
    let (fake, bot) = fake_and_bot().await;
    let sender = TelegramSender::new(bot);
    fake.fail_next("sendMessage", FakeError::BotBlocked);
    assert_eq!(
        sender.send("k", &offer()).await,
        SendOutcome::Permanent("Forbidden: bot was blocked by the user".into())
    );
    fake.fail_chat(CHAT, Some(FakeError::ChatNotFound));
    assert_eq!(sender.send("k", &offer()).await, SendOutcome::Permanent("Bad Request: chat not found".into()));
    fake.fail_chat(CHAT, None);
    assert!(matches!(sender.send("k", &offer()).await, SendOutcome::Sent { .. }));
}

#[tokio::test]
async fn telegram_server_error_is_transient() {
    // teloxide waits 10 s after a 5xx before reporting it.
    let (fake, bot) = fake_and_bot().await;
    fake.fail_next("sendMessage", FakeError::ServerError);
    let outcome = TelegramSender::new(bot).send("k", &offer()).await;
    assert_eq!(outcome, SendOutcome::Transient("Internal Server Error".into()));
}

#[tokio::test]
async fn unreachable_telegram_is_transient_and_the_token_is_not_shown() {
    let fake = FakeTelegram::start().await;
    let mut config = essaim_telegram::TelegramConfig::new("123:VERY-SECRET");
    // A port nobody listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    config.api_url = Some(format!("http://127.0.0.1:{port}/"));
    let bot = essaim_telegram::bot(&config).expect("bot");
    let outcome = TelegramSender::new(bot).send("k", &offer()).await;
    match outcome {
        SendOutcome::Transient(why) => assert!(!why.contains("VERY-SECRET"), "{why}"),
        other => panic!("expected Transient, got {other:?}"),
    }
    assert!(fake.sent().is_empty());
}

#[tokio::test]
async fn messages_not_for_telegram_are_refused() {
    let (fake, bot) = fake_and_bot().await;
    let sender = TelegramSender::new(bot);
    let discord = Outgoing::text(Platform::Discord, "4242", "hi");
    assert!(matches!(sender.send("k", &discord).await, SendOutcome::Permanent(_)));
    let bad_chat = Outgoing::text(Platform::Telegram, "@someone", "hi");
    assert!(matches!(sender.send("k", &bad_chat).await, SendOutcome::Permanent(_)));
    let mut bad_edit = Outgoing::text(Platform::Telegram, "4242", "hi");
    bad_edit.edit_message_id = Some("discord-123".into());
    assert!(matches!(sender.send("k", &bad_edit).await, SendOutcome::Permanent(_)));
    assert!(fake.sent().is_empty());
}

#[tokio::test]
async fn a_burst_stays_within_telegram_limits() {
    let (fake, bot) = fake_and_bot().await;
    fake.enforce_limits(true);
    let sender = TelegramSender::new(bot);
    let started = Instant::now();
    let mut tasks = Vec::new();
    // 3 messages to one chat and 40 to as many others, all at once.
    for i in 0..43_i64 {
        let sender = sender.clone();
        let chat = if i < 3 { 1 } else { 100 + i };
        tasks.push(tokio::spawn(async move {
            let message = Outgoing::text(Platform::Telegram, chat.to_string(), format!("message {i}"));
            sender.send(&format!("k{i}"), &message).await
        }));
    }
    for task in tasks {
        let outcome = task.await.expect("send task");
        assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    }
    assert_eq!(fake.limit_violations(), 0);
    assert_eq!(fake.sent().len(), 43);
    assert!(started.elapsed() >= Duration::from_secs(2), "one chat: one message a second");
}

#[tokio::test]
async fn the_fake_refuses_what_telegram_refuses() {
    let (fake, bot) = fake_and_bot().await;
    let sender = TelegramSender::new(bot);
    let too_long_data =
        Outgoing::text(Platform::Telegram, "1", "x").with_buttons(vec![vec![button("B", &"d".repeat(65))]]);
    assert_eq!(
        sender.send("k", &too_long_data).await,
        SendOutcome::Permanent("Bad Request: BUTTON_DATA_INVALID".into())
    );
    let empty = Outgoing::text(Platform::Telegram, "1", "  ");
    assert_eq!(sender.send("k", &empty).await, SendOutcome::Permanent("Bad Request: message text is empty".into()));
    assert!(fake.sent().is_empty());
    // Not the same bot: a second client is told apart by its token.
    let other = bot_for(&fake);
    assert!(matches!(TelegramSender::new(other).send("k", &offer()).await, SendOutcome::Sent { .. }));
}

#[tokio::test]
async fn the_command_menu_is_set_in_french_by_default_and_in_english() {
    let (fake, bot) = fake_and_bot().await;
    essaim_telegram::set_menus(&bot).await;
    let menus = fake.menus();
    let names = |code: &str| -> Vec<String> { menus[code].iter().map(|(n, _)| n.clone()).collect() };
    assert_eq!(menus.keys().cloned().collect::<Vec<_>>(), ["", "en"]);
    assert_eq!(names("").len(), essaim_chat::Command::ALL.len());
    assert!(names("").contains(&"repartir".to_owned()) && names("").contains(&"mes_lots".to_owned()));
    assert!(names("en").contains(&"allocate".to_owned()) && names("en").contains(&"invite_all".to_owned()));
    let status_fr = menus[""].iter().find(|(n, _)| n == "etat").map(|(_, d)| d.as_str());
    assert_eq!(status_fr, Some("Où en est un appel d'offres"));
    let status_en = menus["en"].iter().find(|(n, _)| n == "status").map(|(_, d)| d.as_str());
    assert_eq!(status_en, Some("Where a tender stands"));
}

#[tokio::test]
async fn a_refused_menu_leaves_the_bot_working() {
    let (fake, bot) = fake_and_bot().await;
    let refusal = FakeError::Api { code: 400, description: "Bad Request: BOT_COMMANDS_TOO_MUCH".into() };
    fake.fail_next("setMyCommands", refusal);
    essaim_telegram::set_menus(&bot).await;
    assert_eq!(fake.menus().keys().cloned().collect::<Vec<_>>(), ["en"], "the English one still set");
}
