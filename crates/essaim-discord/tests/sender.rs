//! The sender against the fake Discord, through the real serenity client.

mod common;

use std::time::{Duration, Instant};

use common::{CHANNEL, fake_and_http};
use essaim_chat::{Button, Document, Outgoing, Platform, SendOutcome, Sender};
use essaim_discord::DiscordSender;
use essaim_discord::fake::{FakeDiscord, FakeError};

fn button(label: &str, data: &str) -> Button {
    Button { label: label.into(), data: data.into(), asks_quantity: false }
}

fn offer() -> Outgoing {
    Outgoing::text(Platform::Discord, CHANNEL.to_string(), "Lot 3 : 40 h de nettoyage à Villeurbanne").with_buttons(
        vec![
            vec![button("Accepter", "ok:9:T-2026-014"), button("Refuser", "no:9:T-2026-014")],
            vec![Button { asks_quantity: true, ..button("Accepter une partie", "pt:9:T-2026-014") }],
        ],
    )
}

fn sent_id(outcome: &SendOutcome) -> String {
    match outcome {
        SendOutcome::Sent { message_id } => message_id.clone(),
        other => panic!("expected Sent, got {other:?}"),
    }
}

fn pairs(rows: &[&[(&str, &str)]]) -> Vec<Vec<(String, String)>> {
    rows.iter().map(|row| row.iter().map(|(l, d)| (l.to_string(), d.to_string())).collect()).collect()
}

const POST: &str = "POST /channels/1100000000000000042/messages";

#[tokio::test]
async fn offer_arrives_with_coloured_buttons_and_a_form_marker() {
    let (fake, http) = fake_and_http().await;
    let sender = DiscordSender::new(http);
    let outcome = sender.send("offer:9:coop-1", &offer()).await;
    let posts = fake.messages_to(CHANNEL);
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].content, "Lot 3 : 40 h de nettoyage à Villeurbanne");
    assert_eq!(
        posts[0].buttons,
        pairs(&[
            &[("Accepter", "ok:9:T-2026-014"), ("Refuser", "no:9:T-2026-014")],
            &[("Accepter une partie", "q|pt:9:T-2026-014")]
        ])
    );
    assert_eq!(posts[0].styles, vec![vec![3, 4], vec![1]], "green, red, then blurple");
    assert_eq!(sent_id(&outcome), posts[0].id);
    assert_eq!(fake.tokens_used(), [format!("Bot {}", FakeDiscord::TOKEN)]);
}

#[tokio::test]
async fn buttons_are_coloured_by_what_they_do_in_every_language() {
    let (fake, http) = fake_and_http().await;
    let sender = DiscordSender::new(http);
    let mut english = offer();
    english.buttons = vec![
        vec![button("Accept", "ok:9:T-2026-014"), button("Decline", "no:9:T-2026-014")],
        vec![Button { asks_quantity: true, ..button("Accept part", "pt:9:T-2026-014") }],
        vec![button("Forget me", "fy:77"), button("Keep", "fn:77")],
    ];
    sender.send("offer:9:en", &english).await;
    let posts = fake.messages_to(CHANNEL);
    assert_eq!(posts[0].styles, vec![vec![3, 4], vec![1], vec![4, 1]], "green, red; blurple; red, blurple");
}

#[tokio::test]
async fn a_retry_with_the_same_key_posts_once() {
    let (fake, http) = fake_and_http().await;
    let sender = DiscordSender::new(http);
    let first = sender.send("offer:9:coop-1", &offer()).await;
    // The process crashed before recording the send: the dispatcher sends the same row again.
    let again = DiscordSender::new(common::http_for(&fake)).send("offer:9:coop-1", &offer()).await;
    let posts = fake.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(sent_id(&first), sent_id(&again));
    let nonce = posts[0].nonce.clone().expect("a nonce");
    assert!(!nonce.is_empty() && nonce.len() <= 25, "{nonce}");
    assert!(posts[0].enforce_nonce);
    // Another message gets another nonce.
    sender.send("offer:9:coop-2", &offer()).await;
    let posts = fake.posts();
    assert_eq!(posts.len(), 2);
    assert_ne!(posts[1].nonce, posts[0].nonce);
}

#[tokio::test]
async fn edit_replaces_text_and_clears_the_buttons() {
    let (fake, http) = fake_and_http().await;
    let sender = DiscordSender::new(http);
    let id = sent_id(&sender.send("k1", &offer()).await);
    let mut edit = Outgoing::text(Platform::Discord, CHANNEL.to_string(), "Lot 3 : accepté ✅");
    edit.edit_message_id = Some(id.clone());
    let outcome = sender.send("k2", &edit).await;
    assert_eq!(sent_id(&outcome), id);
    let edits = fake.edits();
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0].message_id, id);
    assert_eq!(edits[0].content.as_deref(), Some("Lot 3 : accepté ✅"));
    assert_eq!(edits[0].buttons, Some(vec![]), "the buttons are gone");
    assert_eq!(fake.posts().len(), 1, "an edit posts nothing");

    let mut unknown = edit.clone();
    unknown.edit_message_id = Some("123".into());
    assert!(
        matches!(sender.send("k3", &unknown).await, SendOutcome::Permanent(why) if why.contains("Unknown Message"))
    );
    unknown.edit_message_id = Some("not-an-id".into());
    assert!(matches!(sender.send("k4", &unknown).await, SendOutcome::Permanent(_)));
}

#[tokio::test]
async fn document_is_attached() {
    let (fake, http) = fake_and_http().await;
    let sender = DiscordSender::new(http);
    let mut message = Outgoing::text(Platform::Discord, CHANNEL.to_string(), "Votre proposition");
    message.document = Some(Document {
        file_name: "proposition.html".into(),
        mime_type: "text/html".into(),
        content: "<h1>Proposition</h1>".into(),
        base64: false,
    });
    let outcome = sender.send("doc", &message).await;
    let posts = fake.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(sent_id(&outcome), posts[0].id);
    assert_eq!(posts[0].content, "Votre proposition");
    assert_eq!(posts[0].files, vec![("proposition.html".to_string(), b"<h1>Proposition</h1>".to_vec())]);
    assert!(posts[0].nonce.is_some());
}

#[tokio::test]
async fn long_text_is_split_buttons_under_the_last_part() {
    let (fake, http) = fake_and_http().await;
    let sender = DiscordSender::new(http);
    let text = "Lot 1 — 40 h de nettoyage à Villeurbanne\n".repeat(80);
    let message = Outgoing::text(Platform::Discord, CHANNEL.to_string(), &text)
        .with_buttons(vec![vec![button("Accepter", "ok:1:T-1")]]);
    let outcome = sender.send("long", &message).await;
    let posts = fake.posts();
    assert_eq!(posts.len(), 2);
    assert!(posts.iter().all(|p| p.content.chars().count() <= 2000));
    assert!(posts[0].buttons.is_empty());
    assert_eq!(posts[1].buttons, pairs(&[&[("Accepter", "ok:1:T-1")]]));
    assert_eq!(sent_id(&outcome), posts[1].id);
    // Sent again (crash after the first part): nothing is posted twice.
    sender.send("long", &message).await;
    assert_eq!(fake.posts().len(), 2);
}

#[tokio::test]
async fn rate_limit_is_retry_after_without_sleeping() {
    let (fake, http) = fake_and_http().await;
    let sender = DiscordSender::new(http);
    fake.fail_next(POST, FakeError::RateLimited { retry_after: 64.5 });
    let started = Instant::now();
    let outcome = sender.send("k", &offer()).await;
    assert_eq!(outcome, SendOutcome::RetryAfter(Duration::from_secs_f64(64.5)));
    assert!(started.elapsed() < Duration::from_secs(2), "serenity's limiter must not sleep it out");
    assert!(fake.posts().is_empty());
}

#[tokio::test]
async fn server_errors_are_transient_refusals_permanent() {
    let (fake, http) = fake_and_http().await;
    let sender = DiscordSender::new(http);
    fake.fail_next(POST, FakeError::ServerError);
    assert!(matches!(sender.send("k", &offer()).await, SendOutcome::Transient(_)));
    fake.fail_next(POST, FakeError::Forbidden);
    assert!(matches!(sender.send("k", &offer()).await, SendOutcome::Permanent(why) if why.contains("Missing Access")));
    fake.fail_next(POST, FakeError::UnknownChannel);
    assert!(matches!(sender.send("k", &offer()).await, SendOutcome::Permanent(why) if why.contains("Unknown Channel")));
    assert!(fake.posts().is_empty());
    // Then it goes through.
    assert!(matches!(sender.send("k", &offer()).await, SendOutcome::Sent { .. }));
    let bad = Outgoing::text(Platform::Discord, "general", "x");
    assert!(matches!(sender.send("k", &bad).await, SendOutcome::Permanent(_)));
    let telegram = Outgoing::text(Platform::Telegram, CHANNEL.to_string(), "x");
    assert!(matches!(sender.send("k", &telegram).await, SendOutcome::Permanent(_)));
}

#[tokio::test]
async fn network_failure_is_transient() {
    let fake = FakeDiscord::start().await;
    let http = common::http_for(&fake);
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let config = essaim_discord::DiscordConfig {
        token: "t".into(),
        application_id: 1,
        public_key: String::new(),
        api_url: Some(format!("http://127.0.0.1:{port}")),
    };
    drop(http);
    let sender = DiscordSender::new(essaim_discord::http(&config).expect("client"));
    assert!(matches!(sender.send("k", &offer()).await, SendOutcome::Transient(_)));
}

#[tokio::test]
async fn an_exhausted_bucket_is_waited_for() {
    let (fake, http) = fake_and_http().await;
    let sender = DiscordSender::new(http);
    fake.set_rate_limit(0, 0.4);
    sender.send("a", &offer()).await;
    let started = Instant::now();
    sender.send("b", &offer()).await;
    assert!(started.elapsed() >= Duration::from_millis(350), "{:?}", started.elapsed());
    assert_eq!(fake.posts().len(), 2);
    // A bucket exhausted for long is handed back to the dispatcher.
    fake.set_rate_limit(0, 30.0);
    sender.send("c", &offer()).await;
    assert!(matches!(sender.send("d", &offer()).await, SendOutcome::RetryAfter(d) if d > Duration::from_secs(20)));
    assert_eq!(fake.posts().len(), 3);
}
