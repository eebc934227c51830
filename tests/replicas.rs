//! Three `essaim serve` replicas on one PostgreSQL, one of them killed (SIGKILL) mid-campaign, against
//! the fake Telegram in long-polling mode (the replicas elect the one that polls). PostgreSQL only:
//! several replicas share nothing but the database, and a SQLite database is one process's.
//!
//! What must hold once the campaign is played out:
//! - the poller is elected: one replica polls, and when it is killed another takes over within seconds;
//! - every acknowledged answer is recorded, once;
//! - every message is sent (at least once on Telegram) and reached the fake;
//! - no chat receives two messages less than a second apart (Telegram's 1 message/s per chat), measured
//!   on the fake's receive times, whichever replica sent them;
//! - each reminder occurrence fires once (`reminded` events in distinct minutes) and each reminder
//!   reaches its chat once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use essaim_store::testing::with_each_database_url;
use essaim_store::{Backend, OutboxStatus};
use essaim_telegram::fake::SentMessage;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{Bench, FACILITATOR, TENDER, button, essaim_bin, offer_number, offers};

/// What the pace check forgives: the gap between two sends is measured where the fake receives them,
/// a few milliseconds of network and scheduling after the dispatcher's own clock.
const PACE_TOLERANCE: Duration = Duration::from_millis(50);

/// One `essaim serve` of the deployment, with a log of its own.
pub struct Replica {
    pub name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Replica {
    /// Starts replica `n` of `bench`'s deployment: same database, fake Telegram and configuration as
    /// `Bench::start`, its own `serve.instance` and log, reminders every minute.
    pub fn start(bench: &Bench, n: usize, extra_env: &[(&str, &str)]) -> Replica {
        let name = format!("replica-{n}");
        let log = bench.dir.path().join(format!("{name}.log"));
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&log).expect("log file");
        let child = Command::new(essaim_bin())
            .arg("serve")
            .current_dir(bench.dir.path())
            .env("ESSAIM_DATA_DIR", bench.dir.path())
            .env("ESSAIM_DATABASE_URL", &bench.url)
            .env_remove("ESSAIM_CONFIG")
            .env("ESSAIM_TELEGRAM_TOKEN", "123456:TEST-TOKEN")
            .env("ESSAIM_TELEGRAM_API_URL", bench.fake.api_url())
            .env("ESSAIM_TELEGRAM__POLL_TIMEOUT_S", "1")
            .env("ESSAIM_SERVE__LISTEN", "127.0.0.1:0")
            .env("ESSAIM_SERVE__INSTANCE", &name)
            .env("ESSAIM_CAMPAIGN__TICK_S", "1")
            .env("ESSAIM_CAMPAIGN__REMINDER_SCHEDULE", "* * * * *")
            .env("ESSAIM_OUTBOX__LEASE_S", "2")
            .envs(bench.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(extra_env.iter().copied())
            // The election is told at info level: which replica polls.
            .env(
                "RUST_LOG",
                std::env::var("ESSAIM_TEST_SERVE_LOG").unwrap_or_else(|_| "warn,essaim_telegram=info".into()),
            )
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("essaim serve starts");
        Replica { name, child: Some(child), log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether this replica polls Telegram now (it said so last).
    pub fn polls(&self) -> bool {
        let log = self.log();
        let (polls, stands_by) = (log.rfind("this replica polls Telegram"), log.rfind("standing by"));
        polls.is_some() && polls > stands_by
    }

    /// SIGKILL, as a crash or an OOM kill would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Every replica's log, for a failure message.
pub fn logs(replicas: &[Replica]) -> String {
    replicas.iter().map(|r| format!("--- {} ---\n{}", r.name, r.log())).collect::<Vec<_>>().join("\n")
}

/// Waits for `done`, failing with the logs after `limit`.
async fn until(replicas: &[Replica], what: &str, limit: Duration, done: impl Fn() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}\n{}", logs(replicas));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

/// The pairs of messages to one chat less than a second apart (minus the tolerance) on the fake.
pub fn pace_breaches(sent: &[SentMessage]) -> Vec<String> {
    let mut by_chat: BTreeMap<i64, Vec<&SentMessage>> = BTreeMap::new();
    for m in sent {
        by_chat.entry(m.chat_id).or_default().push(m);
    }
    let mut breaches = Vec::new();
    for (chat, mut messages) in by_chat {
        messages.sort_by_key(|m| m.at);
        for pair in messages.windows(2) {
            let gap = pair[1].at - pair[0].at;
            if gap + PACE_TOLERANCE < Duration::from_secs(1) {
                breaches.push(format!("chat {chat}: {} then {} {gap:?} apart", pair[0].method, pair[1].method));
            }
        }
    }
    breaches
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_one_killed_mid_campaign_lose_nothing_double_nothing_and_keep_the_pace() {
    with_each_database_url(|backend, url| async move {
        if backend != Backend::Postgres {
            eprintln!("replicas: PostgreSQL only (set ESSAIM_TEST_POSTGRES_URL); skipped on {backend}");
            return Ok(());
        }
        let mut rng = StdRng::seed_from_u64(15);
        let mut bench = Bench::new(&url).await;
        let mut replicas: Vec<Replica> = (1..=3).map(|n| Replica::start(&bench, n, &[])).collect();
        // One poller, elected.
        until(&replicas, "a replica to poll", Duration::from_secs(30), || replicas.iter().any(Replica::polls)).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(replicas.iter().filter(|r| r.polls()).count(), 1, "one poller\n{}", logs(&replicas));

        bench.link_everyone().await;
        let linked = bench.suppliers.len();
        // One structure never answers: its offers stay open for the reminders.
        let silent = bench.suppliers[0].1;
        until(&replicas, "the links", Duration::from_secs(60), || bench.fake.pending_updates() == 0).await;
        bench.fake.push_command(FACILITATOR, FACILITATOR, &format!("/repartir {TENDER}"));
        until(&replicas, "the launch", Duration::from_secs(60), || {
            bench.fake.messages_to(FACILITATOR).iter().any(|m| m.text.contains("lancée"))
        })
        .await;

        // Answer the offers as they come; kill the poller right after the first presses.
        let mut expected: BTreeMap<u32, &'static str> = BTreeMap::new();
        let mut presses: Vec<(i64, u32)> = Vec::new();
        let mut takeover = None;
        for round in 0..5 {
            let mut new = 0;
            for m in offers(&bench.fake.sent()) {
                let accept = button(&m, "Accepter");
                let offer = offer_number(&accept);
                if m.chat_id == silent || expected.contains_key(&offer) {
                    continue;
                }
                new += 1;
                let (data, kind) =
                    if rng.random_bool(0.7) { (accept, "accept") } else { (button(&m, "Refuser"), "decline") };
                expected.insert(offer, kind);
                presses.push((bench.fake.push_button(m.chat_id, m.chat_id, &data, m.message_id), offer));
            }
            if round == 0 {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let leader = replicas.iter().position(Replica::polls).expect("a poller");
                replicas[leader].kill();
                let killed = Instant::now();
                let name = replicas[leader].name.clone();
                until(&replicas, "another replica to poll", Duration::from_secs(15), || {
                    replicas.iter().any(|r| r.name != name && r.polls())
                })
                .await;
                takeover = Some(killed.elapsed());
                eprintln!("replicas: killed the poller {name}; another polls {:?} later", killed.elapsed());
            }
            if new == 0 && round > 0 {
                break;
            }
            until(&replicas, "the answers", Duration::from_secs(60), || bench.fake.pending_updates() == 0).await;
            // Reallocated offers are sent at each chat's pace: give them time before looking.
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
        let takeover = takeover.expect("the poller was killed");
        assert!(takeover < Duration::from_secs(10), "takeover took {takeover:?}");

        // A reminder occurrence (every minute) while the silent structure's offers are open.
        let store = bench.store().await;
        let reference = essaim_core::TenderRef::parse("ref", TENDER).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(75);
        loop {
            let log = store.campaign_log(&reference).await.map_err(|e| e.to_string())?;
            if log.events.iter().any(|e| e.kind == "reminded") {
                break;
            }
            assert!(Instant::now() < deadline, "no reminder within a minute\n{}", logs(&replicas));
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        // Everything delivered.
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let outbox = store.outbox().await.map_err(|e| e.to_string())?;
            let pending = outbox.iter().filter(|m| m.status == OutboxStatus::Pending).count();
            if pending == 0 && bench.fake.pending_updates() == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "outbox never drained ({pending} pending)\n{}", logs(&replicas));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        for replica in &mut replicas {
            replica.stop();
        }

        // Every acknowledged answer recorded, once.
        let confirmed = bench.fake.confirmed_up_to();
        let log = store.campaign_log(&reference).await.map_err(|e| e.to_string())?;
        let mut recorded: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for e in log.events.iter().filter(|e| e.kind == "answered") {
            let offer = e.payload["offer"].as_u64().ok_or("answered event without offer")? as u32;
            let kind = e.payload["answer"]["kind"].as_str().unwrap_or_default().to_owned();
            recorded.entry(offer).or_default().push(kind);
        }
        let mut acknowledged = 0;
        for (update, offer) in &presses {
            if *update <= confirmed {
                acknowledged += 1;
                let kinds = recorded.get(offer).ok_or(format!("press on offer {offer} acknowledged but lost"))?;
                assert_eq!(kinds, &vec![expected[offer].to_owned()], "offer {offer}");
            }
        }
        assert_eq!(acknowledged, presses.len(), "every press acknowledged in the end");
        assert!(recorded.values().all(|k| k.len() == 1), "an offer answered twice: {recorded:?}");

        // Every message sent, and seen by Telegram.
        let outbox = store.outbox().await.map_err(|e| e.to_string())?;
        let sent = bench.fake.sent();
        let seen: BTreeSet<(i64, String)> = sent.iter().map(|m| (m.chat_id, m.text.clone())).collect();
        for row in &outbox {
            assert_eq!(row.status, OutboxStatus::Sent, "{} {:?}", row.key, row.last_error);
            let chat: i64 = row.chat_id.parse().map_err(|_| "chat id")?;
            let text = row.payload["text"].as_str().unwrap_or_default().to_owned();
            for part in essaim_telegram::message_parts(&text) {
                assert!(seen.contains(&(chat, part.clone())), "« {part} » to {chat} marked sent, never on Telegram");
            }
        }
        let welcomes = sent.iter().filter(|m| m.text.starts_with("Bienvenue")).count();
        assert!(welcomes >= linked, "{welcomes} welcomes for {linked} structures");

        // Each reminder occurrence once, each reminder on Telegram once.
        let minutes: Vec<_> = log
            .events
            .iter()
            .filter(|e| e.kind == "reminded")
            .map(|e| e.payload["at"].as_str().unwrap_or_default().get(..16).unwrap_or_default().to_owned())
            .collect();
        let distinct: BTreeSet<_> = minutes.iter().collect();
        assert_eq!(distinct.len(), minutes.len(), "a reminder occurrence fired twice: {minutes:?}");
        let reminders: Vec<_> = outbox.iter().filter(|r| r.key.starts_with("remind")).collect();
        assert!(!reminders.is_empty(), "no reminder queued");
        for row in &reminders {
            let chat: i64 = row.chat_id.parse().map_err(|_| "chat id")?;
            let text = row.payload["text"].as_str().unwrap_or_default();
            let times =
                sent.iter().filter(|m| m.chat_id == chat && m.method == "sendMessage" && m.text == text).count();
            assert_eq!(times, 1, "reminder {} reached Telegram {times} times", row.key);
        }

        // No chat paced faster than Telegram's 1 message/s, whichever replica sent.
        let breaches = pace_breaches(&sent);
        eprintln!(
            "replicas: {} presses, {} messages on Telegram, {} reminders, takeover {takeover:?}, {} pace breaches",
            presses.len(),
            sent.len(),
            reminders.len(),
            breaches.len()
        );
        assert!(breaches.is_empty(), "{} pace breaches: {breaches:#?}", breaches.len());
        store.close().await;
        Ok::<(), String>(())
    })
    .await;
}

/// A SIRET with a valid Luhn key: `base` (13 digits) and its check digit.
fn siret(base: u64) -> String {
    let digits: Vec<u32> = format!("{base:013}").chars().filter_map(|c| c.to_digit(10)).collect();
    // The check digit is the rightmost: counting from it, every second digit of the base is doubled.
    let sum: u32 =
        digits.iter().rev().enumerate().map(|(i, d)| if i % 2 == 0 { (d * 2) / 10 + (d * 2) % 10 } else { *d }).sum();
    format!("{base:013}{}", (10 - sum % 10) % 10)
}

/// Load bench (not a timed assertion; `--ignored`): `ESSAIM_BENCH_CAMPAIGNS` (50) campaigns of
/// `ESSAIM_BENCH_STRUCTURES` (40) structures each, run at once by three replicas on PostgreSQL against the
/// fake Telegram; every offer accepted as it arrives. Prints the messages per second the fake received
/// from the launches to the last message and the press → answer latency (the press pushed to the fake
/// until the fake receives the edit of the pressed offer, what the structure sees).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load bench: run with --ignored --nocapture on PostgreSQL"]
async fn bench_concurrent_campaigns_on_three_replicas() {
    with_each_database_url(|backend, url| async move {
        if backend != Backend::Postgres {
            eprintln!("replicas bench: PostgreSQL only; skipped on {backend}");
            return Ok(());
        }
        let campaigns = crate::support::env_number("ESSAIM_BENCH_CAMPAIGNS", 50) as usize;
        let structures = crate::support::env_number("ESSAIM_BENCH_STRUCTURES", 40) as usize;
        let bench = Bench::new(&url).await;
        // One groupement of `structures` per campaign, around Lyon.
        let mut csv = String::from(
            "siret,name,kind,latitude,longitude,commune,max_distance_km,min_lot,capacities,insertion_rate,groupement,groupement_lead\n",
        );
        for g in 0..campaigns {
            for s in 0..structures {
                let n = (g * structures + s) as u64;
                let (lat, lon) = (45.70 + (n % 37) as f64 * 0.003, 4.80 + (n % 41) as f64 * 0.003);
                let lead = if s == 0 { "true" } else { "" };
                csv.push_str(&format!(
                    "{},Structure {g}-{s},EI,{lat:.4},{lon:.4},69387,60,10,nettoyage:200,,G-B{g},{lead}\n",
                    siret(1_234_500_000_000 + n)
                ));
            }
        }
        let dir = bench.dir.path().to_owned();
        std::fs::write(dir.join("bench-suppliers.csv"), csv).map_err(|e| e.to_string())?;
        let out = bench.essaim(&["import", "suppliers", "bench-suppliers.csv"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        for g in 0..campaigns {
            let tender = serde_json::json!({
                "ref": format!("T-B{g}"),
                "title": format!("Nettoyage {g} (banc d'essai)"),
                "buyer": {"name": "Acheteur (fictif)", "siret": "15543739500017", "kind": "public"},
                "deadline": "2027-06-30T18:00:00+02:00",
                "groupement": format!("G-B{g}"),
                "lines": [{
                    "id": "L1", "title": "Nettoyage des locaux", "sector": "nettoyage",
                    "quantity": 100 * structures, "unit": "h", "site": {"lat": 45.75, "lon": 4.85},
                    "max_share": 0.05
                }]
            });
            let file = dir.join(format!("bench-tender-{g}.json"));
            std::fs::write(&file, tender.to_string()).map_err(|e| e.to_string())?;
            let out = bench.essaim(&["import", "tender", &file.display().to_string()]);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        // Production's scheduler: reminders at 9:00, expiries and deadlines looked at every 30 s (the end-to-end
        // tests' 1 s tick makes three replicas load every running campaign every second).
        let quiet = [("ESSAIM_CAMPAIGN__REMINDER_SCHEDULE", "0 9 * * 1-5"), ("ESSAIM_CAMPAIGN__TICK_S", "30")];
        let replicas: Vec<Replica> = (1..=3).map(|n| Replica::start(&bench, n, &quiet)).collect();

        // Link the facilitator and every structure.
        let code = bench.invite(&["--facilitator"]);
        bench.fake.push_command(FACILITATOR, FACILITATOR, &format!("/start {code}"));
        let store = bench.store().await;
        for g in 0..campaigns {
            for s in 0..structures {
                let n = g * structures + s;
                let code = format!("B-{n}");
                let siret = essaim_core::Siret::parse(&siret(1_234_500_000_000 + n as u64)).map_err(|e| e.to_string())?;
                store.create_invite(&code, essaim_core::Role::Supplier, Some(&siret), None).await.map_err(|e| e.to_string())?;
                let user = 10_000 + n as i64;
                bench.fake.push_command(user, user, &format!("/start {code}"));
            }
        }
        let linked = Instant::now();
        until(&replicas, "the links", Duration::from_secs(600), || {
            bench.fake.pending_updates() == 0
                && bench.fake.sent().iter().filter(|m| m.text.starts_with("Bienvenue")).count() >= campaigns * structures
        })
        .await;
        eprintln!("replicas bench: {} structures linked and welcomed in {:?}", campaigns * structures, linked.elapsed());

        // Every campaign launched at once; every offer accepted as soon as it arrives.
        let before = bench.fake.sent().len();
        let started = Instant::now();
        for g in 0..campaigns {
            bench.fake.push_command(FACILITATOR, FACILITATOR, &format!("/repartir T-B{g}"));
        }
        let mut pressed: BTreeMap<(i64, i64), Instant> = BTreeMap::new();
        let mut latencies: Vec<Duration> = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            let sent = bench.fake.sent();
            for m in offers(&sent) {
                if let std::collections::btree_map::Entry::Vacant(slot) = pressed.entry((m.chat_id, m.message_id)) {
                    bench.fake.push_button(m.chat_id, m.chat_id, &button(&m, "Accepter"), m.message_id);
                    slot.insert(Instant::now());
                }
            }
            let mut edits: BTreeMap<(i64, i64), Vec<Instant>> = BTreeMap::new();
            for s in sent.iter().filter(|s| s.method.starts_with("edit")) {
                edits.entry((s.chat_id, s.message_id)).or_default().push(s.at);
            }
            latencies.clear();
            for (key, at) in &pressed {
                if let Some(edit) = edits.get(key).and_then(|times| times.iter().find(|t| **t >= *at)) {
                    latencies.push(*edit - *at);
                }
            }
            let launched = bench.fake.messages_to(FACILITATOR).iter().filter(|m| m.text.contains("lancée")).count();
            // The whole outbox is read only once everything else looks done: reading it (payloads
            // included) every 50 ms loaded the database the replicas were being measured on.
            if launched >= campaigns
                && latencies.len() == pressed.len()
                && bench.fake.pending_updates() == 0
                && store.outbox().await.map_err(|e| e.to_string())?.iter().all(|m| m.status != OutboxStatus::Pending)
            {
                break;
            }
            assert!(Instant::now() < deadline, "bench not done in 15 min\n{}", logs(&replicas));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let elapsed = started.elapsed();
        let sent = bench.fake.sent();
        let messages = sent.len() - before;
        latencies.sort();
        let at = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
        eprintln!(
            "replicas bench: {campaigns} campaigns × {structures} structures, 3 replicas on PostgreSQL: {} presses, \
             {messages} messages in {:.1} s = {:.1} messages/s; press → answer p50 {:?}, p99 {:?}, max {:?}; {} pace breaches",
            latencies.len(),
            elapsed.as_secs_f64(),
            messages as f64 / elapsed.as_secs_f64(),
            at(0.5),
            at(0.99),
            at(1.0),
            pace_breaches(&sent).len()
        );
        store.close().await;
        Ok::<(), String>(())
    })
    .await;
}
