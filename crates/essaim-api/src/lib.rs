//! The HTTP API of essaim (axum): tenders, where their campaign stands, and the consolidated proposal
//! as HTML, JSON or an OCDS release package, behind bearer tokens. Health and readiness for the
//! orchestrator; the OpenAPI document at `/openapi.json`.
//!
//! What this crate must not do: decide. It reads the store, asks `essaim-core` to build the proposal,
//! and writes a new tender through the store; every rule lives below it. The bots' webhook routes are
//! merged beside these by the binary.
//!
//! Access: `Authorization: Bearer TOKEN`. A `facilitator` token sees and registers every tender; a
//! `buyer` token sees only the tenders whose buyer has its SIRET (403 on another buyer's). Tokens come
//! from the configuration (as SHA-256 hashes) or from `essaim token create` (hashes in the database).

mod auth;
mod error;
mod metrics;
mod routes;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use essaim_core::proposal::ocds::OcdsOptions;
use essaim_core::{GroupementKind, ImpactSettings, Lang, SectorTaxonomy, TenderRef};
use essaim_store::Store;

pub use auth::{Access, StaticToken, hash_token, new_token};
pub use error::ApiError;
pub use metrics::{CAMPAIGNS, HTTP_DURATION, OUTBOX_OLDEST_AGE, OUTBOX_PENDING, metrics_router};
pub use routes::{ProposalFormat, proposal_file_name, render_proposal};

/// The OpenAPI 3.1 document of this API.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// What the proposal is built with.
#[derive(Debug, Clone)]
pub struct ProposalSettings {
    pub impact: ImpactSettings,
    pub bid: essaim_core::proposal::BidSettings,
    pub groupement_kind: GroupementKind,
    /// Language of the proposal when the request does not ask (`?lang=en`).
    pub default_lang: Lang,
    pub ocds: OcdsOptions,
    /// Base URL of the API as its readers reach it: the OCDS package then names its own address.
    pub public_url: Option<String>,
}

/// A facilitator's action on a campaign (`POST /tenders/{ref}/campaign/{action}`), carried out by the
/// conversation engine the binary wires in: this crate only authorises and relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignAction {
    Launch,
    Status,
    Remind,
    Send,
    Close,
    Members,
}

impl CampaignAction {
    pub const ALL: [CampaignAction; 6] =
        [Self::Launch, Self::Status, Self::Remind, Self::Send, Self::Close, Self::Members];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Launch => "launch",
            Self::Status => "status",
            Self::Remind => "remind",
            Self::Send => "send",
            Self::Close => "close",
            Self::Members => "members",
        }
    }
}

/// Runs a campaign action for `reference` in `lang`; returns the replies the facilitator would read in
/// a chat, or why it could not run.
pub type Steer = Arc<
    dyn Fn(
            CampaignAction,
            TenderRef,
            Lang,
        ) -> std::pin::Pin<Box<dyn Future<Output = Result<Vec<String>, String>> + Send>>
        + Send
        + Sync,
>;

/// The API's configuration.
#[derive(Clone)]
pub struct ApiConfig {
    pub proposal: ProposalSettings,
    pub tokens: Vec<StaticToken>,
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Longest a request may take (503 beyond).
    pub timeout: Duration,
    /// The sectors a tender's lines may name: `POST /tenders` reads its body as `essaim import tender`
    /// reads a file, with [`essaim_import::read_tender`].
    pub taxonomy: SectorTaxonomy,
    /// The campaign actions, when an engine runs beside the API.
    pub steer: Option<Steer>,
}

/// Which parts of the process are up, for `/readyz` (the bots report here; the database is pinged).
#[derive(Debug, Default)]
pub struct Health {
    parts: Mutex<BTreeMap<String, bool>>,
}

impl Health {
    pub fn set(&self, part: &str, up: bool) {
        if let Ok(mut parts) = self.parts.lock() {
            parts.insert(part.to_owned(), up);
        }
    }

    fn parts(&self) -> BTreeMap<String, bool> {
        self.parts.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

#[derive(Clone)]
struct AppState {
    store: Store,
    config: Arc<ApiConfig>,
    health: Arc<Health>,
}

/// The API's routes: `/healthz`, `/readyz`, `/openapi.json`, `/tenders`, `/tenders/{ref}/status`,
/// `/proposals/{ref}`.
/// Each route's latency is recorded under its template for `/metrics` ([`metrics_router`], merged beside).
pub fn router(store: Store, config: ApiConfig, health: Arc<Health>) -> axum::Router {
    metrics::handle();
    routes::router(AppState { store, config: Arc::new(config), health })
        .layer(axum::middleware::from_fn(metrics::track))
}
