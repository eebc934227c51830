//! Shared by the integration tests: real interaction JSON, and a serenity client pointed at a
//! fresh fake Discord.

#![allow(dead_code)]

use std::sync::Arc;

use essaim_discord::DiscordConfig;
use essaim_discord::fake::FakeDiscord;
use serde_json::{Value, json};
use serenity::http::Http;

pub const CHANNEL: u64 = 1_100_000_000_000_000_042;
pub const USER: u64 = 1_000_000_000_000_000_007;

pub async fn fake_and_http() -> (FakeDiscord, Arc<Http>) {
    let fake = FakeDiscord::start().await;
    let http = http_for(&fake);
    (fake, http)
}

pub fn http_for(fake: &FakeDiscord) -> Arc<Http> {
    let config = DiscordConfig {
        token: FakeDiscord::TOKEN.into(),
        application_id: FakeDiscord::APPLICATION_ID,
        public_key: String::new(),
        api_url: Some(fake.api_url()),
    };
    essaim_discord::http(&config).expect("a client for the fake")
}

fn user() -> Value {
    json!({ "id": USER.to_string(), "username": "camille", "discriminator": "0", "global_name": "Camille", "avatar": null })
}

fn member() -> Value {
    json!({
        "user": user(), "nick": "Camille (Coop Nord)", "roles": [], "joined_at": "2025-01-01T00:00:00.000000+00:00",
        "deaf": false, "mute": false, "flags": 0, "pending": false, "permissions": "0",
    })
}

fn base(kind: u8, id: u64, locale: &str) -> Value {
    json!({
        "id": id.to_string(),
        "application_id": FakeDiscord::APPLICATION_ID.to_string(),
        "type": kind,
        "guild_id": "1200000000000000001",
        "channel_id": CHANNEL.to_string(),
        "member": member(),
        "token": format!("itoken-{id}"),
        "version": 1,
        "locale": locale,
        "guild_locale": "fr",
        "app_permissions": "0",
        "entitlements": [],
        "authorizing_integration_owners": { "0": "1200000000000000001" },
        "context": 0,
        "attachment_size_limit": 10485760,
    })
}

/// `/name` with `options` (`[{"name", "type", "value"}]`) as Discord sends it, in a server.
pub fn command(id: u64, name: &str, options: Value, locale: &str) -> Value {
    let mut json = base(2, id, locale);
    json["data"] = json!({ "id": "1300000000000000099", "name": name, "type": 1, "options": options });
    json
}

/// A press on the button `custom_id` under the bot message `message_id`.
pub fn button(id: u64, custom_id: &str, message_id: u64) -> Value {
    let mut json = base(3, id, "fr");
    json["message"] = json!({
        "id": message_id.to_string(), "channel_id": CHANNEL.to_string(),
        "author": { "id": "900000000000000001", "username": "essaim-fake", "discriminator": "0000", "avatar": null, "bot": true },
        "content": "Lot 3", "timestamp": "2026-03-02T09:00:00.000000+00:00", "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
        "embeds": [], "pinned": false, "type": 0, "flags": 0,
        "components": [{ "type": 1, "components": [{ "type": 2, "style": 3, "label": "Accepter", "custom_id": custom_id }] }],
    });
    json["data"] = json!({ "custom_id": custom_id, "component_type": 2 });
    json
}

/// The submission of the quantity form of the button `custom_id`.
pub fn modal(id: u64, custom_id: &str, value: &str) -> Value {
    let mut json = base(5, id, "en-US");
    json["data"] = json!({
        "custom_id": custom_id,
        "components": [{ "type": 1, "components": [{ "type": 4, "custom_id": "quantity", "value": value }] }],
    });
    json
}

pub fn ping() -> Value {
    json!({ "id": "1400000000000000001", "application_id": FakeDiscord::APPLICATION_ID.to_string(), "type": 1, "token": "ptoken", "version": 1 })
}
