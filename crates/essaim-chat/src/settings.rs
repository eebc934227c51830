//! What the engine needs from the configuration.

use std::time::Duration;

use chrono_tz::Tz;
use essaim_core::{Lang, SectorTaxonomy};
use essaim_solver::{SolveSettings, Weights};

/// The engine's settings, built by the binary from its configuration.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Language of users whose platform does not say theirs (French).
    pub default_lang: Lang,
    /// Time zone dates are shown in (Europe/Paris).
    pub time_zone: Tz,
    /// How long a supplier has to answer an offer.
    pub response_time: chrono::Duration,
    /// How long a campaign runs when the tender's own deadline is later (or absent).
    pub campaign_duration: chrono::Duration,
    /// Cron expression (seconds field first, as the `cron` crate reads it) of the reminders.
    pub reminder_schedule: String,
    /// How often the scheduler checks for expired offers and passed deadlines.
    pub tick: Duration,
    pub weights: Weights,
    pub solve: SolveSettings,
    pub taxonomy: SectorTaxonomy,
    pub proposal: ProposalDelivery,
    /// The e-mail channel is configured: a structure with no linked chat account is reached at its
    /// directory contact address.
    pub email: bool,
}

/// How the consolidated proposal is built and linked when it goes to the buyer.
#[derive(Debug, Clone, Default)]
pub struct ProposalDelivery {
    pub impact: essaim_core::ImpactSettings,
    pub bid: essaim_core::proposal::BidSettings,
    pub groupement_kind: essaim_core::GroupementKind,
    /// Base URL of `essaim serve` as buyers and facilitators reach it; links are given when set.
    pub public_url: Option<String>,
}
