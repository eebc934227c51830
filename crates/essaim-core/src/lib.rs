//! The domain of essaim: suppliers (SIAE, GEIQ, ESAT, EA, EATT, TIH), groupements, tenders and their lines, micro-lots,
//! distances and the social-impact figures of an allocation.
//!
//! This crate is pure: no I/O, no async, no database, no clock. Every constructor validates its input
//! and returns a [`DomainError`] naming the offending field, so that a bad CSV row or JSON object can be
//! reported to the person who wrote it.

pub mod booking;
mod campaign;
mod commune;
mod cpv;
mod error;
mod format;
mod geo;
mod groupement;
mod impact;
mod kind;
mod lot;
pub mod proposal;
mod role;
mod sector;
mod siret;
mod supplier;
mod tender;
pub mod territory;

pub use campaign::{
    Actor, Answer, Campaign, CampaignError, CampaignEvent, CampaignStatus, Holding, HoldingState, LineCoverage, Offer,
    OfferId, OfferState, OfferTerms, ReadyCause, ReallocationBasis, Uncovered,
};
pub use commune::{commune_name, commune_position, is_insee_code};
pub use cpv::Cpv;
pub use error::DomainError;
pub use format::{format_number, format_quantity, is_hidden_control, without_hidden_controls};
pub use geo::{EARTH_RADIUS_KM, GeoPoint, haversine_km};
pub use groupement::{Groupement, GroupementCode};
pub use impact::{ImpactFigures, ImpactSettings, KindFigures, LotForImpact, SupplierFigures};
pub use kind::{KindFamily, ParticipationMode, Reservation, SupplierKind};
pub use lot::{ClauseCause, ClauseShortfall, Lang, MicroLot, Shortfall, ShortfallCause};
pub use proposal::{GroupementKind, Proposal, ProposalError, ProposalInput, ProposalStatus};
pub use role::{Role, Scope, departement_of};
pub use sector::{Sector, SectorInfo, SectorTaxonomy};
pub use siret::Siret;
pub use supplier::{Capacities, Contact, Supplier, is_mail_address, parse_capacities};
pub use tender::{Buyer, BuyerKind, Tender, TenderLine, TenderRef, Window, unit_is_hours};

/// Quantities are compared and reported to this precision (the contract reports them to 1e-6).
pub const QUANTITY_EPSILON: f64 = 1e-6;

/// Rounds a quantity to the reporting precision, mapping `-0.0` to `0.0` so that output is stable.
pub fn round_quantity(value: f64) -> f64 {
    let rounded = (value * 1e6).round() / 1e6;
    if rounded == 0.0 { 0.0 } else { rounded }
}

/// Checks that a quantity is finite and not negative; `field` names it in the error.
pub fn check_quantity(field: &str, value: f64) -> Result<f64, DomainError> {
    if !value.is_finite() || value < 0.0 {
        return Err(DomainError::InvalidQuantity { field: field.to_owned(), value });
    }
    Ok(value)
}
