//! `/metrics` against the real router, as Prometheus scrapes it: behind its own token when one is set, the
//! latency of each request under its route template (never the raw path), the queued messages and
//! campaigns counted in the database at scrape time, and the solver's runs.

use std::sync::Arc;
use std::time::Duration;

use essaim_api::{Access, ApiConfig, ProposalSettings, StaticToken, hash_token};
use essaim_core::proposal::example;
use essaim_core::proposal::ocds::OcdsOptions;
use essaim_core::{GroupementKind, ImpactSettings, Lang, SectorTaxonomy};
use essaim_store::testing::with_each_backend;
use essaim_store::{CampaignAppend, Changeset, NewEvent, NewOutgoing};
use reqwest::StatusCode;

const FACILITATOR: &str = "facilitator-secret-token";
const SCRAPER: &str = "prometheus-scrape-token";

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The value of the one sample line that starts with `series` (name and labels as written).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))?.rsplit(' ').next()?.parse().ok()
}

#[tokio::test]
async fn a_scrape_shows_latency_by_route_template_queues_campaigns_and_solver_runs() {
    with_each_backend(|store| async move {
        let inputs = example::inputs()?;
        store.import_directory(&inputs.suppliers, std::slice::from_ref(&inputs.groupement)).await?;
        store.insert_tender(&inputs.tender).await?;
        let events = inputs
            .events
            .iter()
            .map(|e| Ok(NewEvent { kind: e.kind().to_owned(), payload: serde_json::to_value(e)? }))
            .collect::<Result<Vec<_>, serde_json::Error>>()?;
        let outgoing = |key: &str| NewOutgoing {
            key: key.into(),
            platform: "telegram".into(),
            chat_id: "42".into(),
            payload: serde_json::json!({"text": "offre"}),
        };
        store
            .apply(&Changeset {
                campaign: Some(CampaignAppend {
                    tender: inputs.tender.reference.clone(),
                    expected_version: 0,
                    status: "running".into(),
                    events,
                    holdings: Vec::new(),
                    bookings: Vec::new(),
                }),
                outbox: vec![outgoing("m1"), outgoing("m2")],
                ..Changeset::default()
            })
            .await?;
        let config = ApiConfig {
            proposal: ProposalSettings {
                impact: ImpactSettings::default(),
                bid: essaim_core::proposal::BidSettings::default(),
                groupement_kind: GroupementKind::Conjoint,
                default_lang: Lang::Fr,
                ocds: OcdsOptions::default(),
                public_url: None,
            },
            tokens: vec![StaticToken { sha256: hash_token(FACILITATOR), access: Access::Facilitator }],
            max_body_bytes: 64 * 1024,
            timeout: Duration::from_secs(10),
            taxonomy: SectorTaxonomy::new([]),
            steer: None,
        };
        let app = essaim_api::router(store.clone(), config, Arc::default())
            .merge(essaim_api::metrics_router(store.clone(), Some(hash_token(SCRAPER))));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::new();

        // Its own token: neither none, nor an API token.
        for token in [None, Some(FACILITATOR), Some("wrong")] {
            let mut request = client.get(format!("{url}/metrics"));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            assert_eq!(request.send().await?.status(), StatusCode::UNAUTHORIZED, "token {token:?}");
        }

        let reference = inputs.tender.reference.as_str().to_owned();
        for (path, expected) in [
            (format!("/tenders/{reference}/status"), StatusCode::OK),
            ("/tenders/NOPE-1/status".to_owned(), StatusCode::NOT_FOUND),
            ("/no/such/page".to_owned(), StatusCode::NOT_FOUND),
            ("/healthz".to_owned(), StatusCode::OK),
        ] {
            let response = client.get(format!("{url}{path}")).bearer_auth(FACILITATOR).send().await?;
            assert_eq!(response.status(), expected, "{path}");
        }
        let solved = essaim_solver::allocate(
            &essaim_solver::generate::instance(4, 2, 7),
            &essaim_solver::SolveSettings::default(),
        )?;

        let response = client.get(format!("{url}/metrics")).bearer_auth(SCRAPER).send().await?;
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        let text = response.text().await?;

        assert!(text.contains("# TYPE essaim_http_request_duration_seconds histogram"), "{text}");
        let by_template =
            r#"essaim_http_request_duration_seconds_count{route="/tenders/{reference}/status",method="GET",status="200"}"#;
        assert!(sample(&text, by_template).is_some_and(|n| n >= 1.0), "{by_template} in\n{text}");
        assert!(
            text.contains(r#"route="/tenders/{reference}/status",method="GET",status="404""#),
            "a 404 on a known route keeps its template: {text}"
        );
        assert!(text.contains(r#"route="unmatched""#), "{text}");
        assert!(!text.contains(&format!("/tenders/{reference}")), "no raw path, no tender reference: {text}");
        assert!(!text.contains("NOPE-1") && !text.contains("/no/such/page"), "{text}");

        assert_eq!(sample(&text, r#"essaim_outbox_pending{platform="telegram"}"#), Some(2.0), "{text}");
        assert_eq!(sample(&text, r#"essaim_outbox_pending{platform="discord"}"#), Some(0.0), "{text}");
        let age = sample(&text, r#"essaim_outbox_oldest_pending_age_seconds{platform="telegram"}"#);
        assert!(age.is_some_and(|a| (0.0..60.0).contains(&a)), "{age:?} in {text}");
        assert_eq!(sample(&text, r#"essaim_campaigns{state="running"}"#), Some(1.0), "{text}");

        let status = if solved.status == essaim_solver::Status::Optimal { "optimal" } else { "feasible" };
        let runs = format!("essaim_solver_runs_total{{status=\"{status}\"}}");
        assert!(sample(&text, &runs).is_some_and(|n| n >= 1.0), "{runs} in {text}");
        assert!(text.contains("# TYPE essaim_solver_duration_seconds histogram"), "{text}");

        // A queue that empties reads 0, not a stale 2.
        // (One message of a chat at a time: claim until none is left.)
        loop {
            let claimed = store.claim_outbox(chrono::Utc::now(), 10, Duration::from_secs(60)).await?;
            if claimed.is_empty() {
                break;
            }
            for message in claimed {
                store.outbox_sent(message.id, None).await?;
            }
        }
        let text = client.get(format!("{url}/metrics")).bearer_auth(SCRAPER).send().await?.text().await?;
        assert_eq!(sample(&text, r#"essaim_outbox_pending{platform="telegram"}"#), Some(0.0), "{text}");
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
    .await;
}

#[tokio::test]
async fn without_a_metrics_token_the_scrape_is_open() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = essaim_store::Store::connect(&format!("sqlite://{}", dir.path().join("m.db").display())).await?;
    store.migrate().await?;
    let app = essaim_api::metrics_router(store, None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let response = reqwest::get(format!("{url}/metrics")).await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await?.contains("essaim_outbox_pending{platform=\"telegram\"} 0"));
    Ok(())
}

/// Answers a 429 to the first send, then delivers.
struct SlowDownOnce(std::sync::atomic::AtomicBool);

impl essaim_chat::Sender for SlowDownOnce {
    async fn send(&self, key: &str, _message: &essaim_chat::Outgoing) -> essaim_chat::SendOutcome {
        if !self.0.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return essaim_chat::SendOutcome::RetryAfter(Duration::from_millis(20));
        }
        essaim_chat::SendOutcome::Sent { message_id: format!("id-{key}") }
    }
}

#[tokio::test]
async fn a_scrape_counts_sends_by_platform_and_outcome_with_the_429s() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = essaim_store::Store::connect(&format!("sqlite://{}", dir.path().join("m.db").display())).await?;
    store.migrate().await?;
    let outgoing = essaim_chat::Outgoing::text(essaim_chat::Platform::Discord, "77", "bonjour");
    let payload = serde_json::to_value(outgoing)?;
    store
        .apply(&Changeset {
            outbox: vec![NewOutgoing { key: "d1".into(), platform: "discord".into(), chat_id: "77".into(), payload }],
            ..Changeset::default()
        })
        .await?;
    let app = essaim_api::metrics_router(store.clone(), None);
    let dispatcher = essaim_chat::Dispatcher::new(store.clone()).with_sender(
        essaim_chat::Platform::Discord,
        SlowDownOnce(Default::default()),
        essaim_chat::Limits::none(),
    );
    dispatcher.run_once().await?;
    tokio::time::sleep(Duration::from_millis(30)).await;
    dispatcher.run_once().await?;
    assert!(store.outbox().await?.iter().all(|m| m.status == essaim_store::OutboxStatus::Sent));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let text = reqwest::get(format!("{url}/metrics")).await?.text().await?;
    for outcome in ["rate_limited", "sent"] {
        let series = format!("essaim_outbox_sends_total{{platform=\"discord\",outcome=\"{outcome}\"}}");
        assert_eq!(sample(&text, &series), Some(1.0), "{series} in {text}");
    }
    Ok(())
}
