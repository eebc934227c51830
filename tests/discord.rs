//! The same campaign played twice against the real `essaim serve`: once with every structure on
//! Telegram, once with half of them on Discord (slash commands, buttons and the quantity form sent
//! to the signed HTTP interactions endpoint, messages posted through the fake Discord REST API). Both
//! end in the same state. Forged interactions are refused with 401 and change nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use ed25519_dalek::{Signer, SigningKey};
use essaim_discord::fake::FakeDiscord;
use essaim_store::testing::with_each_database_url;
use serde_json::{Value, json};

use crate::support::{Bench, FACILITATOR, TENDER, WAIT, http, launched_offers, offers};

const KEY_SEED: [u8; 32] = [7; 32];

fn public_key_hex() -> String {
    SigningKey::from_bytes(&KEY_SEED).verifying_key().as_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn discord_user(i: usize) -> u64 {
    1_000_000_000_000_000_100 + i as u64
}

fn discord_channel(i: usize) -> u64 {
    1_100_000_000_000_000_100 + i as u64
}

fn interaction(kind: u8, id: u64, user: u64, channel: u64) -> Value {
    json!({
        "id": id.to_string(), "application_id": FakeDiscord::APPLICATION_ID.to_string(), "type": kind,
        "channel_id": channel.to_string(),
        "user": { "id": user.to_string(), "username": format!("u{user}"), "discriminator": "0", "global_name": null, "avatar": null },
        "token": format!("itoken-{id}"), "version": 1, "locale": "fr", "app_permissions": "0", "entitlements": [],
        "authorizing_integration_owners": { "1": user.to_string() }, "context": 1, "attachment_size_limit": 10485760,
    })
}

fn slash(id: u64, user: u64, channel: u64, name: &str, options: Value) -> Value {
    let mut json = interaction(2, id, user, channel);
    json["data"] = json!({ "id": "1300000000000000099", "name": name, "type": 1, "options": options });
    json
}

fn press(id: u64, user: u64, channel: u64, custom_id: &str, message_id: &str) -> Value {
    let mut json = interaction(3, id, user, channel);
    json["message"] = json!({
        "id": message_id, "channel_id": channel.to_string(),
        "author": { "id": "900000000000000001", "username": "essaim-fake", "discriminator": "0000", "avatar": null, "bot": true },
        "content": "offre", "timestamp": "2026-12-01T09:00:00.000000+00:00", "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
        "embeds": [], "pinned": false, "type": 0, "flags": 0, "components": [],
    });
    json["data"] = json!({ "custom_id": custom_id, "component_type": 2 });
    json
}

fn form(id: u64, user: u64, channel: u64, custom_id: &str, value: &str) -> Value {
    let mut json = interaction(5, id, user, channel);
    json["data"] = json!({
        "custom_id": custom_id,
        "components": [{ "type": 1, "components": [{ "type": 4, "custom_id": "quantity", "value": value }] }],
    });
    json
}

/// POSTs an interaction signed with the test key (or as given); returns (status, body).
async fn post_signed(addr: &str, body: &Value, timestamp: Option<String>, tamper: bool) -> (u16, String) {
    let body = body.to_string();
    let timestamp = timestamp.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0).to_string()
    });
    let signature: String = SigningKey::from_bytes(&KEY_SEED)
        .sign(format!("{timestamp}{body}").as_bytes())
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let sent = if tamper { body.replacen("fr", "en", 1) } else { body };
    let headers = [("X-Signature-Ed25519", signature.as_str()), ("X-Signature-Timestamp", timestamp.as_str())];
    http(addr, "POST", "/discord/interactions", &headers, &sent).await
}

/// One offer as a phone shows it, whatever the platform.
#[derive(Debug, Clone)]
struct OfferOnPhone {
    offer: u32,
    accept: String,
    decline: String,
    part: String,
    /// Telegram: (chat, message id); Discord: (supplier index, message id).
    telegram: Option<(i64, i64)>,
    discord: Option<(usize, String)>,
}

fn offer_number(data: &str) -> u32 {
    data.trim_start_matches("q|").split(':').nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
}

struct Mixed {
    bench: Bench,
    discord: FakeDiscord,
    addr: String,
    next_interaction: u64,
    /// Discord channel -> supplier index.
    on_discord: BTreeMap<u64, usize>,
}

impl Mixed {
    fn start(&mut self) {
        let (api_url, key, app) = (self.discord.api_url(), public_key_hex(), FakeDiscord::APPLICATION_ID.to_string());
        self.bench.start_with(&[
            ("ESSAIM_DISCORD_TOKEN", FakeDiscord::TOKEN),
            ("ESSAIM_DISCORD__API_URL", &api_url),
            ("ESSAIM_DISCORD__APPLICATION_ID", &app),
            ("ESSAIM_DISCORD__PUBLIC_KEY", &key),
        ]);
    }

    fn offers(&self) -> Vec<OfferOnPhone> {
        let mut all = Vec::new();
        for m in offers(&self.bench.fake.sent()) {
            let find = |label: &str| {
                m.buttons.iter().flatten().find(|(l, _)| l == label).map(|(_, d)| d.clone()).unwrap_or_default()
            };
            all.push(OfferOnPhone {
                offer: offer_number(&find("Accepter")),
                accept: find("Accepter"),
                decline: find("Refuser"),
                part: find("Accepter une partie"),
                telegram: Some((m.chat_id, m.message_id)),
                discord: None,
            });
        }
        for p in self.discord.posts() {
            if p.buttons.is_empty() {
                continue;
            }
            let find = |label: &str| {
                p.buttons.iter().flatten().find(|(l, _)| l == label).map(|(_, d)| d.clone()).unwrap_or_default()
            };
            let channel: u64 = p.channel_id.parse().unwrap_or_default();
            all.push(OfferOnPhone {
                offer: offer_number(&find("Accepter")),
                accept: find("Accepter"),
                decline: find("Refuser"),
                part: find("Accepter une partie"),
                telegram: None,
                discord: self.on_discord.get(&channel).map(|i| (*i, p.id.clone())),
            });
        }
        all.sort_by_key(|o| o.offer);
        all.dedup_by_key(|o| o.offer);
        all
    }

    async fn discord_send(&mut self, i: usize, make: impl Fn(u64, u64, u64) -> Value) -> (u16, String) {
        self.next_interaction += 1;
        let body = make(1_400_000_000_000_000_000 + self.next_interaction, discord_user(i), discord_channel(i));
        post_signed(&self.addr, &body, None, false).await
    }

    /// Presses `label` on an offer, on whichever platform it was sent.
    async fn press(&mut self, o: &OfferOnPhone, data: &str) {
        if let Some((chat, message)) = o.telegram {
            self.bench.fake.push_button(chat, chat, data, message);
        } else if let Some((i, message)) = o.discord.clone() {
            let (status, _) = self.discord_send(i, |id, u, c| press(id, u, c, data, &message)).await;
            assert_eq!(status, 200);
        }
    }
}

/// Starts `essaim serve` with both bots and links the facilitator (Telegram) and every member: on
/// Discord when `on_discord(index)`, else on Telegram.
async fn linked(url: &str, on_discord: impl Fn(usize) -> bool) -> Mixed {
    let bench = Bench::new(url).await;
    let discord = FakeDiscord::start().await;
    let mut m = Mixed { bench, discord, addr: String::new(), next_interaction: 0, on_discord: BTreeMap::new() };
    m.start();
    m.addr = m.bench.listening_on().await;
    let code = m.bench.invite(&["--facilitator"]);
    m.bench.fake.push_command(FACILITATOR, FACILITATOR, &format!("/start {code}"));
    let store = m.bench.store().await;
    let reference = essaim_core::TenderRef::parse("ref", TENDER).expect("ref");
    let tender = store.tender(&reference).await.expect("read").expect("tender");
    let members = store.eligible_suppliers(&tender).await.expect("suppliers").expect("groupement");
    for (i, s) in members.iter().enumerate() {
        let code = format!("SUP-{i}");
        store.create_invite(&code, essaim_core::Role::Supplier, Some(&s.siret), None).await.expect("invite");
        if on_discord(i) {
            m.on_discord.insert(discord_channel(i), i);
            let options = json!([{ "name": "code", "type": 3, "value": code }]);
            let (status, body) = m.discord_send(i, |id, u, c| slash(id, u, c, "start", options.clone())).await;
            assert_eq!(status, 200, "{body}\n{}", m.bench.log());
        } else {
            m.bench.fake.push_command(100 + i as i64, 100 + i as i64, &format!("/start {code}"));
        }
    }
    store.close().await;
    m.bench.wait("links", WAIT, |f| f.pending_updates() == 0).await;
    let (d, n) = (m.discord.clone(), m.on_discord.len());
    assert!(d.wait_until(WAIT, |f| f.posts().iter().filter(|p| p.content.starts_with("Bienvenue")).count() == n).await);
    m
}

/// Plays the script: link (members with an even index on Discord when `mixed`), launch, decline
/// offer 2, accept part of offer 3 (its min), accept everything else until ready. Returns `/etat`.
async fn play(url: &str, mixed: bool) -> String {
    let mut m = linked(url, |i| mixed && i % 2 == 0).await;
    m.bench.fake.push_command(FACILITATOR, FACILITATOR, &format!("/repartir {TENDER}"));
    m.bench.wait("launch", WAIT, |f| f.messages_to(FACILITATOR).iter().any(|x| x.text.contains("lancée"))).await;
    let summary =
        m.bench.fake.messages_to(FACILITATOR).into_iter().find(|x| x.text.contains("lancée")).expect("summary");
    let count = launched_offers(&summary.text);
    for _ in 0..300 {
        if m.offers().len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(m.offers().len(), count, "every offer reached a phone");

    let mut answered = std::collections::BTreeSet::new();
    for _round in 0..10 {
        let open: Vec<OfferOnPhone> = m.offers().into_iter().filter(|o| !answered.contains(&o.offer)).collect();
        if open.is_empty() {
            break;
        }
        for o in open {
            answered.insert(o.offer);
            match o.offer {
                2 => {
                    let decline = o.decline.clone();
                    m.press(&o, &decline).await;
                }
                3 => {
                    let part = o.part.clone();
                    if let Some((i, message)) = o.discord.clone() {
                        // Discord: the button opens the quantity form; its submission answers.
                        let (status, body) = m.discord_send(i, |id, u, c| press(id, u, c, &part, &message)).await;
                        assert_eq!(status, 200);
                        let answer: Value = serde_json::from_str(&body).expect("JSON answer");
                        assert_eq!(answer["type"], 9, "a modal: {body}");
                        let custom_id = answer["data"]["custom_id"].as_str().expect("form id").to_owned();
                        let min = min_of(&m, &o).await;
                        let (status, _) = m.discord_send(i, |id, u, c| form(id, u, c, &custom_id, &min)).await;
                        assert_eq!(status, 200);
                    } else {
                        let (chat, _) = o.telegram.expect("on Telegram");
                        m.press(&o, &part).await;
                        m.bench
                            .wait("the question", WAIT, |f| {
                                f.messages_to(chat).iter().any(|x| x.text.contains("Combien"))
                            })
                            .await;
                        let min = min_of(&m, &o).await;
                        m.bench.fake.push_text(chat, chat, &min);
                    }
                }
                _ => {
                    let accept = o.accept.clone();
                    m.press(&o, &accept).await;
                }
            }
        }
        m.bench.wait("answers", WAIT, |f| f.pending_updates() == 0).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    m.bench.wait("ready", WAIT, |f| f.messages_to(FACILITATOR).iter().any(|x| x.text.contains("terminée"))).await;
    m.bench.fake.push_command(FACILITATOR, FACILITATOR, &format!("/etat {TENDER}"));
    m.bench.wait("status", WAIT, |f| f.messages_to(FACILITATOR).iter().any(|x| x.text.starts_with("📊"))).await;
    let status =
        m.bench.fake.messages_to(FACILITATOR).into_iter().rfind(|x| x.text.starts_with("📊")).expect("status").text;
    if mixed {
        // Every Discord post carried a nonce with enforce_nonce, and none was posted twice.
        let posts = m.discord.posts();
        assert!(posts.iter().all(|p| p.nonce.is_some() && p.enforce_nonce));
        let mut nonces: Vec<_> = posts.iter().filter_map(|p| p.nonce.clone()).collect();
        let n = nonces.len();
        nonces.sort();
        nonces.dedup();
        assert_eq!(nonces.len(), n);
    }
    m.bench.stop();
    status
}

/// The min of an offer, as the quantity question states it (the offer's supplier min lot).
async fn min_of(m: &Mixed, o: &OfferOnPhone) -> String {
    let store = m.bench.store().await;
    let reference = essaim_core::TenderRef::parse("ref", TENDER).expect("ref");
    let log = store.campaign_log(&reference).await.expect("log");
    store.close().await;
    log.events
        .iter()
        .filter(|e| e.kind == "offers_made")
        .flat_map(|e| e.payload["offers"].as_array().cloned().unwrap_or_default())
        .find(|x| x["id"].as_u64() == Some(u64::from(o.offer)))
        .and_then(|x| x["min_quantity"].as_f64())
        .map(|q| format!("{q}"))
        .expect("offer in the log")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_mixing_telegram_and_discord_ends_as_on_telegram_alone() {
    // All on Telegram, then mixed, each on fresh databases of every backend.
    let statuses = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    for mixed in [false, true] {
        let statuses = statuses.clone();
        with_each_database_url(move |_backend, url| {
            let statuses = statuses.clone();
            async move {
                let status = play(&url, mixed).await;
                statuses.lock().map_err(|e| e.to_string())?.push(status);
                Ok::<(), String>(())
            }
        })
        .await;
    }
    let statuses = statuses.lock().expect("statuses").clone();
    assert!(statuses.first().is_some_and(|s| s.contains("campagne terminée")), "{statuses:?}");
    assert!(
        statuses.windows(2).all(|w| w[0] == w[1]),
        "the campaign ended differently:\n{}",
        statuses.join("\n----\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_interactions_are_refused_and_change_nothing() {
    with_each_database_url(|_backend, url| async move {
        let mut bench = Bench::new(&url).await;
        let discord = FakeDiscord::start().await;
        let (api_url, key, app) = (discord.api_url(), public_key_hex(), FakeDiscord::APPLICATION_ID.to_string());
        bench.start_with(&[
            ("ESSAIM_DISCORD_TOKEN", FakeDiscord::TOKEN),
            ("ESSAIM_DISCORD__API_URL", &api_url),
            ("ESSAIM_DISCORD__APPLICATION_ID", &app),
            ("ESSAIM_DISCORD__PUBLIC_KEY", &key),
        ]);
        let addr = bench.listening_on().await;
        let help = slash(1_500_000_000_000_000_001, discord_user(0), discord_channel(0), "help", json!([]));
        let old =
            (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
                - 600)
                .to_string();
        assert_eq!(post_signed(&addr, &help, Some(old), false).await.0, 401, "a stale timestamp");
        assert_eq!(post_signed(&addr, &help, None, true).await.0, 401, "an altered body");
        let ping = json!({ "id": "1", "application_id": app, "type": 1, "token": "t", "version": 1 });
        let (status, body) = post_signed(&addr, &ping, None, false).await;
        assert_eq!((status, body.contains("\"type\":1")), (200, true), "{body}");
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert!(discord.posts().is_empty(), "nothing was answered to a forged request");
        let (status, body) = post_signed(&addr, &help, None, false).await;
        assert_eq!(status, 200, "{body}\n{}", bench.log());
        assert!(discord.wait_until(WAIT, |f| f.posts().iter().any(|p| p.content.contains("/start"))).await);
        // The same interaction delivered again (same id) is acknowledged and changes nothing.
        let (status, _) = post_signed(&addr, &help, None, false).await;
        assert_eq!(status, 200);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(discord.posts().iter().filter(|p| p.content.contains("/start")).count(), 1, "answered once");
        // The slash commands were registered, with their French names.
        assert!(discord.wait_until(WAIT, |f| f.commands().is_some()).await);
        let commands = discord.commands().map(|c| c.to_string()).unwrap_or_default();
        assert!(commands.contains("repartir") && commands.contains("mes_lots"), "{commands}");
        bench.stop();
        assert!(!bench.log().contains(FakeDiscord::TOKEN), "the Discord token leaked into the log");
        Ok::<(), String>(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_serve_while_it_posts_to_discord_never_posts_twice() {
    use rand::{Rng, SeedableRng};
    with_each_database_url(|_backend, url| async move {
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let mut m = linked(&url, |_| true).await;
        // Discord answers each post 300 ms after recording it: a kill in that window leaves a message
        // posted but not marked sent, which the next process sends again (same nonce).
        m.discord.set_post_delay(Duration::from_millis(300));
        m.bench.fake.push_command(FACILITATOR, FACILITATOR, &format!("/repartir {TENDER}"));
        let retried =
            |d: &FakeDiscord| d.calls().iter().filter(|c| c.starts_with("POST /channels/")).count() > d.posts().len();
        let mut kills = 0;
        while kills < 4 || (!retried(&m.discord) && kills < 20) {
            tokio::time::sleep(Duration::from_millis(rng.random_range(100..700))).await;
            m.bench.kill();
            kills += 1;
            m.start();
        }
        m.addr = m.bench.listening_on().await;
        let store = m.bench.store().await;
        for _ in 0..600 {
            let outbox = store.outbox().await.expect("outbox");
            if outbox.iter().all(|r| r.status == essaim_store::OutboxStatus::Sent)
                && m.bench.fake.pending_updates() == 0
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let outbox = store.outbox().await.expect("outbox");
        assert!(outbox.iter().all(|r| r.status == essaim_store::OutboxStatus::Sent), "{}", m.bench.log());
        let to_discord: Vec<_> =
            outbox.iter().filter(|r| r.platform == "discord" && r.payload["edit_message_id"].is_null()).collect();
        let posts = m.discord.posts();
        let attempts = m.discord.calls().iter().filter(|c| c.starts_with("POST /channels/")).count();
        eprintln!("{} Discord posts from {attempts} POST attempts across {kills} kills", posts.len());
        assert!(attempts > posts.len(), "no post was retried after a kill: the test proved nothing");
        assert_eq!(posts.len(), to_discord.len(), "each queued Discord message posted exactly once");
        for row in &to_discord {
            let text = row.payload["text"].as_str().unwrap_or_default();
            let same = posts.iter().filter(|p| p.channel_id == row.chat_id && p.content == text).count();
            assert_eq!(same, 1, "« {text} » posted {same} times in {}", row.chat_id);
        }
        store.close().await;
        m.bench.stop();
        Ok::<(), String>(())
    })
    .await;
}
