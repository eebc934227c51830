//! The real router on an ephemeral port, on every backend (SQLite always; PostgreSQL when
//! ESSAIM_TEST_POSTGRES_URL is set), called over HTTP as a buyer's or facilitator's program would.

use std::sync::Arc;
use std::time::Duration;

use essaim_api::{Access, ApiConfig, Health, ProposalSettings, StaticToken, hash_token};
use essaim_core::proposal::example;
use essaim_core::proposal::ocds::OcdsOptions;
use essaim_core::{GroupementKind, ImpactSettings, Lang, SectorInfo, SectorTaxonomy, Siret};
use essaim_store::testing::with_each_backend;
use essaim_store::{CampaignAppend, Changeset, NewEvent, Store};
use reqwest::StatusCode;
use serde_json::{Value, json};

const FACILITATOR: &str = "facilitator-secret-token";
const BUYER: &str = "buyer-secret-token";
const OTHER_BUYER: &str = "other-buyer-secret-token";
const BUYER_SIRET: &str = "15543739500017";

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The example tender under another reference, as a tender file (docs/formats.md): what `POST /tenders`
/// reads, with the reader of `essaim import tender`.
fn tender_file(reference: &str) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let tender = example::inputs()?.tender;
    let lines: Vec<Value> = tender
        .lines
        .iter()
        .map(|l| {
            json!({
                "id": l.id, "title": l.title, "sector": l.sector.to_string(), "quantity": l.quantity, "unit": l.unit,
                "site": {"lat": l.site.lat, "lon": l.site.lon}, "max_share": l.max_share, "unit_price": l.unit_price,
            })
        })
        .collect();
    let buyer = json!({"name": tender.buyer.name, "siret": BUYER_SIRET});
    Ok(json!({"ref": reference, "title": tender.title, "buyer": buyer, "groupement": "G-LYON", "lines": lines})
        .to_string())
}

/// The sectors of the example tender.
fn taxonomy() -> Result<SectorTaxonomy, Box<dyn std::error::Error + Send + Sync>> {
    let lines = example::inputs()?.tender.lines;
    Ok(SectorTaxonomy::new(lines.into_iter().map(|l| SectorInfo {
        label_fr: l.sector.to_string(),
        label_en: l.sector.to_string(),
        slug: l.sector,
        unit: l.unit,
    })))
}

/// The example campaign of `essaim_core::proposal::example` in the store, and a served router.
async fn serve(store: Store, health: Arc<Health>) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    serve_with(store, health, None).await
}

/// The same, with the campaign actions run by a real engine on the same store.
async fn serve_steered(store: Store) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let settings = essaim_chat::EngineSettings {
        default_lang: Lang::Fr,
        time_zone: chrono_tz::Europe::Paris,
        response_time: chrono::Duration::hours(48),
        campaign_duration: chrono::Duration::hours(168),
        reminder_schedule: "0 9 * * 1-5".into(),
        tick: Duration::from_secs(30),
        weights: essaim_solver::Weights::default(),
        solve: essaim_solver::SolveSettings::default(),
        taxonomy: essaim_core::SectorTaxonomy::new([]),
        proposal: essaim_chat::ProposalDelivery::default(),
        email: false,
    };
    let engine = essaim_chat::Engine::new(store.clone(), settings, Arc::default());
    let steer: essaim_api::Steer = Arc::new(move |action, reference, lang| {
        let engine = engine.clone();
        Box::pin(async move {
            let command = match action {
                essaim_api::CampaignAction::Status => essaim_chat::Command::Status,
                essaim_api::CampaignAction::Close => essaim_chat::Command::Close,
                essaim_api::CampaignAction::Members => essaim_chat::Command::Members,
                other => return Err(format!("{} is not used by this test", other.as_str())),
            };
            engine.steer("api", command, reference.as_str(), lang).await.map_err(|e| e.to_string())
        })
    });
    serve_with(store, Arc::default(), Some(steer)).await
}

async fn serve_with(
    store: Store,
    health: Arc<Health>,
    steer: Option<essaim_api::Steer>,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let inputs = example::inputs()?;
    store.import_directory(&inputs.suppliers, std::slice::from_ref(&inputs.groupement)).await?;
    store.insert_tender(&inputs.tender).await?;
    let events = inputs
        .events
        .iter()
        .map(|e| Ok(NewEvent { kind: e.kind().to_owned(), payload: serde_json::to_value(e)? }))
        .collect::<Result<Vec<_>, serde_json::Error>>()?;
    store
        .apply(&Changeset {
            campaign: Some(CampaignAppend {
                tender: inputs.tender.reference.clone(),
                expected_version: 0,
                status: "ready".into(),
                events,
                holdings: Vec::new(),
                bookings: Vec::new(),
            }),
            ..Changeset::default()
        })
        .await?;
    // The other buyer's token comes from the database, as `essaim token create` makes it.
    store
        .create_api_token("tok_other", &hash_token(OTHER_BUYER), "buyer", Some(&Siret::parse("73282932000074")?), None)
        .await?;
    let config = ApiConfig {
        proposal: ProposalSettings {
            impact: ImpactSettings::default(),
            bid: essaim_core::proposal::BidSettings::default(),
            groupement_kind: GroupementKind::Conjoint,
            default_lang: Lang::Fr,
            ocds: OcdsOptions::default(),
            public_url: Some("https://essaim.example.org".into()),
        },
        tokens: vec![
            StaticToken { sha256: hash_token(FACILITATOR), access: Access::Facilitator },
            StaticToken { sha256: hash_token(BUYER), access: Access::Buyer(Siret::parse(BUYER_SIRET)?) },
        ],
        max_body_bytes: 64 * 1024,
        timeout: Duration::from_secs(10),
        taxonomy: taxonomy()?,
        steer,
    };
    let app = essaim_api::router(store, config, health);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn get(url: &str, token: Option<&str>) -> Result<(StatusCode, String), reqwest::Error> {
    let mut request = client().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    Ok((response.status(), response.text().await?))
}

fn error_code(body: &str) -> Option<String> {
    serde_json::from_str::<Value>(body).ok()?["error"]["code"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn without_a_valid_token_nothing_is_given_away() {
    with_each_backend(|store| async move {
        let url = serve(store, Arc::default()).await?;
        for path in
            ["/tenders", "/tenders/T-2026-014/status", "/proposals/T-2026-014", "/proposals/T-2026-014?format=ocds"]
        {
            for token in [None, Some("wrong-token"), Some("")] {
                let response = {
                    let mut r = client().get(format!("{url}{path}"));
                    if let Some(t) = token {
                        r = r.header("Authorization", format!("Bearer {t}"));
                    }
                    r.send().await?
                };
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path} with {token:?}");
                assert_eq!(response.headers().get("www-authenticate").map(|v| v.as_bytes()), Some(&b"Bearer"[..]));
                let body = response.text().await?;
                assert_eq!(error_code(&body).as_deref(), Some("unauthorized"), "{body}");
                assert!(!body.contains("Propreté") && !body.contains("T-2026-014"), "no data leaks: {body}");
            }
        }
        // Unknown endpoints and methods answer in the same structured way.
        let (status, body) = get(&format!("{url}/nowhere"), Some(FACILITATOR)).await?;
        assert_eq!((status, error_code(&body).as_deref()), (StatusCode::NOT_FOUND, Some("not_found")));
        let response = client().delete(format!("{url}/tenders")).bearer_auth(FACILITATOR).send().await?;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(error_code(&response.text().await?).as_deref(), Some("method_not_allowed"));
        // Health and the API description are public.
        assert_eq!(get(&format!("{url}/healthz"), None).await?.0, StatusCode::OK);
        assert_eq!(get(&format!("{url}/openapi.json"), None).await?.0, StatusCode::OK);
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
    .await;
}

#[tokio::test]
async fn every_answer_is_hardened_and_every_rejection_structured() {
    with_each_backend(|store| async move {
        let url = serve(store, Arc::default()).await?;
        // Buyer data is never cached; the page may load and run nothing; nothing is sniffed.
        let response =
            client().get(format!("{url}/proposals/T-2026-014?format=html")).bearer_auth(BUYER).send().await?;
        assert_eq!(response.status(), StatusCode::OK);
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
        assert_eq!(header("cache-control").as_deref(), Some("no-store"));
        let csp = header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'none'") && csp.contains("style-src 'unsafe-inline'"), "{csp}");
        let health = client().get(format!("{url}/healthz")).send().await?;
        assert_eq!(health.headers().get("x-content-type-options").map(|v| v.as_bytes()), Some(&b"nosniff"[..]));
        assert!(
            health.headers().get("cache-control").is_none()
                && health.headers().get("content-security-policy").is_none()
        );

        // q-values: a type refused with q=0 is never chosen; the most preferred wins.
        for (accept, expected) in [
            ("text/html;q=0, application/json", "application/json"),
            ("application/json;q=0.5, text/html", "text/html"),
            ("text/html;q=0.2, application/json;q=0.9", "application/json"),
            ("image/png", "application/json"),
        ] {
            let response = client()
                .get(format!("{url}/proposals/T-2026-014"))
                .bearer_auth(BUYER)
                .header("Accept", accept)
                .send()
                .await?;
            let kind =
                response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            assert!(kind.starts_with(expected), "Accept: {accept} gave {kind}");
        }
        // The Bearer scheme is case-insensitive.
        let shouted =
            client().get(format!("{url}/tenders")).header("Authorization", format!("BEARER {BUYER}")).send().await?;
        assert_eq!(shouted.status(), StatusCode::OK);

        // axum's own rejections answer like every other error.
        let (status, body) = get(&format!("{url}/tenders/%FF%FE/status"), Some(FACILITATOR)).await?;
        assert_eq!((status, error_code(&body).as_deref()), (StatusCode::BAD_REQUEST, Some("bad_request")), "{body}");
        let send = |body: Vec<u8>, kind: &'static str| {
            client()
                .post(format!("{url}/tenders"))
                .bearer_auth(FACILITATOR)
                .header("Content-Type", kind)
                .body(body)
                .send()
        };
        let response = send(vec![0xff, 0xfe, b'{'], "application/json").await?;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(error_code(&response.text().await?).as_deref(), Some("bad_request"));
        let response = send(b"ref=T-1".to_vec(), "application/x-www-form-urlencoded").await?;
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(error_code(&response.text().await?).as_deref(), Some("unsupported_media_type"));
        // A declared length over the limit is refused at once (413, not the 503 of the request timeout), as JSON.
        let response = send(vec![b' '; 200 * 1024], "application/json").await?;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(error_code(&response.text().await?).as_deref(), Some("payload_too_large"));
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
    .await;
}

async fn post(url: &str, token: &str) -> Result<(StatusCode, Value), Box<dyn std::error::Error + Send + Sync>> {
    let response = client().post(url).bearer_auth(token).send().await?;
    let status = response.status();
    Ok((status, serde_json::from_str(&response.text().await?)?))
}

#[tokio::test]
async fn a_facilitator_token_steers_a_campaign_through_the_engine_and_nobody_else_does() {
    with_each_backend(|store| async move {
        let url = serve_steered(store).await?;
        let campaign = |action: &str| format!("{url}/tenders/T-2026-014/campaign/{action}");
        let (status, body) = post(&campaign("status"), FACILITATOR).await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["action"], "status");
        let text = body["messages"].as_array().and_then(|m| m.first()).and_then(Value::as_str).unwrap_or_default();
        assert!(text.contains("📊 T-2026-014 — campagne terminée"), "{body}");
        let (_, body) = post(&format!("{}?lang=en", campaign("close")), FACILITATOR).await?;
        assert!(body["messages"][0].as_str().is_some_and(|m| m.contains("is not running")), "{body}");
        let (_, body) = post(&campaign("members"), FACILITATOR).await?;
        assert!(body["messages"][0].as_str().is_some_and(|m| m.contains("👥")), "{body}");

        let (status, body) = post(&campaign("status"), BUYER).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
        let (status, body) = post(&campaign("explode"), FACILITATOR).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{body}");
        let (status, _) = post(&format!("{url}/tenders/NOPE-1/campaign/status"), FACILITATOR).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let response = client().post(campaign("status")).send().await?;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
    .await;
}

#[tokio::test]
async fn a_buyer_sees_its_own_tenders_only() {
    with_each_backend(|store| async move {
        let url = serve(store, Arc::default()).await?;
        let (status, body) = get(&format!("{url}/tenders"), Some(BUYER)).await?;
        assert_eq!(status, StatusCode::OK);
        let list: Value = serde_json::from_str(&body)?;
        assert_eq!(list["tenders"][0]["reference"], "T-2026-014");
        assert_eq!(list["tenders"][0]["campaign_status"], "ready");

        // Another buyer (token from the database): an empty list, 403 on the tender, no data.
        let (status, body) = get(&format!("{url}/tenders"), Some(OTHER_BUYER)).await?;
        assert_eq!((status, serde_json::from_str::<Value>(&body)?), (StatusCode::OK, json!({ "tenders": [] })));
        for path in ["/tenders/T-2026-014/status", "/proposals/T-2026-014?format=html"] {
            let (status, body) = get(&format!("{url}{path}"), Some(OTHER_BUYER)).await?;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
            assert_eq!(error_code(&body).as_deref(), Some("forbidden"));
            assert!(!body.contains("Propreté"), "{body}");
        }
        let (status, body) = get(&format!("{url}/proposals/T-NOPE"), Some(BUYER)).await?;
        assert_eq!((status, error_code(&body).as_deref()), (StatusCode::NOT_FOUND, Some("not_found")));
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
    .await;
}

#[tokio::test]
async fn the_proposal_comes_in_three_formats_by_query_or_accept_header() {
    with_each_backend(|store| async move {
        let url = serve(store, Arc::default()).await?;
        let proposal = format!("{url}/proposals/T-2026-014");

        let (status, body) = get(&format!("{proposal}?format=json"), Some(BUYER)).await?;
        assert_eq!(status, StatusCode::OK);
        let json: Value = serde_json::from_str(&body)?;
        assert_eq!(json["status"], "final");
        assert_eq!(json["groupement"]["lead"], "76694666900070");
        assert_eq!(json["totals"]["lots"], 5);
        assert_eq!(json["language"], "fr");

        let (_, body) = get(&format!("{proposal}?format=ocds"), Some(BUYER)).await?;
        let package: Value = serde_json::from_str(&body)?;
        assert!(package["releases"][0]["ocid"].as_str().is_some_and(|o| o.ends_with("T-2026-014")), "{package}");
        assert_eq!(package["uri"], "https://essaim.example.org/proposals/T-2026-014?format=ocds");

        let html = client()
            .get(&proposal)
            .bearer_auth(BUYER)
            .header("Accept", "text/html,application/xhtml+xml;q=0.9")
            .send()
            .await?;
        assert!(html.headers()["content-type"].to_str()?.starts_with("text/html"));
        let page = html.text().await?;
        assert!(page.contains("Propreté Solidaire Lyonnaise") && page.contains("lang=\"fr\""));

        let ocds =
            client().get(&proposal).bearer_auth(BUYER).header("Accept", "application/vnd.ocds+json").send().await?;
        assert!(ocds.text().await?.contains("\"releases\""));
        let default = client().get(&proposal).bearer_auth(BUYER).send().await?.text().await?;
        assert!(default.contains("\"format_version\""), "JSON when nothing is asked");

        let (_, english) = get(&format!("{proposal}?format=json&lang=en"), Some(BUYER)).await?;
        assert_eq!(serde_json::from_str::<Value>(&english)?["language"], "en");
        let (status, body) = get(&format!("{proposal}?format=pdf"), Some(BUYER)).await?;
        assert_eq!((status, error_code(&body).as_deref()), (StatusCode::BAD_REQUEST, Some("bad_request")));
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
    .await;
}

#[tokio::test]
async fn the_repartition_downloads_as_a_workbook_and_as_csv() {
    with_each_backend(|store| async move {
        let url = serve(store, Arc::default()).await?;
        let proposal = format!("{url}/proposals/T-2026-014");
        let json: Value = serde_json::from_str(&get(&format!("{proposal}?format=json"), Some(BUYER)).await?.1)?;
        let lots = json["totals"]["lots"].as_u64().ok_or("lots")? as usize;

        let response = client().get(format!("{proposal}?format=xlsx")).bearer_auth(BUYER).send().await?;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
        assert_eq!(headers["content-disposition"], "attachment; filename=\"proposition-T-2026-014.xlsx\"");
        let bytes = response.bytes().await?;
        let mut workbook: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec()))?;
        use calamine::Reader;
        assert_eq!(workbook.sheet_names(), ["Répartition", "Membres"]);
        let range = workbook.worksheet_range("Répartition")?;
        let rows: Vec<_> = range.rows().collect();
        // The header, a row per lot (those with a SIRET, column E), a subtotal per line, the total.
        let lot_rows = rows.iter().skip(1).filter(|r| !r[4].to_string().is_empty()).count();
        assert_eq!(lot_rows, lots);
        let total = rows.last().ok_or("a total row")?;
        assert_eq!(total[0].to_string(), "Total");
        // Numbers, not texts: the total HT and TTC are the proposal's.
        let number = |v: &Value| v.as_f64().map(calamine::Data::Float).ok_or("a number");
        assert_eq!(total[11], number(&json["totals"]["amount"])?);
        assert_eq!(total[14], number(&json["totals"]["amount_incl_vat"])?);

        let response = client().get(format!("{proposal}?format=csv&lang=en")).bearer_auth(BUYER).send().await?;
        assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
        assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"proposition-T-2026-014.csv\"");
        let text = response.text().await?;
        let body = text.strip_prefix('\u{feff}').ok_or("a byte-order mark")?;
        let records: Vec<csv::StringRecord> =
            csv::Reader::from_reader(body.as_bytes()).records().collect::<Result<_, _>>()?;
        assert_eq!(records.iter().filter(|r| !r[4].is_empty()).count(), lots, "English CSV: RFC 4180, a row per lot");
        let total = records.last().ok_or("a total row")?;
        assert_eq!(total[11].parse::<f64>().ok(), json["totals"]["amount"].as_f64());

        // Asked by the Accept header, as a spreadsheet program would.
        let csv = client().get(&proposal).bearer_auth(BUYER).header("Accept", "text/csv").send().await?;
        assert!(csv.text().await?.starts_with("\u{feff}Ligne;"), "French CSV by default");
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
    .await;
}

#[tokio::test]
async fn status_shows_every_line_and_a_tender_without_campaign_has_no_proposal_yet() {
    with_each_backend(|store| async move {
        let url = serve(store, Arc::default()).await?;
        let (status, body) = get(&format!("{url}/tenders/T-2026-014/status"), Some(FACILITATOR)).await?;
        assert_eq!(status, StatusCode::OK);
        let s: Value = serde_json::from_str(&body)?;
        assert_eq!(s["campaign"]["status"], "ready");
        let lines: Vec<(String, f64, f64)> = s["lines"]
            .as_array()
            .ok_or("lines")?
            .iter()
            .map(|l| {
                (
                    l["id"].as_str().unwrap_or("").to_owned(),
                    l["accepted"].as_f64().unwrap_or(-1.0),
                    l["uncovered"].as_f64().unwrap_or(-1.0),
                )
            })
            .collect();
        assert_eq!(lines, vec![("L1".into(), 700.0, 300.0), ("L2".into(), 500.0, 0.0), ("L3".into(), 100.0, 300.0)]);

        // A new tender, registered by the facilitator: a status without campaign, no proposal yet.
        let body = tender_file("T-2026-099")?;
        let created =
            client().post(format!("{url}/tenders")).bearer_auth(FACILITATOR).body(body.clone()).send().await?;
        assert_eq!(created.status(), StatusCode::CREATED);
        assert_eq!(created.headers()["location"], "/tenders/T-2026-099/status");
        let again = client().post(format!("{url}/tenders")).bearer_auth(FACILITATOR).body(body.clone()).send().await?;
        assert_eq!(again.status(), StatusCode::CONFLICT);
        let buyer = client().post(format!("{url}/tenders")).bearer_auth(BUYER).body(body.clone()).send().await?;
        assert_eq!(buyer.status(), StatusCode::FORBIDDEN, "buyers read, they do not register");
        // The importer's own checks and messages, field named (the API reads tenders with it).
        for (tender, says) in [
            ("{\"ref\": 1}".to_owned(), "request body:1: ref: invalid type"),
            (body.replace("\"nettoyage\"", "\"plomberie\""), "request body: lines[0].sector:"),
            (
                body.replace("\"T-2026-099\"", "\"T-2026-100\"").replace("\"h\"", "\"pièces\""),
                "request body: lines[0].unit:",
            ),
        ] {
            let bad = client().post(format!("{url}/tenders")).bearer_auth(FACILITATOR).body(tender).send().await?;
            assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let error: Value = serde_json::from_str(&bad.text().await?)?;
            assert_eq!(error["error"]["code"], "invalid_tender", "{error}");
            assert!(error["error"]["message"].as_str().is_some_and(|m| m.starts_with(says)), "{says}: {error}");
        }
        let huge = "x".repeat(100 * 1024);
        let too_big = client().post(format!("{url}/tenders")).bearer_auth(FACILITATOR).body(huge).send().await?;
        assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);

        let (_, body) = get(&format!("{url}/tenders/T-2026-099/status"), Some(FACILITATOR)).await?;
        assert_eq!(serde_json::from_str::<Value>(&body)?["campaign"], Value::Null);

        // References with a slash or accents come back through their Location (ASCII, one path segment).
        for (reference, location) in
            [("BAR/SLASH-1", "/tenders/BAR%2FSLASH-1/status"), ("ÉTÉ-2027", "/tenders/%C3%89T%C3%89-2027/status")]
        {
            let created = client()
                .post(format!("{url}/tenders"))
                .bearer_auth(FACILITATOR)
                .body(tender_file(reference)?)
                .send()
                .await?;
            assert_eq!(created.status(), StatusCode::CREATED, "{reference}");
            assert_eq!(created.headers()["location"], location);
            let (status, body) = get(&format!("{url}{location}"), Some(FACILITATOR)).await?;
            assert_eq!(status, StatusCode::OK, "{reference}: {body}");
            assert_eq!(serde_json::from_str::<Value>(&body)?["reference"], reference, "{body}");
        }
        let (status, body) = get(&format!("{url}/proposals/T-2026-099"), Some(FACILITATOR)).await?;
        assert_eq!((status, error_code(&body).as_deref()), (StatusCode::NOT_FOUND, Some("no_proposal")));
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
    .await;
}

#[tokio::test]
async fn readiness_reports_the_database_and_each_bot() {
    with_each_backend(|store| async move {
        let health = Arc::new(Health::default());
        health.set("telegram", true);
        let url = serve(store, health.clone()).await?;
        let (status, body) = get(&format!("{url}/readyz"), None).await?;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(serde_json::from_str::<Value>(&body)?["checks"], json!({ "database": true, "telegram": true }));
        health.set("telegram", false);
        let (status, body) = get(&format!("{url}/readyz"), None).await?;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(serde_json::from_str::<Value>(&body)?["status"], "not_ready");
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
    .await;
}

#[test]
fn the_openapi_document_describes_every_route() -> TestResult {
    let doc: Value = serde_json::from_str(essaim_api::OPENAPI_JSON)?;
    assert_eq!(doc["openapi"], "3.1.0");
    for path in
        ["/healthz", "/readyz", "/openapi.json", "/tenders", "/tenders/{reference}/status", "/proposals/{reference}"]
    {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    // Every format the route serves is documented, with its media type.
    let get = &doc["paths"]["/proposals/{reference}"]["get"];
    let format = get["parameters"].as_array().ok_or("parameters")?.iter().find(|p| p["name"] == "format");
    let names: Vec<&str> = essaim_api::ProposalFormat::ALL.iter().map(|f| f.as_str()).collect();
    assert_eq!(format.ok_or("format parameter")?["schema"]["enum"], json!(names));
    for media in [
        "text/html",
        "application/json",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/csv",
    ] {
        assert!(get["responses"]["200"]["content"].get(media).is_some(), "{media} is documented");
    }
    Ok(())
}

/// Tokens of a territory, from the database as `essaim token create --facilitator --scope …` makes them.
const LYON_TOKEN: &str = "lyon-facilitator-token";
const BRITTANY_TOKEN: &str = "brittany-facilitator-token";

/// A second tender, in Rennes (Ille-et-Vilaine, 35), of no groupement.
const RENNES_TITLE: &str = "Entretien des espaces verts de Rennes";

async fn two_territories(store: &Store) -> TestResult {
    let lyon = essaim_core::Scope::parse("scope", "G-LYON")?;
    let brittany = essaim_core::Scope::parse("scope", "dep:35,dep:29")?;
    store.create_facilitator_token("tok_lyon", &hash_token(LYON_TOKEN), &lyon, Some("Lyon")).await?;
    store.create_facilitator_token("tok_bzh", &hash_token(BRITTANY_TOKEN), &brittany, Some("Bretagne")).await?;
    let example = example::inputs()?.tender;
    let mut line = example.lines[0].clone();
    line.site = essaim_core::GeoPoint::new(48.111, -1.680)?;
    let rennes = essaim_core::Tender::new(
        essaim_core::TenderRef::parse("ref", "T-RENNES")?,
        RENNES_TITLE,
        essaim_core::Buyer::named("Rennes Métropole", Some(Siret::parse(BUYER_SIRET)?)),
        None,
        None,
        vec![line],
    )?;
    store.insert_tender(&rennes).await?;
    Ok(())
}

fn references(body: &str) -> Vec<String> {
    let body: Value = serde_json::from_str(body).unwrap_or_default();
    body["tenders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["reference"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_facilitator_token_of_a_territory_sees_and_steers_only_its_tenders() {
    with_each_backend(|store| async move {
        let url = serve_steered(store.clone()).await?;
        two_territories(&store).await?;

        // The list: each territory its own, a national token both.
        let (_, body) = get(&format!("{url}/tenders"), Some(LYON_TOKEN)).await?;
        assert_eq!(references(&body), ["T-2026-014"]);
        let (_, body) = get(&format!("{url}/tenders"), Some(BRITTANY_TOKEN)).await?;
        assert_eq!(references(&body), ["T-RENNES"], "by its site in Ille-et-Vilaine");
        let (_, body) = get(&format!("{url}/tenders"), Some(FACILITATOR)).await?;
        assert_eq!(references(&body).len(), 2);

        // Another territory's tender: 403 on status, proposal and every campaign action, naming only the
        // reference asked and the caller's own territory.
        let expected = "tender T-2026-014 is outside this token's territory (dep:29,dep:35)";
        for path in ["/tenders/T-2026-014/status", "/proposals/T-2026-014", "/proposals/T-2026-014?format=ocds"] {
            let (status, body) = get(&format!("{url}{path}"), Some(BRITTANY_TOKEN)).await?;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
            let body: Value = serde_json::from_str(&body)?;
            assert_eq!(body["error"]["message"], expected, "{path}");
        }
        for action in ["status", "close", "members", "launch", "remind", "send"] {
            let (status, body) = post(&format!("{url}/tenders/T-2026-014/campaign/{action}"), BRITTANY_TOKEN).await?;
            assert_eq!(
                (status, body["error"]["message"].as_str()),
                (StatusCode::FORBIDDEN, Some(expected)),
                "{action}"
            );
        }
        let (status, body) = get(&format!("{url}/tenders/T-RENNES/status"), Some(LYON_TOKEN)).await?;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(!body.contains(RENNES_TITLE) && !body.contains("Rennes Métropole"), "{body}");
        // Unknown is still 404, and the closing was refused: the campaign is as it was.
        assert_eq!(get(&format!("{url}/tenders/NOPE-1/status"), Some(BRITTANY_TOKEN)).await?.0, StatusCode::NOT_FOUND);

        // Within the territory the same routes answer.
        assert_eq!(get(&format!("{url}/tenders/T-RENNES/status"), Some(BRITTANY_TOKEN)).await?.0, StatusCode::OK);
        let (status, body) = post(&format!("{url}/tenders/T-2026-014/campaign/status"), LYON_TOKEN).await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["messages"][0].as_str().is_some_and(|m| m.contains("campagne terminée")), "{body}");

        // Registering: a tender of G-LYON around Lyon is Lyon's to register, not Brittany's.
        let body = tender_file("T-NEW")?;
        let register = async |token: &str| {
            let response = client().post(format!("{url}/tenders")).bearer_auth(token).body(body.clone()).send().await?;
            Ok::<_, reqwest::Error>((response.status(), response.text().await?))
        };
        let (status, text) = register(BRITTANY_TOKEN).await?;
        assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
        assert!(text.contains("neither its groupement nor any of its sites is in this token's territory"), "{text}");
        assert!(store.tender(&essaim_core::TenderRef::parse("r", "T-NEW")?).await?.is_none(), "nothing written");
        assert_eq!(register(LYON_TOKEN).await?.0, StatusCode::CREATED);
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
    .await;
}
