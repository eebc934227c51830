//! The real serenity gateway client ([`essaim_discord::gateway::run_gateway`]) against the fake
//! gateway: connection, READY, heartbeats, interactions handed to the handler and answered,
//! quantity modal, deferred answer, clean shutdown.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use essaim_chat::{Handled, Incoming, IncomingKind, Platform};
use essaim_discord::DiscordConfig;
use essaim_discord::fake_gateway::{APPLICATION_ID, FakeGateway, interactions};
use essaim_discord::gateway::run_gateway;
use serde_json::json;

const TOKEN: &str = "MTIz.fake-gateway-token";
const USER: u64 = 300_000_000_000_000_001;
const CHANNEL: u64 = 400_000_000_000_000_001;

type Seen = Arc<Mutex<Vec<Incoming>>>;

/// Answers like the engine would: a notice for `help`, none for a form, 3 s of work for `remind`; the
/// form of offer 7 may open, that of offer 8 (closed) may not.
async fn handle(seen: Seen, incoming: Incoming) -> Result<Handled, String> {
    seen.lock().unwrap().push(incoming.clone());
    let notice = |n: Option<&str>| Handled { notice: n.map(str::to_owned), ..Handled::default() };
    Ok(notice(match &incoming.kind {
        IncomingKind::OpenForm { data } if data == "offer:7" => {
            return Ok(Handled { form: true, ..Handled::default() });
        }
        IncomingKind::OpenForm { .. } => Some("Cette offre n'est plus ouverte."),
        IncomingKind::Command { name, .. } if name == "remind" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Some("relance envoyée")
        }
        IncomingKind::Command { name, .. } if name == "tenders" => return Err("store unavailable".to_owned()),
        IncomingKind::Command { name, .. } if name == "help" => Some("aide"),
        IncomingKind::Command { .. } => None,
        IncomingKind::Form { .. } => None,
        _ => Some("noté"),
    }))
}

fn seen_len(seen: &Seen) -> usize {
    seen.lock().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serenity_client_receives_and_answers_interactions_over_the_fake_gateway() {
    let fake = FakeGateway::start().await;
    fake.set_heartbeat_interval(Duration::from_millis(300));
    let config = DiscordConfig {
        token: TOKEN.to_owned(),
        application_id: APPLICATION_ID,
        public_key: "00".repeat(32),
        api_url: Some(fake.api_url()),
    };
    let seen: Seen = Arc::default();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let client = {
        let seen = seen.clone();
        tokio::spawn(async move {
            run_gateway(&config, move |incoming| handle(seen.clone(), incoming), async {
                let _ = stopped.await;
            })
            .await
        })
    };

    // Connects through GET /gateway, identifies, gets READY, heartbeats.
    assert!(fake.wait_until(Duration::from_secs(10), |f| f.ready_sessions() == 1).await, "no READY session");
    assert!(fake.gateway_requests() >= 1, "the gateway URL was not asked of the fake REST base");
    let identify = &fake.identifies()[0];
    assert!(identify["token"].as_str().unwrap().ends_with(TOKEN), "{identify}");
    assert_eq!(identify["intents"], json!(1 | (1 << 12)), "GUILDS | DIRECT_MESSAGES");
    assert!(fake.wait_until(Duration::from_secs(5), |f| f.heartbeats() >= 1).await, "no heartbeat");

    // A slash command reaches the handler as the right Incoming; answered ephemeral with the notice.
    let sent = fake.push_interaction(interactions::command(1001, USER, CHANNEL, "fr", "help", &[]));
    assert_eq!(sent, 1);
    assert!(fake.wait_until(Duration::from_secs(5), |f| !f.interaction_responses().is_empty()).await);
    let response = &fake.interaction_responses()[0];
    assert_eq!((response.interaction_id.as_str(), response.token.as_str()), ("1001", "itoken-1001"));
    assert_eq!((response.kind, response.flags(), response.content()), (4, 64, Some("aide")));
    let first = seen.lock().unwrap()[0].clone();
    assert_eq!(
        first,
        Incoming {
            platform: Platform::Discord,
            update_id: "1001".to_owned(),
            user_id: USER.to_string(),
            chat_id: CHANNEL.to_string(),
            user_name: first.user_name.clone(),
            language: Some("fr".to_owned()),
            chat: essaim_chat::ChatKind::Private,
            kind: IncomingKind::Command { name: "help".to_owned(), args: vec![] },
        }
    );

    // Options as strings in declared order; no notice -> « ✅ ».
    fake.push_interaction(interactions::command(1002, USER, CHANNEL, "en-US", "start", &[("code", json!("INV-42"))]));
    assert!(fake.wait_until(Duration::from_secs(5), |f| f.interaction_responses().len() == 2).await);
    let response = &fake.interaction_responses()[1];
    assert_eq!((response.kind, response.flags(), response.content()), (4, 64, Some("✅")));
    let incoming = seen.lock().unwrap()[1].clone();
    assert_eq!(incoming.kind, IncomingKind::Command { name: "start".to_owned(), args: vec!["INV-42".to_owned()] });
    assert_eq!(incoming.language.as_deref(), Some("en-US"));

    // A « q| » button opens the quantity modal once the handler says it may.
    fake.push_interaction(interactions::button(1003, USER, CHANNEL, "fr", "q|offer:7", 555));
    assert!(fake.wait_until(Duration::from_secs(5), |f| f.interaction_responses().len() == 3).await);
    let modal = &fake.interaction_responses()[2];
    assert_eq!((modal.kind, modal.custom_id()), (9, Some("offer:7")));
    assert_eq!(modal.body.pointer("/data/components/0/components/0/type"), Some(&json!(4)), "{}", modal.body);
    assert_eq!(seen.lock().unwrap().remove(2).kind, IncomingKind::OpenForm { data: "offer:7".to_owned() });
    // On a closed offer: the refusal, ephemeral, and no form.
    fake.push_interaction(interactions::button(1008, USER, CHANNEL, "fr", "q|offer:8", 556));
    assert!(fake.wait_until(Duration::from_secs(5), |f| f.interaction_responses().len() == 4).await);
    let refused = fake.interaction_responses().remove(3);
    assert_eq!((refused.kind, refused.flags(), refused.content()), (4, 64, Some("Cette offre n'est plus ouverte.")));
    seen.lock().unwrap().remove(2);

    // A plain button: handler called with the message id, answered with its notice.
    fake.push_interaction(interactions::button(1004, USER, CHANNEL, "fr", "accept:7", 555));
    assert!(fake.wait_until(Duration::from_secs(5), |f| f.interaction_responses().len() == 5).await);
    let response = &fake.interaction_responses()[4];
    assert_eq!((response.kind, response.flags(), response.content()), (4, 64, Some("noté")));
    assert_eq!(
        seen.lock().unwrap()[2].kind,
        IncomingKind::Button { data: "accept:7".to_owned(), message_id: Some("555".to_owned()) }
    );

    // The modal submitted: a Form; no notice -> deferred update (type 6).
    fake.push_interaction(interactions::modal_submit(1005, USER, CHANNEL, "fr", "offer:7", "12"));
    assert!(fake.wait_until(Duration::from_secs(5), |f| f.interaction_responses().len() == 6).await);
    assert_eq!(fake.interaction_responses()[5].kind, 6);
    assert_eq!(seen.lock().unwrap()[3].kind, IncomingKind::Form { data: "offer:7".to_owned(), value: "12".to_owned() });

    // A handler error leaves the interaction unanswered.
    fake.push_interaction(interactions::command(1006, USER, CHANNEL, "fr", "tenders", &[]));
    assert!(fake.wait_until(Duration::from_secs(5), |_| seen_len(&seen) == 5).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.interaction_responses().len(), 6, "a failed handler must not be answered");

    // A slow handler: deferred ephemeral answer within the budget, then @original edited.
    let pushed = Instant::now();
    fake.push_interaction(interactions::command(1007, USER, CHANNEL, "fr", "remind", &[("ref", json!("T-1"))]));
    assert!(fake.wait_until(Duration::from_secs(5), |f| f.interaction_responses().len() == 7).await);
    assert!(pushed.elapsed() < Duration::from_millis(2900), "deferred too late: {:?}", pushed.elapsed());
    let deferred = &fake.interaction_responses()[6];
    assert_eq!((deferred.kind, deferred.flags()), (5, 64));
    assert!(fake.original_edits().is_empty());
    assert!(fake.wait_until(Duration::from_secs(5), |f| f.original_edits().len() == 1).await);
    let edit = &fake.original_edits()[0];
    assert_eq!(
        (edit.application_id.as_str(), edit.token.as_str()),
        (APPLICATION_ID.to_string().as_str(), "itoken-1007")
    );
    assert_eq!(edit.body["content"], json!("relance envoyée"));

    // Shutdown closes the connection and returns Ok.
    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(15), client).await.expect("shutdown timed out").unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert!(fake.wait_until(Duration::from_secs(5), |f| f.open_connections() == 0).await);
    assert_eq!(fake.client_closes(), vec![1000]);
    assert_eq!(fake.connections(), 1, "no reconnection expected");
}

#[tokio::test]
async fn shutdown_before_any_event_returns() {
    let fake = FakeGateway::start().await;
    let config = DiscordConfig {
        token: TOKEN.to_owned(),
        application_id: APPLICATION_ID,
        public_key: "00".repeat(32),
        api_url: Some(fake.api_url()),
    };
    let result = tokio::time::timeout(
        Duration::from_secs(15),
        run_gateway(&config, |_incoming| async { Ok(Handled::default()) }, async {}),
    )
    .await
    .expect("shutdown timed out");
    assert!(result.is_ok(), "{result:?}");
    // The shard that was coming up was closed, not left running.
    assert!(fake.wait_until(Duration::from_secs(5), |f| f.open_connections() == 0).await);
    assert_eq!(fake.client_closes(), vec![1000]);
}

#[tokio::test]
async fn an_empty_token_is_refused_before_connecting() {
    let fake = FakeGateway::start().await;
    let config = DiscordConfig {
        token: String::new(),
        application_id: APPLICATION_ID,
        public_key: "00".repeat(32),
        api_url: Some(fake.api_url()),
    };
    let result = run_gateway(&config, |_incoming| async { Ok(Handled::default()) }, std::future::pending()).await;
    assert!(result.is_err());
    assert_eq!(fake.connections(), 0);
}
