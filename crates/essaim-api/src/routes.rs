use std::collections::HashMap;

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use essaim_core::proposal::{html, ocds, sheet};
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
        .route("/tenders/{reference}/campaign/{action}", axum::routing::post(campaign_action))
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
        .layer(middleware::from_fn(move |request: Request, next: Next| harden(request, next, limit)))
        .with_state(state)
}

/// Around every request: a declared body over the limit is refused at once (413), before anything waits
/// for it; a rejection axum's own extractors answer in plain text (a path that is not UTF-8, a body over
/// the limit or not UTF-8, a body that is not JSON) is answered as `{"error": {"code", "message"}}` like
/// every other; and every answer says `X-Content-Type-Options: nosniff`, buyer data (`/tenders…`,
/// `/proposals…`) `Cache-Control: no-store`, and the HTML page a Content-Security-Policy under which it can
/// load and run nothing (it needs nothing: inline style, inline SVG).
async fn harden(request: Request, next: Next, limit: usize) -> Response {
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let buyer_data = ["/tenders", "/proposals"].iter().any(|p| request.uri().path().starts_with(p));
    let mut response = if declared.is_some_and(|n| n > limit as u64) {
        too_large(limit).into_response()
    } else {
        structured(next.run(request).await, limit).await
    };
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if buyer_data {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let html =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/html"));
    if html {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; \
                 frame-ancestors 'none'",
            ),
        );
    }
    response
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", format!("the body is over {limit} bytes"))
}

/// An error answered in plain text (axum's extractor rejections), reworded as the API's JSON error with
/// the same status and message.
async fn structured(response: Response, limit: usize) -> Response {
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || json {
        return response;
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large(limit).into_response();
    }
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        s if s.is_server_error() => "internal",
        _ => "error",
    };
    // axum's rejection texts are short and say what was wrong; a longer body is cut.
    let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap_or_default();
    let message = String::from_utf8_lossy(&body).trim().to_owned();
    let message = if message.is_empty() { status.canonical_reason().unwrap_or("error").to_owned() } else { message };
    ApiError::new(status, code, message).into_response()
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
    match access {
        _ if access.may_see(&tender) => Ok(tender),
        // Its reference, which the caller typed, and the caller's own territory: nothing of the tender.
        Access::Territory(scope) => {
            Err(ApiError::forbidden(format!("tender {reference} is outside this token's territory ({scope})")))
        }
        _ => Err(ApiError::forbidden(format!("tender {reference} belongs to another buyer"))),
    }
}

async fn list_tenders(State(state): State<AppState>, access: Access) -> Result<Json<Value>, ApiError> {
    let campaigns = state.store.campaigns().await?;
    let mut visible = Vec::new();
    for t in state.store.tenders().await? {
        let shown = match &access {
            Access::Facilitator => true,
            Access::Buyer(siret) => t.buyer_siret.as_ref() == Some(siret),
            // Whether a site lies in the territory needs the lines: the whole tender is read.
            Access::Territory(scope) => match state.store.tender(&t.reference).await? {
                Some(tender) => scope.covers(&tender),
                None => false,
            },
        };
        if shown {
            visible.push(t);
        }
    }
    let tenders: Vec<Value> = visible
        .into_iter()
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

async fn create_tender(
    State(state): State<AppState>,
    access: Access,
    headers: HeaderMap,
    body: String,
) -> Result<Response, ApiError> {
    if !access.is_facilitator() {
        return Err(ApiError::forbidden("only a facilitator token may register tenders"));
    }
    // A body declared as something else is not read as JSON (a form, a text file sent by mistake).
    let declared = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if let Some(kind) = declared {
        let mime = kind.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if mime != "application/json" && !mime.ends_with("+json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("a tender is sent as application/json, not {mime}"),
            ));
        }
    }
    let tender = essaim_import::read_tender("request body", &body, &state.config.taxonomy)
        .map_err(|message| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_tender", message))?;
    if let Access::Territory(scope) = &access
        && !scope.covers(&tender)
    {
        return Err(ApiError::forbidden(format!(
            "tender {}: neither its groupement nor any of its sites is in this token's territory ({scope})",
            tender.reference
        )));
    }
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
    let location = format!("/tenders/{}/status", tender.reference.path_segment());
    let body = json!({ "reference": tender.reference.as_str(), "lines": tender.lines.len(), "status": location });
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response())
}

/// A facilitator steers a campaign without chat: the same engine, events and messages as the chat
/// commands; the replies a chat would show come back in `messages`.
async fn campaign_action(
    State(state): State<AppState>,
    access: Access,
    Path((reference, action)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    if !access.is_facilitator() {
        return Err(ApiError::forbidden("only a facilitator token may steer a campaign"));
    }
    let Some(action) = crate::CampaignAction::ALL.into_iter().find(|a| a.as_str() == action) else {
        return Err(ApiError::not_found(format!(
            "no campaign action « {} » (launch, status, remind, send, close, members)",
            action.escape_debug()
        )));
    };
    let tender = visible_tender(&state, &access, &reference).await?;
    let lang = match query.get("lang").map(String::as_str) {
        None => state.config.proposal.default_lang,
        Some("fr") => Lang::Fr,
        Some("en") => Lang::En,
        Some(other) => {
            return Err(ApiError::bad_request(format!("lang: « {} » is not fr or en", other.escape_debug())));
        }
    };
    let Some(steer) = &state.config.steer else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_engine",
            "campaigns are not run by this server",
        ));
    };
    let messages = steer(action, tender.reference.clone(), lang).await.map_err(ApiError::internal)?;
    Ok(Json(json!({ "reference": tender.reference.as_str(), "action": action.as_str(), "messages": messages })))
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

/// The forms of a proposal: the page, the JSON, the OCDS package, and the répartition as a spreadsheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ProposalFormat {
    /// The printable page.
    Html,
    /// The proposal as data (docs/proposal.md).
    Json,
    /// An OCDS 1.1 release package.
    Ocds,
    /// The répartition as a workbook: one row per lot, with the totals.
    Xlsx,
    /// The répartition as CSV.
    Csv,
}

impl ProposalFormat {
    /// Every format, in the order the documentation lists them.
    pub const ALL: [ProposalFormat; 5] = [Self::Html, Self::Json, Self::Ocds, Self::Xlsx, Self::Csv];

    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "html" => Some(Self::Html),
            "json" => Some(Self::Json),
            "ocds" => Some(Self::Ocds),
            "xlsx" => Some(Self::Xlsx),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    /// Every name `parse` takes, for error messages: `html, json, ocds, xlsx, csv`.
    pub fn names() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }

    /// The name `parse` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Html => "html",
            Self::Json => "json",
            Self::Ocds => "ocds",
            Self::Xlsx => "xlsx",
            Self::Csv => "csv",
        }
    }

    /// The file name extension of a proposal written in this format (`proposition-REF.<extension>`).
    pub fn extension(self) -> &'static str {
        match self {
            Self::Html => "html",
            Self::Json => "json",
            Self::Ocds => "ocds.json",
            Self::Xlsx => "xlsx",
            Self::Csv => "csv",
        }
    }

    /// Whether a browser should save it rather than show it: the spreadsheets.
    pub fn is_download(self) -> bool {
        matches!(self, Self::Xlsx | Self::Csv)
    }

    /// From an `Accept` header (RFC 9110 §12.5.1): the format of the most preferred media type it names,
    /// the earlier one on a tie; a type with `q=0` is refused, not chosen; JSON when it names none.
    fn negotiate(accept: &str) -> Self {
        let mut best: Option<(f64, Self)> = None;
        for part in accept.split(',') {
            let mut params = part.split(';');
            let mime = params.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = params
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .map_or(Some(1.0), |(_, v)| v.trim().parse::<f64>().ok().filter(|q| (0.0..=1.0).contains(q)));
            let Some(q) = q.filter(|q| *q > 0.0) else { continue };
            let format = match mime.as_str() {
                "text/html" | "application/xhtml+xml" => Self::Html,
                m if m.contains("ocds") => Self::Ocds,
                sheet::XLSX_CONTENT_TYPE => Self::Xlsx,
                "text/csv" => Self::Csv,
                "application/json" => Self::Json,
                _ => continue,
            };
            if best.is_none_or(|(q_best, _)| q > q_best) {
                best = Some((q, format));
            }
        }
        best.map_or(Self::Json, |(_, format)| format)
    }
}

/// The proposal in one format: its content type and body. Only the workbook can fail to be written (past
/// the limits of the format).
pub fn render_proposal(
    proposal: &Proposal,
    format: ProposalFormat,
    ocds: &ocds::OcdsOptions,
) -> Result<(&'static str, Vec<u8>), sheet::SheetError> {
    Ok(match format {
        ProposalFormat::Html => ("text/html; charset=utf-8", html::render(proposal).into_bytes()),
        ProposalFormat::Json => ("application/json", pretty_json(proposal)),
        ProposalFormat::Ocds => ("application/json", pretty_json(&ocds::release_package(proposal, ocds))),
        ProposalFormat::Xlsx => (sheet::XLSX_CONTENT_TYPE, sheet::xlsx(proposal)?),
        ProposalFormat::Csv => (sheet::CSV_CONTENT_TYPE, sheet::csv(proposal)?.into_bytes()),
    })
}

fn pretty_json(value: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"{}".to_vec())
}

/// The file name a download of the proposal is saved under: `proposition-REF.xlsx`, the reference kept to
/// characters every file system and the header take (a reference may hold `#`, `/` or quotes).
pub fn proposal_file_name(reference: &str, format: ProposalFormat) -> String {
    let safe: String = reference
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    format!("proposition-{safe}.{}", format.extension())
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
        Some(f) => ProposalFormat::parse(f).ok_or_else(|| {
            ApiError::bad_request(format!("format: « {f} » is not one of {}", ProposalFormat::names()))
        })?,
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
        ocds.uri = Some(format!("{base}/proposals/{}?format=ocds", tender.reference.path_segment()));
    }
    let (content_type, body) = render_proposal(&proposal, format, &ocds).map_err(ApiError::internal)?;
    let mut response = ([(header::CONTENT_TYPE, content_type), (header::VARY, "Accept")], body).into_response();
    if format.is_download() {
        let disposition = format!("attachment; filename=\"{}\"", proposal_file_name(tender.reference.as_str(), format));
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}
