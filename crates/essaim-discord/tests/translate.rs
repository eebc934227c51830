//! translate() on interaction JSON as Discord sends it.

mod common;

use common::{CHANNEL, USER, button, command, modal, ping};
use essaim_chat::{Incoming, IncomingKind, Platform};
use serde_json::{Value, json};
use serenity::model::application::Interaction;

fn translate(json: Value) -> Option<Incoming> {
    let interaction: Interaction = serde_json::from_value(json).expect("serenity reads the interaction");
    essaim_discord::translate(&interaction)
}

#[test]
fn slash_command_options_come_in_declared_order_as_plain_strings() {
    // Discord lists options in the order the user filled them; the engine wants the declared order.
    let options = json!([
        { "name": "quantity", "type": 10, "value": 12.0 },
        { "name": "sector", "type": 3, "value": "nettoyage" },
    ]);
    let incoming = translate(command(1_500_000_000_000_000_001, "capacity", options, "fr")).expect("a command");
    assert_eq!(
        incoming,
        Incoming {
            platform: Platform::Discord,
            update_id: "1500000000000000001".into(),
            user_id: USER.to_string(),
            chat_id: CHANNEL.to_string(),
            user_name: Some("Camille (Coop Nord)".into()),
            language: Some("fr".into()),
            chat: essaim_chat::ChatKind::Shared { private_notice: true },
            kind: IncomingKind::Command { name: "capacity".into(), args: vec!["nettoyage".into(), "12".into()] },
        }
    );
    let half = json!([{ "name": "sector", "type": 3, "value": "espaces verts" }, { "name": "quantity", "type": 10, "value": 12.5 }]);
    let incoming = translate(command(2, "capacite", half, "en-US")).expect("a command");
    assert_eq!(
        incoming.kind,
        IncomingKind::Command { name: "capacite".into(), args: vec!["espaces verts".into(), "12.5".into()] }
    );
    assert_eq!(incoming.language.as_deref(), Some("en-US"));
}

#[test]
fn command_without_options_and_with_a_reference() {
    let incoming = translate(command(3, "aide", json!([]), "fr")).expect("a command");
    assert_eq!(incoming.kind, IncomingKind::Command { name: "aide".into(), args: vec![] });
    let options = json!([{ "name": "ref", "type": 3, "value": "T-2026-014" }]);
    let incoming = translate(command(4, "allocate", options, "fr")).expect("a command");
    assert_eq!(incoming.kind, IncomingKind::Command { name: "allocate".into(), args: vec!["T-2026-014".into()] });
}

#[test]
fn button_press_carries_its_data_and_message() {
    let incoming = translate(button(5, "ok:9:T-2026-014", 1_300_000_000_000_000_777)).expect("a button");
    assert_eq!(
        incoming.kind,
        IncomingKind::Button { data: "ok:9:T-2026-014".into(), message_id: Some("1300000000000000777".into()) }
    );
    assert_eq!(incoming.update_id, "5");
    assert_eq!(incoming.chat_id, CHANNEL.to_string());
    // A button that asks for a quantity asks the engine whether its form may open.
    let incoming = translate(button(6, "q|pt:9:T-2026-014", 8)).expect("a button");
    assert_eq!(incoming.kind, IncomingKind::OpenForm { data: "pt:9:T-2026-014".into() });
}

#[test]
fn modal_submission_is_a_form_with_the_typed_value() {
    let incoming = translate(modal(7, "pt:9:T-2026-014", "12,5")).expect("a form");
    assert_eq!(incoming.kind, IncomingKind::Form { data: "pt:9:T-2026-014".into(), value: "12,5".into() });
    assert_eq!(incoming.language.as_deref(), Some("en-US"));
    assert_eq!(incoming.user_id, USER.to_string());
}

#[test]
fn ping_is_not_for_the_engine() {
    assert_eq!(translate(ping()), None);
}

#[test]
fn direct_message_uses_the_user() {
    let mut json = command(8, "lots", json!([]), "fr");
    let user = json["member"]["user"].clone();
    json.as_object_mut().map(|o| o.remove("member"));
    json.as_object_mut().map(|o| o.remove("guild_id"));
    json["user"] = user;
    let incoming = translate(json).expect("a command");
    assert_eq!(incoming.user_id, USER.to_string());
    assert_eq!(incoming.user_name.as_deref(), Some("Camille"));
    assert_eq!(incoming.chat, essaim_chat::ChatKind::Private, "a DM is read by the user and the bot only");
}
