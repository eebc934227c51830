//! Crash test: a scripted campaign over Telegram while `essaim serve` is killed (SIGKILL) at random
//! points and restarted, on SQLite and PostgreSQL. Seeded, so a failing iteration can be replayed:
//! `ESSAIM_CRASH_SEED=<seed> ESSAIM_CRASH_ITERATIONS=1 cargo test -p essaim-e2e -- crash::`.
//!
//! What must hold after every iteration, once the process is left running:
//! - no acknowledged answer is lost: every press Telegram saw confirmed is an answer in the log;
//! - no answer counts twice: one answer per offer, duplicate deliveries included, and no line holds
//!   more than its quantity;
//! - every notification is eventually sent: every outbox row is sent and reached the fake server.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use essaim_store::OutboxStatus;
use essaim_store::testing::with_each_database_url;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{Bench, FACILITATOR, TENDER, button, env_number, offer_number, offers, press_update};

/// Waits for `done`, killing and restarting the server at random moments meanwhile.
async fn settle(bench: &mut Bench, rng: &mut StdRng, kills: &mut usize, what: &str, done: impl Fn(&Bench) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done(bench) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}\n--- serve log ---\n{}", bench.log());
        tokio::time::sleep(Duration::from_millis(rng.random_range(20..250))).await;
        if *kills < 6 && rng.random_bool(0.25) {
            bench.kill();
            *kills += 1;
            bench.start();
        }
    }
}

async fn one_iteration(url: String, seed: u64) -> Result<usize, String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut kills = 0usize;
    let mut bench = Bench::new(&url).await;
    bench.start();
    bench.link_everyone().await;
    let linked = bench.suppliers.len() as i64;
    settle(&mut bench, &mut rng, &mut kills, "links", |b| b.fake.pending_updates() == 0).await;
    bench.fake.push_command(FACILITATOR, FACILITATOR, &format!("/repartir {TENDER}"));
    settle(&mut bench, &mut rng, &mut kills, "the launch", |b| {
        b.fake.messages_to(FACILITATOR).iter().any(|m| m.text.contains("lancée"))
    })
    .await;

    // Answer every offer that arrives, a few rounds deep: accept or decline at random, sometimes
    // delivering the same press twice. `expected` is what each press must have recorded.
    let mut expected: BTreeMap<u32, &'static str> = BTreeMap::new();
    let mut presses: Vec<(i64, u32)> = Vec::new();
    for _round in 0..4 {
        let mut new = 0;
        for m in offers(&bench.fake.sent()) {
            let accept = button(&m, "Accepter");
            let offer = offer_number(&accept);
            if expected.contains_key(&offer) {
                continue;
            }
            new += 1;
            let (data, kind) =
                if rng.random_bool(0.75) { (accept, "accept") } else { (button(&m, "Refuser"), "decline") };
            expected.insert(offer, kind);
            let id = bench.fake.push_button(m.chat_id, m.chat_id, &data, m.message_id);
            presses.push((id, offer));
            if rng.random_bool(0.2) {
                bench.fake.push_raw_update(press_update(id, m.chat_id, m.message_id, &data));
            }
            if rng.random_bool(0.15) {
                bench.kill();
                kills += 1;
                bench.start();
            }
        }
        if new == 0 {
            break;
        }
        settle(&mut bench, &mut rng, &mut kills, "answers", |b| b.fake.pending_updates() == 0).await;
        // Give reallocated offers time to be sent before looking for them.
        tokio::time::sleep(Duration::from_millis(600)).await;
    }

    // Leave the server running until everything is delivered.
    let store = bench.store().await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let outbox = store.outbox().await.map_err(|e| e.to_string())?;
        let pending = outbox.iter().filter(|m| m.status == OutboxStatus::Pending).count();
        if pending == 0 && bench.fake.pending_updates() == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "outbox never drained ({pending} pending)\n{}", bench.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bench.stop();

    // No acknowledged answer lost, none counted twice.
    let confirmed = bench.fake.confirmed_up_to();
    let reference = essaim_core::TenderRef::parse("ref", TENDER).map_err(|e| e.to_string())?;
    let log = store.campaign_log(&reference).await.map_err(|e| e.to_string())?;
    let mut recorded: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for e in log.events.iter().filter(|e| e.kind == "answered") {
        let offer = e.payload["offer"].as_u64().ok_or("answered event without offer")? as u32;
        let kind = e.payload["answer"]["kind"].as_str().unwrap_or_default().to_owned();
        recorded.entry(offer).or_default().push(kind);
    }
    for (update, offer) in &presses {
        if *update <= confirmed {
            let kinds =
                recorded.get(offer).ok_or(format!("seed {seed}: press on offer {offer} acknowledged but lost"))?;
            if kinds != &vec![expected[offer].to_owned()] {
                return Err(format!("seed {seed}: offer {offer} recorded {kinds:?}, pressed {}", expected[offer]));
            }
        }
    }
    if recorded.values().any(|k| k.len() > 1) {
        return Err(format!("seed {seed}: an offer answered twice: {recorded:?}"));
    }
    let tender = store.tender(&reference).await.map_err(|e| e.to_string())?.ok_or("tender gone")?;
    let mut held: BTreeMap<String, f64> = BTreeMap::new();
    for e in log.events.iter().filter(|e| e.kind == "offers_made") {
        for o in e.payload["offers"].as_array().into_iter().flatten() {
            let offer = o["id"].as_u64().unwrap_or_default() as u32;
            if recorded.get(&offer).is_some_and(|k| k == &vec!["accept".to_owned()]) {
                *held.entry(o["line"].as_str().unwrap_or_default().to_owned()).or_default() +=
                    o["quantity"].as_f64().unwrap_or_default();
            }
        }
    }
    for line in &tender.lines {
        let accepted = held.get(&line.id).copied().unwrap_or(0.0);
        if accepted > line.quantity + 1e-6 {
            return Err(format!("seed {seed}: line {} holds {accepted} of {}", line.id, line.quantity));
        }
    }

    // Every notification sent, and seen by Telegram.
    let outbox = store.outbox().await.map_err(|e| e.to_string())?;
    let seen: BTreeSet<(i64, String)> = bench.fake.sent().into_iter().map(|m| (m.chat_id, m.text)).collect();
    for row in &outbox {
        if row.status != OutboxStatus::Sent {
            return Err(format!("seed {seed}: outbox row {} is {:?}: {:?}", row.key, row.status, row.last_error));
        }
        let chat: i64 = row.chat_id.parse().map_err(|_| "chat id")?;
        let text = row.payload["text"].as_str().unwrap_or_default().to_owned();
        // A text over Telegram's limit goes out as several messages: each must have arrived.
        for part in essaim_telegram::message_parts(&text) {
            if !seen.contains(&(chat, part.clone())) {
                return Err(format!("seed {seed}: « {part} » to {chat} marked sent but never reached Telegram"));
            }
        }
    }
    let welcomes = bench.fake.sent().iter().filter(|m| m.text.starts_with("Bienvenue")).count() as i64;
    if welcomes < linked {
        return Err(format!("seed {seed}: {welcomes} welcomes for {linked} suppliers"));
    }
    store.close().await;
    if std::env::var_os("ESSAIM_CRASH_VERBOSE").is_some() {
        eprintln!("--- serve log (seed {seed}) ---\n{}", bench.log());
    }
    Ok(kills)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_serve_at_random_points_loses_nothing_and_counts_nothing_twice() {
    let iterations = env_number("ESSAIM_CRASH_ITERATIONS", 20);
    let base = env_number("ESSAIM_CRASH_SEED", 2026);
    let kills = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for i in 0..iterations {
        let kills = kills.clone();
        with_each_database_url(move |backend, url| {
            let kills = kills.clone();
            async move {
                let seed = base + i;
                let started = Instant::now();
                let n = one_iteration(url, seed).await.map_err(|e| format!("[{backend}] {e}"))?;
                eprintln!("crash test [{backend}] seed {seed}: {n} kill(s), {:.1} s", started.elapsed().as_secs_f64());
                kills.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
                Ok::<(), String>(())
            }
        })
        .await;
    }
    eprintln!(
        "crash test: {iterations} iteration(s) per backend, {} kill(s) in all",
        kills.load(std::sync::atomic::Ordering::SeqCst)
    );
}
