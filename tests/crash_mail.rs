//! Crash test of the e-mail channel: a campaign's offers go out by SMTP to a real server on loopback
//! (aiosmtpd, writing a maildir) while `essaim serve` is killed (SIGKILL) at random points and restarted,
//! on SQLite and PostgreSQL. Seeded, so a failing iteration can be replayed:
//! `ESSAIM_CRASH_SEED=<seed> ESSAIM_CRASH_MAIL_ITERATIONS=1 cargo test -p essaim-e2e -- crash_mail::`.
//!
//! What must hold once the process is left running:
//! - nothing is lost: every mail of the outbox is marked sent and is in the mailbox;
//! - a mail sent twice (killed after the server accepted it, before the outbox knew) is recognisably the
//!   same: same Message-ID (derived from the outbox key), same recipient, same subject; no mail in the
//!   mailbox that the outbox did not queue.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use essaim_store::OutboxStatus;
use essaim_store::testing::with_each_database_url;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::smtp_server::{Mail, SmtpServer};
use crate::support::{Bench, TENDER, env_number};

const FROM: &str = "essaim <campagnes@essaim.example>";

async fn one_iteration(url: String, seed: u64, smtp: &SmtpServer) -> Result<(usize, usize), String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut bench = Bench::new(&url).await;
    bench.env = [
        ("ESSAIM_MAIL__SMTP_HOST", "127.0.0.1".to_owned()),
        ("ESSAIM_MAIL__SMTP_PORT", smtp.port.to_string()),
        ("ESSAIM_MAIL__SECURITY", "plain".to_owned()),
        ("ESSAIM_MAIL__FROM", FROM.to_owned()),
        // Fast enough to finish, slow enough that kills land in the middle of the sends.
        ("ESSAIM_MAIL__PER_SECOND", "15".to_owned()),
        ("ESSAIM_MAIL_LINK_KEY", "a crash-test key of at least thirty-two bytes".to_owned()),
        ("ESSAIM_PROPOSAL__PUBLIC_URL", "https://essaim.example.org".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();

    // The desk launches: every structure of the groupement with a directory address gets its offer by mail.
    let out = bench.essaim(&["campaign", "launch", TENDER, "--as", "crash-test"]);
    if !out.status.success() {
        return Err(format!("launch failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let store = bench.store().await;
    let queued = |outbox: &[essaim_store::OutboxMessage]| outbox.iter().filter(|m| m.platform == "email").count();
    let mails = queued(&store.outbox().await.map_err(|e| e.to_string())?);
    if mails < 10 {
        return Err(format!("seed {seed}: only {mails} offer mails queued; the sample should reach most by mail"));
    }

    bench.start();
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let outbox = store.outbox().await.map_err(|e| e.to_string())?;
        let pending = outbox.iter().filter(|m| m.platform == "email" && m.status == OutboxStatus::Pending).count();
        if pending == 0 {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("seed {seed}: {pending} mails still pending\n--- serve log ---\n{}", bench.log()));
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(20..300))).await;
        if kills < 6 && rng.random_bool(0.3) {
            bench.kill();
            kills += 1;
            bench.start();
        }
    }
    bench.stop();

    let from: essaim_mail::Mailbox = FROM.parse().map_err(|e| format!("{e}"))?;
    let outbox = store.outbox().await.map_err(|e| e.to_string())?;
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for row in outbox.iter().filter(|m| m.platform == "email") {
        if row.status != OutboxStatus::Sent {
            return Err(format!("seed {seed}: mail {} is {:?}: {:?}", row.key, row.status, row.last_error));
        }
        expected.insert(essaim_mail::message_id(&row.key, &from), row.chat_id.clone());
    }
    let mut received: BTreeMap<String, Vec<Mail>> = BTreeMap::new();
    for mail in smtp.new_mails() {
        received.entry(mail.message_id.clone()).or_default().push(mail);
    }
    for (id, address) in &expected {
        let copies =
            received.get(id).ok_or(format!("seed {seed}: mail {id} to {address} marked sent, never received"))?;
        for copy in copies {
            if !copy.to.contains(address.as_str()) || copy.subject != copies[0].subject {
                return Err(format!(
                    "seed {seed}: two different mails under {id}: {} / {}",
                    copy.to, copies[0].subject
                ));
            }
        }
    }
    if let Some(stranger) = received.keys().find(|id| !expected.contains_key(*id)) {
        return Err(format!("seed {seed}: a mail the outbox never queued: {stranger}"));
    }
    let duplicates = received.values().map(|copies| copies.len() - 1).sum();
    store.close().await;
    Ok((kills, duplicates))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_serve_while_it_sends_mail_loses_none_and_a_resent_mail_keeps_its_message_id() {
    let Some(smtp) = SmtpServer::start() else { return };
    let smtp = std::sync::Arc::new(smtp);
    let iterations = env_number("ESSAIM_CRASH_MAIL_ITERATIONS", 4);
    let base = env_number("ESSAIM_CRASH_SEED", 2026);
    for i in 0..iterations {
        let smtp = smtp.clone();
        with_each_database_url(move |backend, url| {
            let smtp = smtp.clone();
            async move {
                let seed = base + i;
                let started = Instant::now();
                let (kills, duplicates) =
                    one_iteration(url, seed, &smtp).await.map_err(|e| format!("[{backend}] {e}"))?;
                eprintln!(
                    "mail crash test [{backend}] seed {seed}: {kills} kill(s), {duplicates} mail(s) sent twice \
                     under the same Message-ID, {:.1} s",
                    started.elapsed().as_secs_f64()
                );
                Ok::<(), String>(())
            }
        })
        .await;
    }
}
