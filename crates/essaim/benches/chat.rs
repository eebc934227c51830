//! Benchmark of the chat path, end to end through the real teloxide client against the fake Telegram
//! Bot API on loopback (with Telegram's limits enforced by the fake), on a SQLite file:
//!
//! 1. delivery: a burst of messages to many chats queued in the outbox, sent by the dispatcher
//!    under Telegram's limits: messages per second, and limit violations seen by the fake;
//! 2. press-to-answer latency: from a button press pushed to the fake until the callback answer
//!    reaches it (long polling, engine, database, `answerCallbackQuery`), p50 / p99, for presses that
//!    record an answer and for stale presses;
//! 3. fairness: the reply to an idle chat while another chat has 100 messages queued, p50 / p99;
//! 4. Discord HTTP interactions answered within Discord's 3 seconds;
//! 5. restart: a dispatcher killed with a message in flight, then a new run of the same instance: time
//!    until the message reaches the fake (without taking back its own claims, the lease: 60 s).
//!
//! `cargo bench -p essaim --bench chat` (add `-- --postgres URL` to run on PostgreSQL).

use std::sync::Arc;
use std::time::{Duration, Instant};

use essaim::config::Config;
use essaim_chat::{Dispatcher, Engine, Incoming, Limits, Outgoing, Platform, SendOutcome, Sender};
use essaim_store::{Changeset, NewOutgoing, Store};
use essaim_telegram::fake::FakeTelegram;
use essaim_telegram::{TelegramConfig, TelegramSender};
use tokio::sync::Notify;

const SUPPLIERS: &[u8] = include_bytes!("../../../data/suppliers.csv");
const TENDER: &str = include_str!("../../../data/tender.json");

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Waits for `done`, looking every millisecond (the fake's own helper looks every 10 ms, too coarse
/// for a latency figure). Returns the time waited, or `None` past `timeout`.
async fn answered_within(
    fake: &FakeTelegram,
    timeout: Duration,
    done: impl Fn(&FakeTelegram) -> bool,
) -> Option<Duration> {
    let started = Instant::now();
    while !done(fake) {
        if started.elapsed() > timeout {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Some(started.elapsed())
}

/// 50 concurrent signed slash commands (`/aide`, each from its own user) against the interactions
/// endpoint served on loopback by the same engine; time from sending the request to its answer.
async fn discord_interactions(engine: Engine) -> Result<(), Box<dyn std::error::Error>> {
    use ed25519_dalek::{Signer, SigningKey};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let key = SigningKey::from_bytes(&[9; 32]);
    let public_key: String = key.verifying_key().as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let fake = essaim_discord::fake::FakeDiscord::start().await;
    let http = essaim_discord::http(&essaim_discord::DiscordConfig {
        token: essaim_discord::fake::FakeDiscord::TOKEN.into(),
        application_id: essaim_discord::fake::FakeDiscord::APPLICATION_ID,
        public_key: public_key.clone(),
        api_url: Some(fake.api_url()),
    })?;
    let handler = move |incoming: Incoming| {
        let engine = engine.clone();
        async move { engine.handle(&incoming).await.map_err(|e| e.to_string()) }
    };
    let config = essaim_discord::InteractionsConfig::new(public_key, essaim_discord::fake::FakeDiscord::APPLICATION_ID);
    let router = essaim_discord::interactions_router(config, http, handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });

    let mut samples = Vec::new();
    for round in 0..4u64 {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..50u64 {
            let id = 1_600_000_000_000_000_000 + round * 100 + i;
            let user = 1_000_000_000_000_000_000 + i;
            let body = serde_json::json!({
                "id": id.to_string(), "application_id": essaim_discord::fake::FakeDiscord::APPLICATION_ID.to_string(),
                "type": 2, "channel_id": (1_100_000_000_000_000_000 + i).to_string(),
                "user": { "id": user.to_string(), "username": "u", "discriminator": "0", "global_name": null, "avatar": null },
                "token": format!("t{id}"), "version": 1, "locale": "fr", "app_permissions": "0", "entitlements": [],
                "authorizing_integration_owners": {}, "context": 1, "attachment_size_limit": 10485760,
                "data": { "id": "1", "name": "help", "type": 1 }
            })
            .to_string();
            let timestamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs().to_string();
            let signature: String = key
                .sign(format!("{timestamp}{body}").as_bytes())
                .to_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            tasks.spawn(async move {
                let started = Instant::now();
                let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
                let request = format!(
                    "POST /discord/interactions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                     Connection: close\r\nX-Signature-Ed25519: {signature}\r\nX-Signature-Timestamp: {timestamp}\r\n\
                     Content-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(request.as_bytes()).await.ok()?;
                let mut response = String::new();
                stream.read_to_string(&mut response).await.ok()?;
                response.starts_with("HTTP/1.1 200").then(|| started.elapsed())
            });
        }
        while let Some(joined) = tasks.join_next().await {
            samples.push(joined?.ok_or("an interaction was not answered 200")?);
        }
    }
    samples.sort();
    println!(
        "Discord interactions, 50 at once ×4 ({} signed requests): p50 {}, p99 {}, max {} (Discord's limit: 3 s)",
        samples.len(),
        ms(percentile(&samples, 50.0)),
        ms(percentile(&samples, 99.0)),
        ms(samples.last().copied().unwrap_or_default())
    );
    Ok(())
}

/// A sender whose sends never end: what a process killed mid-send leaves behind.
struct Hang(Arc<std::sync::atomic::AtomicUsize>);

impl Sender for Hang {
    async fn send(&self, _key: &str, _message: &Outgoing) -> SendOutcome {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::future::pending().await
    }
}

/// 10 times: a dispatcher of instance « bench » dies (its task dropped) while sending a message; a new
/// run of « bench » starts at once. Time from that start to the message reaching the fake Telegram.
async fn restart<S: Sender>(
    store: &Store,
    fake: &FakeTelegram,
    sender: impl Fn() -> S,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut samples = Vec::new();
    for i in 0..10i64 {
        let chat = 40_000 + i;
        let message = Outgoing::text(Platform::Telegram, chat.to_string(), "En vol au moment du crash");
        let outgoing = NewOutgoing {
            key: format!("restart:{i}"),
            platform: "telegram".into(),
            chat_id: chat.to_string(),
            payload: serde_json::to_value(&message)?,
        };
        store.apply(&Changeset { outbox: vec![outgoing], ..Changeset::default() }).await?;
        let sends = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let dying = Dispatcher::new(store.clone()).with_instance("bench").with_sender(
            Platform::Telegram,
            Hang(sends.clone()),
            Limits::telegram(),
        );
        let dying = tokio::spawn(dying.run(std::future::pending()));
        while sends.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        dying.abort();
        let _ = dying.await;

        let started = Instant::now();
        let restarted = Dispatcher::new(store.clone()).with_instance("bench").with_sender(
            Platform::Telegram,
            sender(),
            Limits::telegram(),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let restarted = tokio::spawn(restarted.run(async move {
            let _ = stopped.await;
        }));
        answered_within(fake, Duration::from_secs(90), |f| !f.messages_to(chat).is_empty())
            .await
            .ok_or("the in-flight message was not sent within 90 s of the restart")?;
        samples.push(started.elapsed());
        let _ = stop.send(());
        let _ = restarted.await;
    }
    samples.sort();
    println!(
        "restart with a message in flight ({} restarts, restart → message received): p50 {}, p99 {}, max {} (lease: 60 s)",
        samples.len(),
        ms(percentile(&samples, 50.0)),
        ms(percentile(&samples, 99.0)),
        ms(samples.last().copied().unwrap_or_default())
    );
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = tempfile::tempdir()?;
    let url = match args.iter().position(|a| a == "--postgres") {
        Some(i) => args.get(i + 1).cloned().ok_or("--postgres needs a URL")?,
        None => format!("sqlite://{}", dir.path().join("bench.db").display()),
    };
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    let config = Config::load_with_env(None, std::iter::empty())?;
    let taxonomy = config.taxonomy()?;
    let directory = essaim::import::read_directory("suppliers.csv", SUPPLIERS, &taxonomy);
    store.import_directory(&directory.suppliers, &directory.groupements).await?;
    let tender = essaim::import::read_tender("tender.json", TENDER, &taxonomy)?;
    store.replace_tender(&tender).await?;

    let fake = FakeTelegram::start().await;
    fake.enforce_limits(true);
    let mut telegram = TelegramConfig::new("123456:BENCH");
    telegram.api_url = Some(fake.api_url());
    telegram.poll_timeout = Duration::from_secs(1);
    let bot = essaim_telegram::bot(&telegram)?;
    let notify = Arc::new(Notify::new());
    let engine = Engine::new(store.clone(), config.engine_settings()?, notify.clone());
    let dispatcher = Dispatcher::new(store.clone()).with_notify(notify.clone()).with_sender(
        Platform::Telegram,
        TelegramSender::new(bot.clone()),
        Limits::telegram(),
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let dispatcher_task = tokio::spawn(dispatcher.run(stopped()));
    let restart_bot = bot.clone();
    let polling = tokio::spawn({
        let engine = engine.clone();
        let handler = move |incoming: Incoming| {
            let engine = engine.clone();
            async move { engine.handle(&incoming).await.map_err(|e| e.to_string()) }
        };
        essaim_telegram::run_polling(bot, telegram.poll_timeout, handler, stopped())
    });

    println!("essaim chat bench · {} · teloxide → fake Telegram on loopback, limits enforced", store.backend());

    // 1. Delivery rate under Telegram's limits: 300 messages to 100 chats (3 each).
    let burst = 300;
    let messages: Vec<NewOutgoing> = (0..burst)
        .map(|i| {
            let chat = 10_000 + (i % 100);
            let message = Outgoing::text(Platform::Telegram, chat.to_string(), format!("Message {i}"));
            NewOutgoing {
                key: format!("bench:{i}"),
                platform: "telegram".into(),
                chat_id: chat.to_string(),
                payload: serde_json::to_value(&message).unwrap_or_default(),
            }
        })
        .collect();
    let before = fake.sent().len();
    let started = Instant::now();
    store.apply(&Changeset { outbox: messages, ..Changeset::default() }).await?;
    notify.notify_one();
    if !fake.wait_until(Duration::from_secs(120), |f| f.sent().len() >= before + burst).await {
        return Err("the burst was not delivered within 120 s".into());
    }
    let elapsed = started.elapsed();
    println!(
        "delivery: {burst} messages to 100 chats in {:.2} s = {:.1} msg/s (limit 30/s overall, 1/s per chat); limit violations: {}",
        elapsed.as_secs_f64(),
        burst as f64 / elapsed.as_secs_f64(),
        fake.limit_violations()
    );

    // 2. Press-to-answer latency. Link a facilitator and every member, launch the campaign.
    store.create_invite("BENCH-FAC", essaim_core::Role::Facilitator, None, None).await?;
    fake.push_command(1, 1, "/start BENCH-FAC");
    let members = store.eligible_suppliers(&tender).await?.ok_or("groupement")?;
    for (i, s) in members.iter().enumerate() {
        let code = format!("BENCH-{i}");
        store.create_invite(&code, essaim_core::Role::Supplier, Some(&s.siret), None).await?;
        fake.push_command(100 + i as i64, 100 + i as i64, &format!("/start {code}"));
    }
    fake.push_command(1, 1, &format!("/repartir {}", tender.reference));
    let launched = |f: &FakeTelegram| f.messages_to(1).iter().any(|m| m.text.contains("lancée"));
    if !fake.wait_until(Duration::from_secs(60), launched).await {
        return Err("campaign not launched".into());
    }
    let offers_expected = fake
        .messages_to(1)
        .iter()
        .find_map(|m| {
            m.text.split("lancée : ").nth(1).and_then(|t| t.split(' ').next()).and_then(|n| n.parse::<usize>().ok())
        })
        .unwrap_or(0);
    let offers_sent = |f: &FakeTelegram| {
        f.sent().into_iter().filter(|m| m.method == "sendMessage" && !m.buttons.is_empty()).collect::<Vec<_>>()
    };
    fake.wait_until(Duration::from_secs(60), |f| offers_sent(f).len() >= offers_expected).await;
    let offers = offers_sent(&fake);

    let mut recorded = Vec::new();
    let mut stale = Vec::new();
    for round in 0..2 {
        for m in &offers {
            let Some((_, data)) = m.buttons.iter().flatten().find(|(label, _)| label == "Accepter") else { continue };
            let answers = fake.callback_answers().len();
            fake.push_button(m.chat_id, m.chat_id, data, m.message_id);
            let waited = answered_within(&fake, Duration::from_secs(30), |f| f.callback_answers().len() > answers)
                .await
                .ok_or("a press was not answered within 30 s")?;
            if round == 0 { recorded.push(waited) } else { stale.push(waited) }
        }
    }
    // More stale presses for a stable percentile.
    for _ in 0..4 {
        for m in &offers {
            let Some((_, data)) = m.buttons.iter().flatten().find(|(label, _)| label == "Refuser") else { continue };
            let answers = fake.callback_answers().len();
            fake.push_button(m.chat_id, m.chat_id, data, m.message_id);
            let waited = answered_within(&fake, Duration::from_secs(30), |f| f.callback_answers().len() > answers)
                .await
                .ok_or("a press was not answered within 30 s")?;
            stale.push(waited);
        }
    }
    recorded.sort();
    stale.sort();
    println!(
        "press → answer, answer recorded ({} presses): p50 {}, p99 {}, max {}",
        recorded.len(),
        ms(percentile(&recorded, 50.0)),
        ms(percentile(&recorded, 99.0)),
        ms(recorded.last().copied().unwrap_or_default())
    );
    println!(
        "press → answer, stale offer ({} presses): p50 {}, p99 {}, max {}",
        stale.len(),
        ms(percentile(&stale, 50.0)),
        ms(percentile(&stale, 99.0)),
        ms(stale.last().copied().unwrap_or_default())
    );
    println!("limit violations seen by the fake over the whole run: {}", fake.limit_violations());

    // 3. Fairness: one chat has 100 messages queued (a facilitator's burst, sent at Telegram's 1/s per chat);
    // meanwhile 20 people in other, idle chats type /aide. How long until each gets its reply?
    let busy = 20_000i64;
    let queued: Vec<NewOutgoing> = (0..100)
        .map(|i| {
            let message = Outgoing::text(Platform::Telegram, busy.to_string(), format!("Note {i}"));
            NewOutgoing {
                key: format!("busy:{i}"),
                platform: "telegram".into(),
                chat_id: busy.to_string(),
                payload: serde_json::to_value(&message).unwrap_or_default(),
            }
        })
        .collect();
    store.apply(&Changeset { outbox: queued, ..Changeset::default() }).await?;
    notify.notify_one();
    let mut idle = Vec::new();
    for i in 0..20 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let chat = 30_000 + i;
        let started = Instant::now();
        fake.push_command(chat, chat, "/aide");
        answered_within(&fake, Duration::from_secs(60), |f| !f.messages_to(chat).is_empty())
            .await
            .ok_or("an idle chat's reply did not arrive within 60 s")?;
        idle.push(started.elapsed());
    }
    idle.sort();
    println!(
        "reply to an idle chat while another has 100 queued ({} replies, /aide → reply received): p50 {}, p99 {}, max {}",
        idle.len(),
        ms(percentile(&idle, 50.0)),
        ms(percentile(&idle, 99.0)),
        ms(idle.last().copied().unwrap_or_default())
    );

    // 4. Discord HTTP interactions: 50 signed interactions at once against the real endpoint.
    discord_interactions(engine.clone()).await?;

    let _ = stop_tx.send(true);
    let _ = polling.await;
    let _ = dispatcher_task.await;

    // 5. Restart with a message in flight (the dispatcher above has stopped: nothing else claims it).
    restart(&store, &fake, || TelegramSender::new(restart_bot.clone())).await?;
    store.close().await;
    Ok(())
}
