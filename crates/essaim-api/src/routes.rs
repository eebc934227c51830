use std::collections::HashMap;

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use essaim_core::proposal::{html, ocds};
use essaim_core::{Lang, Proposal, TenderRef};
use serde_json::{Value, json};

use crate::{Access, ApiError, AppState, OPENAPI_JSON, ProposalSettings};

pub(crate) fn router(state: AppState) -> axum::Router {
    let limit = state.config.max_body_bytes;
    let timeout = state.config.timeout;
    axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON) }))
        .route("/tenders", get(list_tenders).post(create_tender))
        .route("/tenders/{reference}/status", get(tender_status))
        .route("/proposals/{reference}", get(proposal))
        .fallback(|| async { ApiError::not_found("no such endpoint; see /openapi.json") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method; see /openapi.json",
            )
        })
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(move |request: Request, next: Next| async move {
            match tokio::time::timeout(timeout, next.run(request)).await {
                Ok(response) => response,
                Err(_) => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "timeout",
                    format!("the request took longer than {} s", timeout.as_secs_f64()),
                )
                .into_response(),
            }
        }))
        .with_state(state)
}

async fn readyz(State(state): State<AppState>) -> Response {
    let database = state.store.ping().await.is_ok();
    let parts = state.health.parts();
    let ready = database && parts.values().all(|up| *up);
    let mut checks = serde_json::Map::new();
    checks.insert("database".into(), Value::Bool(database));
    for (part, up) in parts {
        checks.insert(part, Value::Bool(up));
    }
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({ "status": if ready { "ready" } else { "not_ready" }, "checks": checks }))).into_response()
}

fn parse_reference(reference: &str) -> Result<TenderRef, ApiError> {
    TenderRef::parse("reference", reference).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// The tender if the caller may see it: 404 when unknown, 403 when it is another buyer's.
async fn visible_tender(state: &AppState, access: &Access, reference: &str) -> Result<essaim_core::Tender, ApiError> {
    let reference = parse_reference(reference)?;
    let Some(tender) = state.store.tender(&reference).await? else {
        return Err(ApiError::not_found(format!("no tender {reference}")));
    };
    if !access.may_see(&tender) {
        return Err(ApiError::forbidden(format!("tender {reference} belongs to another buyer")));
    }
    Ok(tender)
}

async fn list_tenders(State(state): State<AppState>, access: Access) -> Result<Json<Value>, ApiError> {
    let campaigns = state.store.campaigns().await?;
    let tenders: Vec<Value> = state
        .store
        .tenders()
        .await?
        .into_iter()
        .filter(|t| match &access {
            Access::Facilitator => true,
            Access::Buyer(siret) => t.buyer_siret.as_ref() == Some(siret),
        })
        .map(|t| {
            let campaign = campaigns.iter().find(|c| c.tender == t.reference).map(|c| c.status.clone());
            json!({
                "reference": t.reference.as_str(),
                "title": t.title,
                "buyer": { "name": t.buyer_name, "siret": t.buyer_siret.as_ref().map(|s| s.as_str()) },
                "deadline": t.deadline,
                "groupement": t.groupement.as_ref().map(|g| g.as_str()),
                "lines": t.lines,
                "campaign_status": campaign,
            })
        })
        .collect();
    Ok(Json(json!({ "tenders": tenders })))
}

async fn create_tender(State(state): State<AppState>, access: Access, body: String) -> Result<Response, ApiError> {
    if access != Access::Facilitator {
        return Err(ApiError::forbidden("only a facilitator token may register tenders"));
    }
    let tender = (state.config.read_tender)(&body)
        .map_err(|message| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_tender", message))?;
    if let Some(code) = &tender.groupement
        && state.store.groupement(code).await?.is_none()
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_tender",
            format!("groupement: unknown groupement {code} (import its members first)"),
        ));
    }
    match state.store.insert_tender(&tender).await {
        Ok(()) => {}
        Err(essaim_store::StoreError::TenderExists { reference }) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "tender_exists",
                format!("tender {reference} is already registered"),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let location = format!("/tenders/{}/status", tender.reference);
    let body = json!({ "reference": tender.reference.as_str(), "lines": tender.lines.len(), "status": location });
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response())
}

async fn tender_status(
    State(state): State<AppState>,
    access: Access,
    Path(reference): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let tender = visible_tender(&state, &access, &reference).await?;
    let (_, campaign) = state.store.campaign(&tender.reference).await?;
    let lines: Vec<(String, f64)> = tender.lines.iter().map(|l| (l.id.clone(), l.quantity)).collect();
    let body = match &campaign {
        None => json!({
            "reference": tender.reference.as_str(),
            "campaign": null,
            "lines": tender.lines.iter().map(|l| json!({
                "id": l.id, "quantity": l.quantity, "unit": l.unit,
                "accepted": 0.0, "pending": 0.0, "declined": 0.0, "uncovered": l.quantity, "reason": null,
            })).collect::<Vec<_>>(),
        }),
        Some(c) => json!({
            "reference": tender.reference.as_str(),
            "campaign": {
                "status": c.status.as_str(),
                "launched_at": c.launched_at,
                "deadline": c.deadline,
                "rounds": c.rounds,
                "open_offers": c.open_offers().count(),
                "ready_at": c.ready.map(|(at, _)| at),
            },
            "lines": c.coverage(&lines).iter().zip(&tender.lines).map(|(cov, l)| json!({
                "id": cov.line, "quantity": l.quantity, "unit": l.unit,
                "accepted": cov.accepted, "pending": cov.pending, "declined": cov.declined,
                "uncovered": cov.uncovered, "reason": cov.reason,
            })).collect::<Vec<_>>(),
        }),
    };
    Ok(Json(body))
}

/// The three forms of a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalFormat {
    Html,
    Json,
    Ocds,
}

impl ProposalFormat {
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "html" => Some(Self::Html),
            "json" => Some(Self::Json),
            "ocds" => Some(Self::Ocds),
            _ => None,
        }
    }

    /// From an `Accept` header: the first of HTML, OCDS or JSON it names; JSON when it names none.
    fn negotiate(accept: &str) -> Self {
        for part in accept.split(',') {
            let mime = part.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            match mime.as_str() {
                "text/html" | "application/xhtml+xml" => return Self::Html,
                m if m.contains("ocds") => return Self::Ocds,
                "application/json" => return Self::Json,
                _ => {}
            }
        }
        Self::Json
    }
}

/// The proposal in one format: its content type and body.
pub fn render_proposal(
    proposal: &Proposal,
    format: ProposalFormat,
    ocds: &ocds::OcdsOptions,
) -> (&'static str, String) {
    match format {
        ProposalFormat::Html => ("text/html; charset=utf-8", html::render(proposal)),
        ProposalFormat::Json => {
            ("application/json", serde_json::to_string_pretty(proposal).unwrap_or_else(|_| "{}".into()))
        }
        ProposalFormat::Ocds => (
            "application/json",
            serde_json::to_string_pretty(&ocds::release_package(proposal, ocds)).unwrap_or_else(|_| "{}".into()),
        ),
    }
}

/// Builds the proposal of a tender for the API: 404 while no campaign was launched.
pub(crate) async fn build_proposal(
    state: &AppState,
    tender: &TenderRef,
    settings: &ProposalSettings,
    lang: Lang,
) -> Result<Proposal, ApiError> {
    let sources = state.store.proposal_sources(tender).await?.ok_or_else(|| ApiError::not_found("no such tender"))?;
    let Some(built) = sources.proposal(&settings.impact, &settings.bid, settings.groupement_kind, lang, Utc::now())
    else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_proposal",
            format!("tender {tender} has no campaign yet: a facilitator launches one with /repartir {tender}"),
        ));
    };
    built.map_err(ApiError::internal)
}

async fn proposal(
    State(state): State<AppState>,
    access: Access,
    Path(reference): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = match query.get("format") {
        Some(f) => ProposalFormat::parse(f)
            .ok_or_else(|| ApiError::bad_request(format!("format: « {f} » is not one of html, json, ocds")))?,
        None => ProposalFormat::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("")),
    };
    let settings = &state.config.proposal;
    let lang = match query.get("lang").map(|l| l.to_ascii_lowercase()) {
        None => settings.default_lang,
        Some(l) if l.starts_with("fr") => Lang::Fr,
        Some(l) if l.starts_with("en") => Lang::En,
        Some(l) => return Err(ApiError::bad_request(format!("lang: « {l} » is not fr or en"))),
    };
    let tender = visible_tender(&state, &access, &reference).await?;
    let proposal = build_proposal(&state, &tender.reference, settings, lang).await?;
    let mut ocds = settings.ocds.clone();
    if let Some(base) = &settings.public_url {
        ocds.uri = Some(format!("{base}/proposals/{}?format=ocds", tender.reference));
    }
    let (content_type, body) = render_proposal(&proposal, format, &ocds);
    Ok(([(header::CONTENT_TYPE, content_type), (header::VARY, "Accept")], body).into_response())
}
