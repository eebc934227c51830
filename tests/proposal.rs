//! The consolidated proposal end to end: a campaign played over Telegram with the real `essaim serve`
//! reaches the buyer's phone as a document when it is ready; the same proposal is served by the HTTP API
//! behind tokens made with `essaim token create`, and written by `essaim proposal`. SQLite and PostgreSQL.

use std::time::Duration;

use essaim_store::testing::with_each_database_url;
use serde_json::Value;

use crate::support::{Bench, FACILITATOR, TENDER, WAIT, button, offer_number, offers, repo_file};

const BUYER_CHAT: i64 = 700;
const BUYER_SIRET: &str = "15543739500017";

/// One HTTP/1.1 request, with the bearer token if any: status and body.
async fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let authorization = token.map(|token| format!("Bearer {token}"));
    let headers: Vec<(&str, &str)> = authorization.iter().map(|value| ("Authorization", value.as_str())).collect();
    crate::support::http(addr, method, path, &headers, body).await
}

async fn http_get(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    http(addr, "GET", path, token, "").await
}

/// `essaim token create …`: the token printed on stdout.
fn token(bench: &Bench, args: &[&str]) -> String {
    let mut all = vec!["token", "create"];
    all.extend_from_slice(args);
    let out = bench.essaim(&all);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ready_campaign_reaches_the_buyer_and_the_api_serves_it_to_the_buyer_only() {
    with_each_database_url(|_backend, url| async move {
        let mut bench = Bench::new(&url).await;
        bench.start_with(&[("ESSAIM_PROPOSAL__PUBLIC_URL", "https://essaim.example.org/")]);
        bench.link_everyone().await;
        let code = bench.invite(&["--buyer", BUYER_SIRET]);
        bench.fake.push_command(BUYER_CHAT, BUYER_CHAT, &format!("/start {code}"));
        bench.wait("the buyer linked", WAIT, |f| !f.messages_to(BUYER_CHAT).is_empty()).await;

        // Before any campaign, the API has no proposal and the chat says so.
        let addr = bench.listening_on().await;
        let facilitator_token = token(&bench, &["--facilitator", "--label", "Claire"]);
        let (status, body) = http_get(&addr, &format!("/proposals/{TENDER}"), Some(&facilitator_token)).await;
        assert_eq!(status, 404, "{body}");
        assert!(body.contains("no_proposal"), "{body}");

        // A tender registered through the API goes through the same checks as `essaim import tender`.
        let sample = std::fs::read_to_string(repo_file("data/tender.json")).expect("sample tender");
        let other = sample.replace(TENDER, "T-2026-015");
        let (status, body) = http(&addr, "POST", "/tenders", Some(&facilitator_token), &other).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = http(&addr, "POST", "/tenders", Some(&facilitator_token), &other).await;
        assert_eq!(status, 409, "{body}");
        let bad = sample.replace("\"nettoyage\"", "\"astronautique\"").replace(TENDER, "T-2026-016");
        let (status, body) = http(&addr, "POST", "/tenders", Some(&facilitator_token), &bad).await;
        assert_eq!(status, 422, "{body}");
        assert!(body.contains("lines[0].sector"), "the field is named: {body}");

        // Launch; every offer is accepted as it arrives until the campaign is ready.
        bench.fake.push_command(FACILITATOR, FACILITATOR, &format!("/repartir {TENDER}"));
        let mut answered = std::collections::BTreeSet::new();
        for _ in 0..40 {
            for m in offers(&bench.fake.sent()) {
                if answered.insert(offer_number(&button(&m, "Accepter"))) {
                    bench.fake.push_button(m.chat_id, m.chat_id, &button(&m, "Accepter"), m.message_id);
                }
            }
            if bench.fake.messages_to(FACILITATOR).iter().any(|m| m.text.contains("terminée")) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        // L6 is covered in part only and the tender is public: the facilitator chooses how to send it.
        bench
            .wait("the facilitator asked about the partial line", WAIT, |f| {
                f.messages_to(FACILITATOR).iter().any(|m| m.text.contains("offre partielle") && !m.buttons.is_empty())
            })
            .await;
        assert!(
            !bench.fake.messages_to(BUYER_CHAT).iter().any(|m| m.method == "sendDocument"),
            "nothing reaches the buyer before the facilitator chose"
        );
        let question = bench
            .fake
            .messages_to(FACILITATOR)
            .into_iter()
            .find(|m| m.text.contains("offre partielle") && !m.buttons.is_empty())
            .expect("the question");
        assert!(question.text.contains("L6"), "the partial line is named: {}", question.text);
        let send_partial = button(&question, "Envoyer en offre partielle");
        bench.fake.push_button(FACILITATOR, FACILITATOR, &send_partial, question.message_id);
        bench
            .wait("the proposal on the buyer's phone", WAIT, |f| {
                f.messages_to(BUYER_CHAT).iter().any(|m| m.method == "sendDocument")
            })
            .await;
        let to_buyer = bench.fake.messages_to(BUYER_CHAT);
        let document = to_buyer.iter().find(|m| m.method == "sendDocument").expect("document");
        assert_eq!(document.document_name.as_deref(), Some("proposition-T-2026-014.html"));
        let page = String::from_utf8(document.document_content.clone().unwrap_or_default()).expect("UTF-8 page");
        assert!(page.contains("Propreté Solidaire Lyonnaise") && page.contains("Définitive"), "the final page");
        let summary: String = to_buyer.iter().map(|m| m.text.clone()).collect::<Vec<_>>().join("\n");
        assert!(summary.contains("Mandataire : Propreté Solidaire Lyonnaise"), "{summary}");
        assert!(summary.contains("Non couvert") && summary.contains("L6"), "the shortfall is stated: {summary}");
        bench
            .wait("the facilitator's link", WAIT, |f| {
                f.messages_to(FACILITATOR).iter().any(|m| {
                    m.text.contains("envoyée à l'acheteur")
                        && m.text.contains("https://essaim.example.org/proposals/T-2026-014?format=html")
                })
            })
            .await;

        // The API: the buyer's token sees it in every format; another buyer's is refused; none, 401.
        let buyer_token = token(&bench, &["--buyer", BUYER_SIRET]);
        let other_token = token(&bench, &["--buyer", "73282932000074"]);
        let (status, json) = http_get(&addr, &format!("/proposals/{TENDER}?format=json"), Some(&buyer_token)).await;
        assert_eq!(status, 200, "{json}");
        let proposal: Value = serde_json::from_str(&json).expect("JSON proposal");
        assert_eq!(proposal["status"], "final");
        // The figures add up from the lots.
        let lots: Vec<&Value> = proposal["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .flat_map(|l| l["lots"].as_array().expect("lots"))
            .collect();
        let hours: f64 = lots.iter().filter(|l| l["unit"] == "h").map(|l| l["quantity"].as_f64().unwrap_or(0.0)).sum();
        assert!((proposal["impact"]["figures"]["total_hours"].as_f64().unwrap_or(-1.0) - hours).abs() < 1e-6);
        assert_eq!(proposal["totals"]["lots"].as_u64(), Some(lots.len() as u64));
        for line in proposal["lines"].as_array().expect("lines") {
            let covered: f64 =
                line["lots"].as_array().expect("lots").iter().map(|l| l["quantity"].as_f64().unwrap_or(0.0)).sum();
            assert!((line["covered"].as_f64().unwrap_or(-1.0) - covered).abs() < 1e-6, "{line}");
        }
        let (status, ocds) = http_get(&addr, &format!("/proposals/{TENDER}?format=ocds"), Some(&buyer_token)).await;
        assert_eq!(status, 200);
        assert!(ocds.contains("\"ocid\": \"ocds-essaim-T-2026-014\""), "{ocds}");
        let (status, html) = http_get(&addr, &format!("/proposals/{TENDER}?format=html"), Some(&buyer_token)).await;
        assert_eq!(status, 200);
        assert!(
            html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"),
            "{}",
            &html[..40.min(html.len())]
        );
        for (token, expected) in [(Some(other_token.as_str()), 403), (None, 401), (Some("esm_forged"), 401)] {
            let (status, body) = http_get(&addr, &format!("/proposals/{TENDER}?format=json"), token).await;
            assert_eq!(status, expected, "{body}");
            assert!(!body.contains("Propreté"), "no data: {body}");
        }
        let (status, list) = http_get(&addr, "/tenders", Some(&other_token)).await;
        assert_eq!((status, list.contains(TENDER)), (200, false), "{list}");

        // A revoked token is refused at once.
        let out = bench.essaim(&["token", "revoke", "nope"]);
        assert_eq!(out.status.code(), Some(2));

        // `essaim proposal` writes the same proposal to a file; bad input exits 2.
        let file = bench.dir.path().join("bid.ocds.json");
        let out = bench.essaim(&["proposal", TENDER, "--format", "ocds", "--output", &file.display().to_string()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("written")).expect("JSON");
        assert_eq!(written["releases"][0]["tender"]["id"], TENDER);
        // The répartition as a workbook: a row per lot of the JSON proposal, the total its totals.
        let file = bench.dir.path().join("bid.xlsx");
        let out = bench.essaim(&["proposal", TENDER, "--format", "xlsx", "--output", &file.display().to_string()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut workbook: calamine::Xlsx<_> = calamine::open_workbook(&file).expect("an XLSX workbook");
        let range = calamine::Reader::worksheet_range(&mut workbook, "Répartition").expect("the répartition sheet");
        let rows: Vec<&[calamine::Data]> = range.rows().collect();
        let mut offers: Vec<f64> = rows
            .iter()
            .skip(1)
            .filter(|r| !r[4].to_string().is_empty())
            .map(|r| match r[17] {
                calamine::Data::Float(n) => n,
                ref other => panic!("offer number {other:?}"),
            })
            .collect();
        offers.sort_by(f64::total_cmp);
        let mut expected: Vec<f64> = lots.iter().map(|l| l["offer"].as_f64().expect("offer")).collect();
        expected.sort_by(f64::total_cmp);
        assert_eq!(offers, expected, "one row per lot");
        let total = rows.last().expect("a total row");
        assert_eq!(total[0].to_string(), "Total");
        assert_eq!(total[11], calamine::Data::Float(proposal["totals"]["amount"].as_f64().expect("priced")));
        let out = bench.essaim(&["proposal", "T-NOPE", "--format", "json"]);
        assert_eq!(out.status.code(), Some(2));
        let out = bench.essaim(&["proposal", TENDER, "--format", "pdf"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--format"));
        assert_eq!(bench.fake.limit_violations(), 0);
        bench.stop();
        Ok::<(), String>(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_disconnected_and_others_are_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    with_each_database_url(|_backend, url| async move {
        let mut bench = Bench::new(&url).await;
        bench.start_with(&[("ESSAIM_SERVE__HEADER_READ_TIMEOUT_S", "1")]);
        let addr = bench.listening_on().await;
        // Half a request, then silence: a half-open connection or a slow-loris client.
        let mut idle = tokio::net::TcpStream::connect(&addr).await.expect("serve accepts connections");
        idle.write_all(format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\n").as_bytes()).await.expect("written");
        let started = std::time::Instant::now();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "the connection is still open after 5 s (deadline 1 s)");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(800), "closed after {waited:?}, before the 1 s deadline");
        let text = String::from_utf8_lossy(&answer);
        assert!(text.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
        // Meanwhile and after, a whole request is answered.
        let (status, body) = http_get(&addr, "/healthz", None).await;
        assert_eq!((status, body.as_str()), (200, "ok"));
        bench.stop();
        Ok::<(), String>(())
    })
    .await;
}
