//! A campaign played over Telegram: the real `essaim serve` (teloxide client, engine, store, outbox
//! dispatcher, scheduler) against a fake Telegram Bot API on loopback, on SQLite and PostgreSQL.
//! Assertions are on what the fake server received: what users' phones would show.

use std::time::Duration;

use essaim_store::testing::with_each_database_url;

use crate::support::{
    Bench, FACILITATOR, TENDER, WAIT, button, essaim_bin, http, launched_offers, offer_number, offers, press_update,
    repo_file,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_over_telegram_with_stale_duplicate_and_unauthorised_presses() {
    with_each_database_url(|_backend, url| async move {
        let mut bench = Bench::new(&url).await;
        bench.fake.enforce_limits(true);
        bench.start();
        bench.link_everyone().await;
        let linked = bench.suppliers.len() + 1;
        bench.wait("every welcome", WAIT, |f| f.pending_updates() == 0 && f.sent().len() >= linked).await;
        assert!(bench.fake.messages_to(FACILITATOR)[0].text.contains("rôle de facilitateur"));
        // serve set the command menus, French by default and English.
        bench.wait("the command menus", WAIT, |f| f.menus().len() == 2).await;
        assert!(bench.fake.menus()[""].iter().any(|(name, _)| name == "repartir"));

        // Strangers and suppliers cannot launch; unknown commands get help.
        bench.fake.push_command(999, 999, "/repartir T-2026-014");
        bench.fake.push_command(100, 100, "/repartir T-2026-014");
        bench.fake.push_command(100, 100, "/nimportequoi");
        bench.wait("refusals", WAIT, |f| f.messages_to(999).len() == 1 && f.messages_to(100).len() == 3).await;
        assert!(bench.fake.messages_to(999)[0].text.contains("/start CODE"));
        assert!(bench.fake.messages_to(100)[1].text.contains("réservée aux facilitateurs"));
        assert!(bench.fake.messages_to(100)[2].text.contains("Commande inconnue"));

        // The facilitator launches: offers reach the suppliers' phones with the three buttons.
        bench.fake.push_command(FACILITATOR, FACILITATOR, &format!("/repartir {TENDER}"));
        bench
            .wait("the launch summary", WAIT, |f| f.messages_to(FACILITATOR).iter().any(|m| m.text.contains("lancée")))
            .await;
        let summary =
            bench.fake.messages_to(FACILITATOR).into_iter().find(|m| m.text.contains("lancée")).expect("summary");
        let count = launched_offers(&summary.text);
        bench.wait("every offer", WAIT, |f| offers(&f.sent()).len() == count).await;
        let first = offers(&bench.fake.sent());
        assert!(first.iter().all(|m| m.buttons.concat().len() == 4));
        assert!(first[0].text.contains("Nouvelle offre") && first[0].text.contains(" h"));
        assert!(
            summary.text.contains("Non couvert") && summary.text.contains("(L6)"),
            "the laundry shortfall is told: {}",
            summary.text
        );

        // Offer 0 accepted, offer 1 declined, offer 2 accepted in part.
        let (accepted, declined, part) = (&first[0], &first[1], &first[2]);
        let accept_data = button(accepted, "Accepter");
        let press = bench.fake.push_button(accepted.chat_id, accepted.chat_id, &accept_data, accepted.message_id);
        bench.fake.push_button(declined.chat_id, declined.chat_id, &button(declined, "Refuser"), declined.message_id);
        bench.fake.push_button(part.chat_id, part.chat_id, &button(part, "Accepter une partie"), part.message_id);
        bench
            .wait("the quantity question", WAIT, |f| {
                f.messages_to(part.chat_id).iter().any(|m| m.text.contains("Combien"))
            })
            .await;
        let question =
            bench.fake.messages_to(part.chat_id).into_iter().rfind(|m| m.text.contains("Combien")).expect("question");
        let min: f64 = question
            .text
            .split("entre ")
            .nth(1)
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("min");
        bench.fake.push_text(part.chat_id, part.chat_id, &format!("{min}"));

        // The same press delivered again, a later press on the answered offer, and a stranger's press.
        bench.wait("the first press confirmed", WAIT, |f| f.confirmed_up_to() >= press).await;
        bench.fake.push_raw_update(press_update(press, accepted.chat_id, accepted.message_id, &accept_data));
        bench.fake.push_button(accepted.chat_id, accepted.chat_id, &accept_data, accepted.message_id);
        bench.fake.push_button(4242, 4242, &accept_data, accepted.message_id);
        bench.wait("every press answered", WAIT, |f| f.pending_updates() == 0 && f.callback_answers().len() >= 6).await;
        let answers: Vec<Option<String>> = bench.fake.callback_answers().into_iter().map(|(_, text)| text).collect();
        assert!(answers.iter().any(|a| a.as_deref() == Some("Cette offre n'est plus ouverte.")), "{answers:?}");
        assert!(answers.iter().any(|a| a.as_deref().is_some_and(|t| t.contains("/start CODE"))), "{answers:?}");

        // The offer messages were edited with the answer and lost their buttons.
        bench
            .wait("the accepted offer edited", WAIT, |f| {
                f.messages_to(accepted.chat_id).iter().any(|m| {
                    m.method == "editMessageText"
                        && m.message_id == accepted.message_id
                        && m.text.contains("✅ Accepté")
                })
            })
            .await;
        // The decline and the partial acceptance were reallocated and the facilitator told; the new
        // offers went out (unless nobody else could take the freed hours, as on the laundry line).
        bench
            .wait("the facilitator told", WAIT, |f| {
                let notes: String = f.messages_to(FACILITATOR).iter().map(|m| m.text.clone()).collect();
                notes.contains("refuse l'offre") && notes.matches("Réaffectation").count() >= 2
            })
            .await;
        let notes: String = bench.fake.messages_to(FACILITATOR).iter().map(|m| m.text.clone()).collect();
        assert!(notes.contains(&format!("accepte {} h", min)), "{notes}");
        if notes.contains("nouvelle(s) offre(s)") {
            bench.wait("the reallocated offers", WAIT, |f| offers(&f.sent()).len() > count).await;
        }

        // Everyone else accepts every open offer (reallocations included) until the campaign is ready.
        let mut answered: std::collections::BTreeSet<u32> =
            [&accept_data, &button(declined, "Refuser"), &button(part, "Refuser")]
                .iter()
                .map(|d| offer_number(d))
                .collect();
        for _ in 0..10 {
            let open: Vec<_> = offers(&bench.fake.sent())
                .into_iter()
                .filter(|m| answered.insert(offer_number(&button(m, "Accepter"))))
                .collect();
            for m in &open {
                bench.fake.push_button(m.chat_id, m.chat_id, &button(m, "Accepter"), m.message_id);
            }
            bench.wait("answers handled", WAIT, |f| f.pending_updates() == 0).await;
            if bench.fake.messages_to(FACILITATOR).iter().any(|m| m.text.contains("Campagne T-2026-014 terminée")) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        bench
            .wait("the campaign ready", WAIT, |f| {
                f.messages_to(FACILITATOR).iter().any(|m| m.text.contains("terminée"))
            })
            .await;
        bench.fake.push_command(FACILITATOR, FACILITATOR, &format!("/etat {TENDER}"));
        bench.wait("the status", WAIT, |f| f.messages_to(FACILITATOR).iter().any(|m| m.text.starts_with("📊"))).await;
        let status =
            bench.fake.messages_to(FACILITATOR).into_iter().rfind(|m| m.text.starts_with("📊")).expect("status");
        assert!(status.text.contains("campagne terminée"), "{}", status.text);
        // L6 (laundry) lacks 550 h of capacity from the start; more if the declined offer was one of
        // its lots (nobody else can take it).
        let l6_uncovered: f64 = status
            .text
            .split("(L6)")
            .nth(1)
            .and_then(|rest| rest.split("⚠️ ").nth(1))
            .and_then(|t| t.split(" non couvertes").next())
            .map(|n| n.replace('\u{202f}', "").replace(',', "."))
            .and_then(|n| n.parse().ok())
            .expect("L6's uncovered hours in the status");
        assert!(l6_uncovered >= 550.0, "{}", status.text);
        assert!(status.text.contains("⏳ 0 en attente"), "{}", status.text);
        assert_eq!(bench.fake.limit_violations(), 0, "Telegram's limits were honoured");

        // The duplicate delivery was not counted: one answer per offer in the log.
        let store = bench.store().await;
        let reference = essaim_core::TenderRef::parse("ref", TENDER).expect("ref");
        let log = store.campaign_log(&reference).await.expect("log");
        let mut answered_offers: Vec<u64> =
            log.events.iter().filter(|e| e.kind == "answered").filter_map(|e| e.payload["offer"].as_u64()).collect();
        let n = answered_offers.len();
        answered_offers.dedup();
        assert_eq!(answered_offers.len(), n, "an offer answered twice");
        store.close().await;

        // The tender's lines cannot be replaced under a campaign.
        let tender_file = repo_file("data/tender.json").display().to_string();
        let out = bench.essaim(&["import", "tender", &tender_file, "--replace"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("has a campaign"));
        bench.stop();
        Ok::<(), String>(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_without_a_token_runs_the_api_only_and_never_logs_a_token() {
    use std::io::{BufRead, Read, Write};
    let dir = tempfile::tempdir().expect("dir");
    let mut child = std::process::Command::new(essaim_bin())
        .args(["serve"])
        .env("ESSAIM_DATA_DIR", dir.path())
        .env("ESSAIM_SERVE__LISTEN", "127.0.0.1:0")
        .env_remove("ESSAIM_TELEGRAM_TOKEN")
        .env_remove("ESSAIM_DISCORD_TOKEN")
        .env_remove("ESSAIM_DATABASE_URL")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut said = String::new();
    let addr = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).expect("stderr readable") == 0 {
            panic!("serve stopped: {said}");
        }
        said.push_str(&line);
        if let Some(addr) = line.trim().rsplit("listening on ").next().filter(|_| line.contains("listening on")) {
            break addr.to_owned();
        }
    };
    assert!(said.contains("ESSAIM_TELEGRAM_TOKEN") && said.contains("HTTP API only"), "{said}");
    let mut stream = std::net::TcpStream::connect(&addr).expect("serve accepts connections");
    write!(stream, "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let _ = child.kill();
    let _ = child.wait();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"database\":true"), "{response}");

    with_each_database_url(|_backend, url| async move {
        let mut bench = Bench::new(&url).await;
        bench.start();
        bench.fake.push_command(5, 5, "/aide");
        bench.wait("the help", WAIT, |f| f.messages_to(5).len() == 1).await;
        bench.stop();
        assert!(!bench.log().contains("TEST-TOKEN"), "the token leaked into the log");
        assert_eq!(bench.fake.tokens_used(), vec!["123456:TEST-TOKEN".to_owned()]);
        Ok::<(), String>(())
    })
    .await;
}

/// One HTTP/1.1 POST; returns the status code.
async fn post(addr: &str, path: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    http(addr, "POST", path, headers, body).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_answers_only_requests_with_the_secret_token() {
    with_each_database_url(|_backend, url| async move {
        let mut bench = Bench::new(&url).await;
        bench.start_with(&[("ESSAIM_TELEGRAM__MODE", "webhook"), ("ESSAIM_TELEGRAM_WEBHOOK_SECRET", "s3cret-token")]);
        let addr = bench.listening_on().await;
        let update = r#"{"update_id": 900, "message": {"message_id": 1, "date": 0, "chat": {"id": 77, "type": "private", "first_name": "A"},
                        "from": {"id": 77, "is_bot": false, "first_name": "A"}, "text": "/aide",
                        "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}"#;
        let secret = "X-Telegram-Bot-Api-Secret-Token";
        assert_eq!(post(&addr, "/telegram/webhook", &[], update).await, 401, "no secret");
        assert_eq!(post(&addr, "/telegram/webhook", &[(secret, "guess")], update).await, 401, "wrong secret");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(bench.fake.messages_to(77).is_empty(), "a refused request changes nothing");
        assert_eq!(post(&addr, "/telegram/webhook", &[(secret, "s3cret-token")], update).await, 200);
        assert_eq!(post(&addr, "/telegram/webhook", &[(secret, "s3cret-token")], update).await, 200, "a redelivery is acknowledged");
        bench.wait("the help", WAIT, |f| !f.messages_to(77).is_empty()).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(bench.fake.messages_to(77).len(), 1, "the redelivered update was handled once");
        assert!(bench.fake.messages_to(77)[0].text.contains("/start CODE"));
        bench.stop();
        Ok::<(), String>(())
    })
    .await;
}
