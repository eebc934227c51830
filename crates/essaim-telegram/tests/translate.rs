//! Telegram update JSON (as the Bot API sends it) -> what the engine receives.

use essaim_chat::{IncomingKind, Platform};
use essaim_telegram::{Translated, translate};
use serde_json::{Value, json};
use teloxide::types::{Update, UpdateKind};

/// Parsed from text, as the Bot API answer is (teloxide's `Update` cannot be read from a
/// `serde_json::Value`: it needs borrowed keys).
fn update(json: Value) -> Update {
    serde_json::from_str(&json.to_string()).expect("valid update JSON")
}

fn amina() -> Value {
    json!({"id": 111, "is_bot": false, "first_name": "Amina", "last_name": "Diallo",
           "username": "amina_d", "language_code": "fr"})
}

fn text_message(update_id: u32, chat: Value, from: Value, text: &str) -> Update {
    update(json!({"update_id": update_id, "message": {
        "message_id": 12, "from": from, "chat": chat, "date": 1_760_000_000, "text": text,
        "entities": [{"offset": 0, "length": 6, "type": "bot_command"}]}}))
}

fn private_chat() -> Value {
    json!({"id": 111, "first_name": "Amina", "last_name": "Diallo", "username": "amina_d", "type": "private"})
}

#[test]
fn command_with_bot_suffix_and_arguments() {
    let got = translate(&text_message(123_456_789, private_chat(), amina(), "/Start@essaim_bot INV-42   extra"))
        .expect("a command is for the engine");
    assert_eq!(got.callback_query_id, None);
    let incoming = got.incoming;
    assert_eq!(incoming.platform, Platform::Telegram);
    assert_eq!(incoming.update_id, "123456789");
    assert_eq!(incoming.user_id, "111");
    assert_eq!(incoming.chat_id, "111");
    assert_eq!(incoming.user_name.as_deref(), Some("Amina Diallo"));
    assert_eq!(incoming.language.as_deref(), Some("fr"));
    assert_eq!(
        incoming.kind,
        IncomingKind::Command { name: "start".into(), args: vec!["INV-42".into(), "extra".into()] }
    );
}

#[test]
fn french_command_in_a_group_answers_in_the_group() {
    let group = json!({"id": -1_001_234_567_890_i64, "title": "Réseau IAE Lyon", "type": "supergroup"});
    let from = json!({"id": 222, "is_bot": false, "first_name": "", "username": "esat_rhone"});
    let got = translate(&text_message(7, group, from, "/capacite@essaim_bot nettoyage 120")).expect("command");
    assert_eq!(got.incoming.chat_id, "-1001234567890");
    assert_eq!(got.incoming.user_id, "222");
    assert_eq!(got.incoming.user_name.as_deref(), Some("esat_rhone"));
    assert_eq!(got.incoming.language, None);
    assert_eq!(
        got.incoming.kind,
        IncomingKind::Command { name: "capacite".into(), args: vec!["nettoyage".into(), "120".into()] }
    );
}

#[test]
fn plain_text_is_text() {
    let got = translate(&text_message(8, private_chat(), amina(), "12,5")).expect("text");
    assert_eq!(got.incoming.kind, IncomingKind::Text("12,5".into()));
}

#[test]
fn button_press_comes_from_the_presser_in_the_message_chat() {
    let got = translate(&update(json!({"update_id": 9, "callback_query": {
        "id": "4382bfdwdsb323b2d9",
        "from": amina(),
        "message": {"message_id": 77, "date": 1_760_000_000,
                    "from": {"id": 7_000_000_001_i64, "is_bot": true, "first_name": "Essaim", "username": "essaim_bot"},
                    "chat": {"id": -100_555, "title": "Réseau", "type": "supergroup"},
                    "text": "Lot 3 : 40 h de nettoyage",
                    "reply_markup": {"inline_keyboard": [[{"text": "Accepter", "callback_data": "offer:9:accept"}]]}},
        "chat_instance": "-123456",
        "data": "offer:9:accept"}})))
    .expect("a button press is for the engine");
    assert_eq!(got.callback_query_id.as_deref(), Some("4382bfdwdsb323b2d9"));
    assert_eq!(got.incoming.user_id, "111");
    assert_eq!(got.incoming.chat_id, "-100555");
    assert_eq!(
        got.incoming.kind,
        IncomingKind::Button { data: "offer:9:accept".into(), message_id: Some("77".into()) }
    );
}

#[test]
fn button_under_an_old_inaccessible_message_still_counts() {
    let got = translate(&update(json!({"update_id": 10, "callback_query": {
        "id": "cb-old", "from": amina(),
        "message": {"message_id": 5, "date": 0, "chat": private_chat()},
        "chat_instance": "1", "data": "offer:1:decline"}})))
    .expect("button");
    assert_eq!(
        got.incoming.kind,
        IncomingKind::Button { data: "offer:1:decline".into(), message_id: Some("5".into()) }
    );
    assert_eq!(got.incoming.chat_id, "111");
}

#[test]
fn shared_location() {
    let got = translate(&update(json!({"update_id": 11, "message": {
        "message_id": 13, "from": amina(), "chat": private_chat(), "date": 1_760_000_000,
        "location": {"latitude": 45.764, "longitude": 4.8357}}})))
    .expect("location");
    assert_eq!(got.incoming.kind, IncomingKind::Location { latitude: 45.764, longitude: 4.8357 });
}

#[test]
fn what_the_engine_does_not_handle_is_ignored() {
    let message = json!({"message_id": 14, "from": amina(), "chat": private_chat(),
                         "date": 1_760_000_000, "text": "/start ABC"});
    let mut edited = message.clone();
    edited["edit_date"] = json!(1_760_000_100);
    let sticker = json!({"message_id": 15, "from": amina(), "chat": private_chat(), "date": 1_760_000_000,
        "sticker": {"file_id": "f", "file_unique_id": "u", "type": "regular", "width": 512, "height": 512,
                    "is_animated": false, "is_video": false}});
    let channel = json!({"id": -100_777, "title": "Annonces", "type": "channel"});
    let from_bot = json!({"id": 999, "is_bot": true, "first_name": "Other", "username": "other_bot"});
    let cases = [
        json!({"update_id": 20, "edited_message": edited}),
        json!({"update_id": 21, "message": sticker}),
        json!({"update_id": 22, "channel_post": {"message_id": 1, "chat": channel, "date": 1_760_000_000,
                                                  "sender_chat": channel, "text": "/start"}}),
        json!({"update_id": 23, "message": {"message_id": 2, "from": from_bot, "chat": private_chat(),
                                             "date": 1_760_000_000, "text": "/start X"}}),
        // A button of an inline-mode message: no chat to answer in.
        json!({"update_id": 24, "callback_query": {"id": "cb", "from": amina(), "inline_message_id": "AAA",
                                                    "chat_instance": "1", "data": "x"}}),
        // A kind teloxide does not know.
        json!({"update_id": 25, "something_new": {"a": 1}}),
        // A message Telegram mangled.
        json!({"update_id": 26, "message": {"garbage": true}}),
    ];
    for (i, case) in cases.into_iter().enumerate() {
        let parsed = update(case.clone());
        // The first five are well-formed updates that teloxide understands.
        assert_eq!(i >= 5, matches!(parsed.kind, UpdateKind::Error(_)), "{case}");
        let got: Option<Translated> = translate(&parsed);
        assert_eq!(got, None, "{case}");
    }
}

#[test]
fn a_group_is_a_shared_chat_and_a_private_chat_is_not() {
    let private = translate(&text_message(1, private_chat(), amina(), "/start INV-42")).expect("a command");
    assert_eq!(private.incoming.chat, essaim_chat::ChatKind::Private);
    let group = json!({"id": -100_123, "title": "Groupement Nord", "type": "supergroup"});
    let shared = translate(&text_message(2, group, amina(), "/start INV-42")).expect("a command");
    let read_by_all = essaim_chat::ChatKind::Shared { private_notice: false };
    assert_eq!(shared.incoming.chat, read_by_all, "a group's members read it, and a command has no toast");
    assert_eq!(shared.incoming.chat_id, "-100123");
}
