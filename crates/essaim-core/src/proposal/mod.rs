//! The consolidated proposal: the grouped bid a groupement sends the buyer, computed from the tender,
//! the groupement and the campaign's accepted offers — who does what, where, for how much, what stays
//! uncovered and why, the social impact, and the commitment behind every lot.
//!
//! Pure like the rest of the crate: [`Proposal::build`] takes everything it needs, including the time it
//! was generated at. The renderers ([`html`], [`ocds`]) are pure functions of a [`Proposal`]; the JSON
//! form is its `serde` serialisation, whose field names are stable (documented in `docs/proposal.md`).

pub mod example;
pub mod html;
pub mod map;
pub mod ocds;
pub mod sheet;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    Actor, Buyer, Campaign, CampaignStatus, Contact, Cpv, GeoPoint, Groupement, ImpactFigures, ImpactSettings,
    KindFamily, Lang, LotForImpact, Offer, OfferState, ParticipationMode, QUANTITY_EPSILON, ReadyCause, Reservation,
    Sector, Supplier, SupplierKind, Tender, TenderLine, Window, format_number, format_quantity, round_quantity,
};

/// How the members of a groupement answer for the contract (Code de la commande publique, R2142-20):
/// in a *conjoint* groupement each member answers for its own part; in a *solidaire* one each member
/// answers for the whole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupementKind {
    #[default]
    Conjoint,
    Solidaire,
}

impl GroupementKind {
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::Conjoint, Lang::Fr) => "groupement conjoint",
            (Self::Solidaire, Lang::Fr) => "groupement solidaire",
            (Self::Conjoint, Lang::En) => "joint groupement (each member answers for its own part)",
            (Self::Solidaire, Lang::En) => "joint and several groupement (each member answers for the whole)",
        }
    }

    /// The stored and serialised name: `conjoint`, `solidaire`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Conjoint => "conjoint",
            Self::Solidaire => "solidaire",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim().to_lowercase();
        [Self::Conjoint, Self::Solidaire].into_iter().find(|k| k.as_str() == value)
    }
}

/// Whether the proposal is final (the campaign is ready) or a draft (offers still open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    Draft,
    Final,
}

/// What a member's share of the whole bid is measured in: the amount when every lot has a price, else
/// the quantity when every lot is in the same unit; with neither, shares would add hours to kilograms,
/// so there are none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareBasis {
    Amount,
    Quantity,
    Unavailable,
}

/// What a bid does with a line its members cover only in part. A public tender's line is either fully
/// covered or not offered: the facilitator chooses when sending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartialLines {
    /// Offer what is covered and mark the line « offre partielle ».
    #[default]
    Mark,
    /// Leave the line out of the bid: its lots are not offered, and the bid says so.
    Omit,
}

/// How the bid is written beyond the impact constants: configuration, and the facilitator's choice on
/// partial lines.
#[derive(Debug, Clone, PartialEq)]
pub struct BidSettings {
    /// VAT rate (0–1) of a line that gives none: 20 % (taux normal, code général des impôts art. 278).
    pub vat_rate: f64,
    /// How long the offer stays valid, in days from the moment it is generated.
    pub validity_days: u32,
    /// Share of the price that is labour cost, by sector (for the OETH estimate).
    pub labour_share: BTreeMap<Sector, f64>,
    /// The labour share of a sector the configuration does not list.
    pub default_labour_share: f64,
    /// The time zone dates are written in.
    pub time_zone: chrono_tz::Tz,
    pub partial_lines: PartialLines,
}

impl Default for BidSettings {
    fn default() -> Self {
        Self {
            vat_rate: 0.2,
            validity_days: 120,
            labour_share: BTreeMap::new(),
            default_labour_share: 0.7,
            time_zone: chrono_tz::Europe::Paris,
            partial_lines: PartialLines::Mark,
        }
    }
}

impl BidSettings {
    pub fn labour_share(&self, sector: &Sector) -> f64 {
        self.labour_share.get(sector).copied().unwrap_or(self.default_labour_share)
    }
}

/// Everything [`Proposal::build`] reads.
#[derive(Debug, Clone)]
pub struct ProposalInput<'a> {
    pub tender: &'a Tender,
    /// The groupement named by the tender, if any (else the bid is an ad hoc grouping of the suppliers
    /// who accepted, whose mandataire the facilitator designates).
    pub groupement: Option<&'a Groupement>,
    /// At least every supplier holding an accepted lot, and the lead.
    pub suppliers: &'a [Supplier],
    pub campaign: &'a Campaign,
    pub impact: &'a ImpactSettings,
    pub bid: &'a BidSettings,
    /// The default kind of groupement, when the tender does not say (configuration).
    pub groupement_kind: GroupementKind,
    pub generated_at: DateTime<Utc>,
    pub lang: Lang,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProposalError {
    #[error("offer {offer} names line `{line}`, which the tender does not have")]
    UnknownLine { offer: u32, line: String },
    #[error("supplier {siret} holds a lot but is not in the directory")]
    UnknownSupplier { siret: String },
    #[error("the campaign belongs to tender {campaign}, not {tender}")]
    OtherTender { campaign: String, tender: String },
}

/// The consolidated grouped bid. Serialised as is for the JSON format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// Version of this JSON layout; bumped on any incompatible change.
    pub format_version: u32,
    pub status: ProposalStatus,
    /// The language of the texts inside (reasons, explanations); field names are always English.
    pub language: Lang,
    pub generated_at: DateTime<Utc>,
    /// The time zone the page writes dates in (IANA name).
    pub time_zone: String,
    /// The offer is valid until then (generation + the configured validity).
    pub valid_until: DateTime<Utc>,
    pub validity_days: u32,
    pub tender: ProposalTender,
    pub campaign: ProposalCampaign,
    pub groupement: ProposalGroupement,
    /// The members taking part in the bid (holding at least one accepted lot), the lead first.
    pub members: Vec<Member>,
    pub lines: Vec<ProposalLine>,
    /// What is not covered, line by line, with the reason in words.
    pub shortfall: Vec<ProposalShortfall>,
    /// Who does what: one row per member and line, with its amount and share of the bid.
    pub repartition: Vec<RepartitionRow>,
    pub totals: Totals,
    pub impact: ProposalImpact,
    /// The social clauses of the tender against the hours the lots bring.
    pub clauses: ClauseFigures,
    /// What the buyer may deduct from its disability-employment contribution, when lots are priced.
    pub oeth: Option<OethEstimate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalTender {
    pub reference: String,
    pub title: String,
    pub buyer: Buyer,
    pub deadline: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalCampaign {
    /// `running` or `ready`.
    pub status: CampaignStatus,
    pub launched_at: DateTime<Utc>,
    pub ready_at: Option<DateTime<Utc>>,
    pub ready_cause: Option<ReadyCause>,
    pub rounds: u32,
    /// Offers still waiting for an answer (only in a draft).
    pub open_offers: usize,
}

impl ProposalCampaign {
    fn of(campaign: &Campaign) -> Self {
        Self {
            status: campaign.status,
            launched_at: campaign.launched_at,
            ready_at: campaign.ready.map(|(at, _)| at),
            ready_cause: campaign.ready.map(|(_, cause)| cause),
            rounds: campaign.rounds,
            open_offers: campaign.open_offers().count(),
        }
    }
}

/// Why a member leads the groupement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadBasis {
    /// The groupement of the directory names it.
    Groupement,
    /// The facilitator designated it for this ad hoc grouping (`/mandataire`).
    Designated,
    /// An ad hoc grouping whose mandataire is not designated yet: the bid cannot be signed as it is.
    ToDesignate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalGroupement {
    /// The groupement's code when the tender names one; `None` for an ad hoc grouping.
    pub code: Option<String>,
    pub name: String,
    pub kind: GroupementKind,
    /// A conjoint groupement whose mandataire is jointly liable for every member (R2142-24).
    pub mandataire_solidaire: bool,
    /// The lead (mandataire, single point of contact for the buyer): a SIRET; `None` until designated.
    pub lead: Option<String>,
    pub lead_basis: LeadBasis,
    /// How to reach the lead (from the directory).
    pub lead_contact: Option<Contact>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub siret: String,
    pub name: String,
    pub kind: SupplierKind,
    /// The kind's legal family: `iae` (an SIAE: EI, ETTI, AI, ACI, EITI) or `disability` (ESAT, EA, EATT,
    /// TIH, whose sales the buyer may deduct from its disability-employment contribution, OETH); `None`
    /// for a GEIQ, which is in neither.
    pub family: Option<KindFamily>,
    /// Its postal address, when the directory gives it.
    pub address: Option<String>,
    /// The commune's name (from the shipped INSEE table when the directory gives a code).
    pub commune: Option<String>,
    /// The INSEE code of the commune, when the directory gives one.
    pub commune_code: Option<String>,
    pub location: GeoPoint,
    pub lead: bool,
    /// Joined the groupement for this tender only (`/inviter`), to cover what its members could not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub joined_for_this_tender: bool,
    pub lots: usize,
    /// Σ quantity of its lots (units of their lines).
    pub quantity: f64,
    /// Σ hours of its lots measured in hours.
    pub hours: f64,
    /// Σ amount of its priced lots, excluding VAT.
    pub amount: Option<f64>,
    /// Σ VAT and Σ amount including VAT of its priced lots.
    pub vat: Option<f64>,
    pub amount_incl_vat: Option<f64>,
    /// Its share of the whole bid (0–1), measured as `totals.share_basis` says (`None` when unavailable).
    pub share_of_bid: Option<f64>,
}

/// A line's social clause against what its lots bring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineClause {
    /// The hours the tender asks for.
    pub target: f64,
    /// Σ quantity × insertion rate of the line's lots (an estimate: the rates are the structures' own or
    /// their kind's default).
    pub projected: f64,
    /// target − projected, at least 0.
    pub gap: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalLine {
    pub id: String,
    pub title: Option<String>,
    pub sector: String,
    pub unit: String,
    pub quantity: f64,
    pub site: GeoPoint,
    /// Where the work takes place, as the buyer wrote it.
    pub address: Option<String>,
    pub window: Option<Window>,
    /// The buyer's reference price per unit, excluding VAT.
    pub unit_price: Option<f64>,
    /// The line's VAT rate (its own, else the configured default).
    pub vat_rate: f64,
    pub cpv: Option<Cpv>,
    /// The family the line is reserved to (Code de la commande publique L2113-12 / L2113-13).
    pub reserved: Option<Reservation>,
    pub participation: Vec<ParticipationMode>,
    pub clause: Option<LineClause>,
    pub lots: Vec<ProposalLot>,
    /// Σ accepted quantity.
    pub covered: f64,
    /// Offered and not answered yet (only in a draft).
    pub pending: f64,
    /// quantity − covered − pending.
    pub uncovered: f64,
    /// Covered in part only: offered as « offre partielle » (`partial_lines: mark`).
    pub partial: bool,
    /// Left out of the bid because it is covered in part only (`partial_lines: omit`); its lots are not
    /// offered.
    pub omitted: bool,
    /// Σ amount of the priced lots, excluding VAT; Σ VAT; Σ including VAT.
    pub amount: Option<f64>,
    pub vat: Option<f64>,
    pub amount_incl_vat: Option<f64>,
}

/// Where a lot's unit price comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceBasis {
    /// The member's own price for the sector (directory, `/tarif`).
    Member,
    /// The buyer's reference price of the line.
    Reference,
    /// Neither: the lot has no amount.
    Unpriced,
}

/// One micro-lot of the bid: an accepted offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalLot {
    /// The offer's number in the campaign.
    pub offer: u32,
    pub line: String,
    pub supplier: String,
    pub supplier_name: String,
    pub quantity: f64,
    pub unit: String,
    /// quantity / the line's quantity (0–1).
    pub share_of_line: f64,
    /// Great-circle distance from the supplier to the site.
    pub distance_km: f64,
    /// How the member takes part: carrying out the lot, or placing its employees with the user (an AI,
    /// ETTI, EATT or GEIQ on a line that accepts it).
    pub participation: ParticipationMode,
    pub unit_price: Option<f64>,
    pub price_basis: PriceBasis,
    /// quantity × unit price, excluding VAT; its VAT; including VAT.
    pub amount: Option<f64>,
    pub vat: Option<f64>,
    pub amount_incl_vat: Option<f64>,
    pub commitment: Commitment,
}

/// How a lot's offer was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Acceptance {
    /// The whole offer: `accept`.
    #[serde(rename = "accept")]
    Whole,
    /// Part of it (« Accepter une partie »): `accept_part`.
    #[serde(rename = "accept_part")]
    Part,
}

/// The evidence behind a lot: who confirmed it, for which structure, when, through which channel. No chat
/// id: the buyer needs the person, not their account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commitment {
    /// `accept` (the whole offer) or `accept_part`.
    pub answer: Acceptance,
    /// What was offered (a partial acceptance is below it).
    pub offered: f64,
    pub confirmed_at: DateTime<Utc>,
    /// `telegram`, `discord`, `cli`, `demo`.
    pub channel: String,
    /// The name of the person who confirmed, as their account gives it.
    pub confirmed_by: Option<String>,
    /// The structure they confirmed for (its account is linked to it by a one-time invitation).
    pub on_behalf_of: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalShortfall {
    pub line: String,
    pub quantity: f64,
    pub unit: String,
    /// Of which still awaiting an answer (draft only).
    pub pending: f64,
    /// The reason, in the proposal's language.
    pub reason: String,
}

/// One member's part of one line: what a mandataire copies into the buyer's forms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepartitionRow {
    pub siret: String,
    pub member: String,
    pub line: String,
    pub quantity: f64,
    pub unit: String,
    pub amount: Option<f64>,
    /// Its share of the whole bid (0–1), measured as `totals.share_basis` says.
    pub share_of_bid: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub lots: usize,
    pub members: usize,
    /// Σ amount of priced lots, excluding VAT (HT).
    pub amount: Option<f64>,
    /// Σ VAT of priced lots.
    pub vat: Option<f64>,
    /// amount + vat (TTC).
    pub amount_incl_vat: Option<f64>,
    pub currency: Currency,
    /// Whether every lot has a price (its member's or the line's).
    pub fully_priced: bool,
    pub share_basis: ShareBasis,
    /// Covered quantity / tendered quantity, per unit (`h`, `m2`…).
    pub coverage_by_unit: BTreeMap<String, UnitCoverage>,
}

/// The currency of every amount of the bid: essaim prices in euros only (a French public tender's
/// price is in euros).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Currency {
    #[default]
    #[serde(rename = "EUR")]
    Eur,
}

impl Currency {
    /// The ISO 4217 code, as serialised: `EUR`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Eur => "EUR",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitCoverage {
    pub tendered: f64,
    pub covered: f64,
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalImpact {
    pub figures: ImpactFigures,
    /// The constants the figures were computed with.
    pub settings: ImpactSettings,
    /// Each headline figure with a one-line explanation of how it was computed.
    pub explained: Vec<ExplainedFigure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainedFigure {
    /// Stable key (`insertion_hours`, `etp`, …).
    pub key: String,
    pub label: String,
    pub value: f64,
    /// The value as a reader sees it, with its unit (`1 234 h`, `42 %`).
    pub display: String,
    pub explanation: String,
}

/// The tender's social clauses in total.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClauseFigures {
    /// Σ of the lines' targets, projected hours and gaps (lines with a clause only).
    pub target: f64,
    pub projected: f64,
    pub gap: f64,
}

/// The buyer's disability-employment (OETH) deduction the bid opens, estimated: since 2020 a buyer may
/// deduct from its contribution 30 % of the labour cost of what it buys from EA (EATT included), ESAT and
/// TIH (code du travail L5212-10-1), up to 50 % of its contribution, or 75 % when its direct employment
/// rate of disabled workers is at least 3 %.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OethEstimate {
    /// Lots held by EA, EATT, ESAT and TIH.
    pub lots: usize,
    /// Σ their amount excluding VAT.
    pub amount: f64,
    /// Σ amount × the labour share of the lot's sector.
    pub labour_cost: f64,
    /// The labour share used, per sector of those lots.
    pub labour_share: BTreeMap<String, f64>,
    /// 30 % of the labour cost.
    pub deductible: f64,
    /// `FIPHFP` (public employer) or `AGEFIPH` (private), when the tender says which kind the buyer is.
    pub fund: Option<String>,
    /// The buyer's contribution before deductions, when the tender gives it, and the cap that applies:
    /// 50 % of it, or 75 % from a 3 % direct employment rate.
    pub contribution: Option<f64>,
    pub cap_share: f64,
    pub cap: Option<f64>,
    /// min(deductible, cap) when the cap is known.
    pub deductible_capped: Option<f64>,
}

/// Current layout of the proposal JSON.
/// 2: the impact figures count each legal family apart (`insertion_hours` SIAE only, `geiq_hours`,
/// `disability_hours`, `disability_structures`) and a member names its `family` (docs/proposal.md).
/// 3: member prices and VAT (`price_basis`, `vat`, `amount_incl_vat`), the lead designated (`lead` may be
/// null, `lead_basis`), `repartition`, `clauses`, `oeth`, partial lines, and a commitment names the person
/// rather than the chat account (`user_id` removed).
pub const PROPOSAL_FORMAT_VERSION: u32 = 3;

/// The suppliers of the input by SIRET.
struct Directory<'a> {
    by_siret: HashMap<&'a str, &'a Supplier>,
}

impl<'a> Directory<'a> {
    fn new(suppliers: &'a [Supplier]) -> Self {
        Self { by_siret: suppliers.iter().map(|s| (s.siret.as_str(), s)).collect() }
    }

    fn get(&self, siret: &str) -> Result<&'a Supplier, ProposalError> {
        self.by_siret.get(siret).copied().ok_or_else(|| ProposalError::UnknownSupplier { siret: siret.to_owned() })
    }

    fn name(&self, siret: &str) -> String {
        self.by_siret.get(siret).map_or_else(|| siret.to_owned(), |s| s.name.clone())
    }
}

/// The lines with their lots, as the campaign's accepted offers make them.
fn lines_with_lots(input: &ProposalInput<'_>, dir: &Directory<'_>) -> Result<Vec<ProposalLine>, ProposalError> {
    let ProposalInput { tender, campaign, bid, .. } = input;
    let mut lines: Vec<ProposalLine> = tender.lines.iter().map(|l| line_of(l, bid)).collect();
    for offer in campaign.offers.values() {
        let Some(index) = lines.iter().position(|l| l.id == offer.terms.line) else {
            return Err(ProposalError::UnknownLine { offer: offer.terms.id, line: offer.terms.line.clone() });
        };
        let line = &mut lines[index];
        match &offer.state {
            OfferState::Open => line.pending += offer.terms.quantity,
            OfferState::Accepted { quantity, by, at } => {
                let supplier = dir.get(&offer.terms.supplier)?;
                let accepted = Accepted { offer, supplier, quantity: *quantity, by, at: *at };
                line.lots.push(lot_of(&accepted, line, &tender.lines[index].sector));
                line.covered += quantity;
            }
            _ => {}
        }
    }
    for line in &mut lines {
        settle(line, bid.partial_lines);
    }
    Ok(lines)
}

/// A tender line as the bid states it, before its lots.
fn line_of(l: &TenderLine, bid: &BidSettings) -> ProposalLine {
    ProposalLine {
        id: l.id.clone(),
        title: l.title.clone(),
        sector: l.sector.to_string(),
        unit: l.unit.clone(),
        quantity: l.quantity,
        site: l.site,
        address: l.address.clone(),
        window: l.window,
        unit_price: l.unit_price,
        vat_rate: l.vat_rate.unwrap_or(bid.vat_rate),
        cpv: l.cpv.clone(),
        reserved: l.reserved,
        participation: l.participation.clone(),
        clause: None,
        lots: Vec::new(),
        covered: 0.0,
        pending: 0.0,
        uncovered: 0.0,
        partial: false,
        omitted: false,
        amount: None,
        vat: None,
        amount_incl_vat: None,
    }
}

/// An accepted offer with the structure that holds it and who confirmed it when.
struct Accepted<'a> {
    offer: &'a Offer,
    supplier: &'a Supplier,
    quantity: f64,
    by: &'a Actor,
    at: DateTime<Utc>,
}

/// The lot an accepted offer makes on `line` (of `sector`), priced at its member's price for the sector,
/// else the line's reference price.
fn lot_of(accepted: &Accepted<'_>, line: &ProposalLine, sector: &Sector) -> ProposalLot {
    let Accepted { offer, supplier: s, quantity, by, at } = accepted;
    let (unit_price, price_basis) = match (s.price(sector), line.unit_price) {
        (Some(p), _) => (Some(p), PriceBasis::Member),
        (None, Some(p)) => (Some(p), PriceBasis::Reference),
        (None, None) => (None, PriceBasis::Unpriced),
    };
    let amount = unit_price.map(|p| round_money(p * quantity));
    let vat = amount.map(|a| round_money(a * line.vat_rate));
    let accepted_whole = (quantity - offer.terms.quantity).abs() <= QUANTITY_EPSILON;
    ProposalLot {
        offer: offer.terms.id,
        line: line.id.clone(),
        supplier: offer.terms.supplier.clone(),
        supplier_name: s.name.clone(),
        quantity: round_quantity(*quantity),
        unit: line.unit.clone(),
        share_of_line: if line.quantity > 0.0 { round_quantity(quantity / line.quantity) } else { 0.0 },
        distance_km: offer.terms.distance_km,
        participation: s.kind.mode(),
        unit_price,
        price_basis,
        amount,
        vat,
        amount_incl_vat: amount.zip(vat).map(|(a, v)| round_money(a + v)),
        commitment: Commitment {
            answer: if accepted_whole { Acceptance::Whole } else { Acceptance::Part },
            offered: round_quantity(offer.terms.quantity),
            confirmed_at: *at,
            channel: by.channel.clone(),
            confirmed_by: by.name.clone(),
            on_behalf_of: s.name.clone(),
        },
    }
}

/// A line once all its offers are counted: its quantities rounded, marked partial or left out as the
/// facilitator chose, and its amounts summed.
fn settle(line: &mut ProposalLine, partial_lines: PartialLines) {
    line.covered = round_quantity(line.covered);
    line.pending = round_quantity(line.pending);
    line.uncovered = round_quantity((line.quantity - line.covered - line.pending).max(0.0));
    // A line with lots and a shortfall is covered in part only. What is still offered (pending) is not
    // missing yet: a draft shows it as awaiting an answer, not as a partial offer.
    if !line.lots.is_empty() && line.uncovered > QUANTITY_EPSILON {
        match partial_lines {
            PartialLines::Mark => line.partial = true,
            PartialLines::Omit => {
                line.omitted = true;
                line.lots.clear();
            }
        }
    }
    let priced: Vec<&ProposalLot> = line.lots.iter().filter(|l| l.amount.is_some()).collect();
    if !priced.is_empty() {
        line.amount = Some(round_money(priced.iter().filter_map(|l| l.amount).sum()));
        line.vat = Some(round_money(priced.iter().filter_map(|l| l.vat).sum()));
        line.amount_incl_vat = line.amount.zip(line.vat).map(|(a, v)| round_money(a + v));
    }
}

/// The sums over every lot of the bid, and what they make the members' shares measured in.
struct LotSums {
    count: usize,
    fully_priced: bool,
    any_priced: bool,
    amount: f64,
    vat: f64,
    share_basis: ShareBasis,
}

impl LotSums {
    fn of(lines: &[ProposalLine]) -> Self {
        let lots: Vec<&ProposalLot> = lines.iter().flat_map(|l| &l.lots).collect();
        let fully_priced = lots.iter().all(|l| l.amount.is_some());
        let amount: f64 = lots.iter().filter_map(|l| l.amount).sum();
        let quantity: f64 = lots.iter().map(|l| l.quantity).sum();
        let one_unit = lots.windows(2).all(|w| w[0].unit == w[1].unit);
        let share_basis = if fully_priced && amount > 0.0 {
            ShareBasis::Amount
        } else if one_unit && quantity > 0.0 {
            ShareBasis::Quantity
        } else {
            ShareBasis::Unavailable
        };
        Self {
            count: lots.len(),
            fully_priced,
            any_priced: lots.iter().any(|l| l.amount.is_some()),
            amount,
            vat: lots.iter().filter_map(|l| l.vat).sum(),
            share_basis,
        }
    }

    fn totals(&self, members: &[Member], lines: &[ProposalLine]) -> Totals {
        let priced = |v: f64| self.any_priced.then(|| round_money(v));
        Totals {
            lots: self.count,
            members: members.iter().filter(|m| m.lots > 0).count(),
            amount: priced(self.amount),
            vat: priced(self.vat),
            amount_incl_vat: priced(round_money(self.amount) + round_money(self.vat)),
            currency: Currency::Eur,
            fully_priced: self.fully_priced,
            share_basis: self.share_basis,
            coverage_by_unit: coverage_by_unit(lines),
        }
    }
}

/// Every member holding a lot, with its totals and share of the bid.
fn members_of(
    lines: &[ProposalLine],
    share_basis: ShareBasis,
    input: &ProposalInput<'_>,
    dir: &Directory<'_>,
) -> Result<BTreeMap<String, Member>, ProposalError> {
    let lots: Vec<&ProposalLot> = lines.iter().flat_map(|l| &l.lots).collect();
    let total_amount: f64 = lots.iter().filter_map(|l| l.amount).sum();
    let total_quantity: f64 = lots.iter().map(|l| l.quantity).sum();
    let mut members: BTreeMap<String, Member> = BTreeMap::new();
    for lot in &lots {
        let m = members.entry(lot.supplier.clone()).or_insert(member(dir.get(&lot.supplier)?));
        m.joined_for_this_tender = input.campaign.added_suppliers.contains(&lot.supplier);
        m.lots += 1;
        m.quantity += lot.quantity;
        if crate::unit_is_hours(&lot.unit) {
            m.hours += lot.quantity;
        }
        if let (Some(a), Some(v)) = (lot.amount, lot.vat) {
            m.amount = Some(m.amount.unwrap_or(0.0) + a);
            m.vat = Some(m.vat.unwrap_or(0.0) + v);
        }
    }
    for m in members.values_mut() {
        m.quantity = round_quantity(m.quantity);
        m.hours = round_quantity(m.hours);
        m.amount = m.amount.map(round_money);
        m.vat = m.vat.map(round_money);
        m.amount_incl_vat = m.amount.zip(m.vat).map(|(a, v)| round_money(a + v));
        m.share_of_bid = match share_basis {
            ShareBasis::Amount => Some(round_quantity(m.amount.unwrap_or(0.0) / total_amount)),
            ShareBasis::Quantity => Some(round_quantity(m.quantity / total_quantity)),
            ShareBasis::Unavailable => None,
        };
    }
    Ok(members)
}

/// The lead: the groupement's, else the one the facilitator designated — never computed.
fn lead_of(input: &ProposalInput<'_>) -> (Option<String>, LeadBasis) {
    match (input.groupement, &input.campaign.designated_lead) {
        (Some(g), _) => (Some(g.lead.to_string()), LeadBasis::Groupement),
        (None, Some(siret)) => (Some(siret.clone()), LeadBasis::Designated),
        (None, None) => (None, LeadBasis::ToDesignate),
    }
}

/// The members of the bid, the lead among them (with or without lots), the lead first, then by
/// decreasing share of the bid (by quantity when shares are unavailable), then by SIRET.
fn ranked_members(
    lines: &[ProposalLine],
    share_basis: ShareBasis,
    lead: Option<&str>,
    input: &ProposalInput<'_>,
    dir: &Directory<'_>,
) -> Result<Vec<Member>, ProposalError> {
    let mut members = members_of(lines, share_basis, input, dir)?;
    if let Some(lead) = lead {
        if !members.contains_key(lead) {
            // A named lead without lots of its own still answers for the groupement.
            let mut m = member(dir.get(lead)?);
            m.share_of_bid = (share_basis != ShareBasis::Unavailable).then_some(0.0);
            members.insert(lead.to_owned(), m);
        }
        if let Some(m) = members.get_mut(lead) {
            m.lead = true;
        }
    }
    let weight = |m: &Member| m.share_of_bid.unwrap_or(m.quantity);
    let mut members: Vec<Member> = members.into_values().collect();
    members.sort_by(|a, b| b.lead.cmp(&a.lead).then(weight(b).total_cmp(&weight(a))).then(a.siret.cmp(&b.siret)));
    Ok(members)
}

/// The groupement answering: the tender's, else an ad hoc grouping named after the tender.
fn groupement_of(
    input: &ProposalInput<'_>,
    lead: Option<String>,
    lead_basis: LeadBasis,
    dir: &Directory<'_>,
) -> ProposalGroupement {
    let ProposalInput { tender, groupement, groupement_kind, lang, .. } = input;
    let kind = tender.groupement_kind.unwrap_or(*groupement_kind);
    ProposalGroupement {
        code: groupement.map(|g| g.code.to_string()),
        name: groupement.map(|g| g.name.clone()).unwrap_or_else(|| match lang {
            Lang::Fr => format!("Groupement pour {}", tender.reference),
            Lang::En => format!("Groupement for {}", tender.reference),
        }),
        kind,
        // Only a conjoint groupement has a mandataire solidaire apart (R2142-24); in a solidaire one
        // every member is already jointly liable.
        mandataire_solidaire: tender.mandataire_solidaire && kind == GroupementKind::Conjoint,
        lead_contact: lead.as_deref().and_then(|l| dir.get(l).ok()).map(|s| s.contact.clone()),
        lead,
        lead_basis,
    }
}

/// The social-impact figures of the lots, each headline figure explained.
fn impact_of(lines: &[ProposalLine], input: &ProposalInput<'_>, dir: &Directory<'_>) -> ProposalImpact {
    let figures = ImpactFigures::compute(
        lines.iter().flat_map(|l| &l.lots).filter_map(|l| {
            let s = dir.get(&l.supplier).ok()?;
            Some(LotForImpact {
                supplier: &l.supplier,
                kind: s.kind,
                insertion_rate: s.insertion_rate,
                quantity: l.quantity,
                unit: &l.unit,
                distance_km: l.distance_km,
            })
        }),
        input.impact,
    );
    let explained = explain(&figures, input.impact, input.lang);
    ProposalImpact { figures, settings: input.impact.clone(), explained }
}

/// What is not covered, line by line, with the campaign's explanation rendered for the reader.
fn shortfall_of(
    lines: &[ProposalLine],
    input: &ProposalInput<'_>,
    name_of: &dyn Fn(&str) -> String,
) -> Vec<ProposalShortfall> {
    let lang = input.lang;
    lines
        .iter()
        .filter(|l| l.uncovered + l.pending > QUANTITY_EPSILON)
        .map(|l| {
            let explained = input.campaign.uncovered.iter().find(|u| u.line == l.id);
            let mut reason = explained
                .map(|u| {
                    if u.causes.is_empty() {
                        u.reason.clone()
                    } else {
                        u.causes.iter().map(|c| c.render(lang, name_of)).collect::<Vec<_>>().join(" ; ")
                    }
                })
                .unwrap_or_default();
            if reason.is_empty() {
                reason = match lang {
                    Lang::Fr => "offres refusées ou restées sans réponse".into(),
                    Lang::En => "offers declined or left unanswered".into(),
                };
            }
            if l.pending > QUANTITY_EPSILON {
                let waiting = match lang {
                    Lang::Fr => format!("{} en attente de réponse", format_quantity(l.pending, lang)),
                    Lang::En => format!("{} awaiting an answer", format_quantity(l.pending, lang)),
                };
                reason = if l.uncovered > QUANTITY_EPSILON { format!("{waiting} ; {reason}") } else { waiting };
            }
            if l.omitted {
                reason = match lang {
                    Lang::Fr => format!("ligne non offerte (couverte en partie seulement : {reason})"),
                    Lang::En => format!("line not offered (covered in part only: {reason})"),
                };
            }
            let quantity = if l.omitted { l.quantity } else { l.uncovered + l.pending };
            ProposalShortfall {
                line: l.id.clone(),
                quantity: round_quantity(quantity),
                unit: l.unit.clone(),
                pending: l.pending,
                reason,
            }
        })
        .collect()
}

/// Covered quantity / tendered quantity, per unit.
fn coverage_by_unit(lines: &[ProposalLine]) -> BTreeMap<String, UnitCoverage> {
    let mut coverage: BTreeMap<String, UnitCoverage> = BTreeMap::new();
    for l in lines {
        let c = coverage.entry(l.unit.clone()).or_insert(UnitCoverage { tendered: 0.0, covered: 0.0, share: 0.0 });
        c.tendered += l.quantity;
        c.covered += l.lots.iter().map(|lot| lot.quantity).sum::<f64>();
    }
    for c in coverage.values_mut() {
        c.tendered = round_quantity(c.tendered);
        c.covered = round_quantity(c.covered);
        c.share = if c.tendered > 0.0 { round_quantity(c.covered / c.tendered) } else { 0.0 };
    }
    coverage
}

/// Each line's clause against the hours its lots bring (quantity × the structure's rate, its own or its
/// kind's default), and the sums.
fn clauses_of(
    lines: &mut [ProposalLine],
    input: &ProposalInput<'_>,
    dir: &Directory<'_>,
) -> Result<ClauseFigures, ProposalError> {
    let mut total = ClauseFigures::default();
    for (line, tender_line) in lines.iter_mut().zip(&input.tender.lines) {
        let Some(target) = tender_line.insertion_hours_min else { continue };
        let mut projected = 0.0;
        for lot in &line.lots {
            let s = dir.get(&lot.supplier)?;
            let rate = s.insertion_rate.or_else(|| input.impact.insertion_rate.get(&s.kind).copied()).unwrap_or(0.0);
            projected += lot.quantity * rate;
        }
        let clause = LineClause {
            target,
            projected: round_quantity(projected),
            gap: round_quantity((target - projected).max(0.0)),
        };
        total.target += clause.target;
        total.projected += clause.projected;
        total.gap += clause.gap;
        line.clause = Some(clause);
    }
    total.target = round_quantity(total.target);
    total.projected = round_quantity(total.projected);
    total.gap = round_quantity(total.gap);
    Ok(total)
}

/// The OETH estimate (see [`OethEstimate`]); `None` when no priced lot is held by EA, EATT, ESAT or TIH.
fn oeth_of(
    lines: &[ProposalLine],
    input: &ProposalInput<'_>,
    dir: &Directory<'_>,
) -> Result<Option<OethEstimate>, ProposalError> {
    // Purchases deductible under L5212-10-1: EA (an EATT is an EA), ESAT, TIH.
    let deductible_kinds = [SupplierKind::Ea, SupplierKind::Eatt, SupplierKind::Esat, SupplierKind::Tih];
    let (mut lots, mut amount, mut labour_cost) = (0, 0.0, 0.0);
    let mut labour_share = BTreeMap::new();
    for (line, tender_line) in lines.iter().zip(&input.tender.lines) {
        for lot in &line.lots {
            let Some(a) = lot.amount else { continue };
            if !deductible_kinds.contains(&dir.get(&lot.supplier)?.kind) {
                continue;
            }
            let share = input.bid.labour_share(&tender_line.sector);
            labour_share.insert(tender_line.sector.to_string(), share);
            lots += 1;
            amount += a;
            labour_cost += a * share;
        }
    }
    if lots == 0 {
        return Ok(None);
    }
    let buyer = &input.tender.buyer;
    let deductible = round_money(0.3 * labour_cost);
    let cap_share = if buyer.direct_employment_rate.is_some_and(|r| r >= 0.03) { 0.75 } else { 0.5 };
    let cap = buyer.oeth_contribution.map(|c| round_money(c * cap_share));
    Ok(Some(OethEstimate {
        lots,
        amount: round_money(amount),
        labour_cost: round_money(labour_cost),
        labour_share,
        deductible,
        fund: buyer.kind.map(|k| k.fund().to_owned()),
        contribution: buyer.oeth_contribution,
        cap_share,
        cap,
        deductible_capped: cap.map(|c| deductible.min(c)),
    }))
}

/// Who does what: one row per member and line, in the order of the lines, then of the members.
fn repartition_of(lines: &[ProposalLine], members: &[Member], share_basis: ShareBasis) -> Vec<RepartitionRow> {
    let total_amount: f64 = lines.iter().flat_map(|l| &l.lots).filter_map(|l| l.amount).sum();
    let total_quantity: f64 = lines.iter().flat_map(|l| &l.lots).map(|l| l.quantity).sum();
    let mut rows = Vec::new();
    for line in lines {
        for m in members {
            let lots: Vec<&ProposalLot> = line.lots.iter().filter(|l| l.supplier == m.siret).collect();
            if lots.is_empty() {
                continue;
            }
            let quantity = round_quantity(lots.iter().map(|l| l.quantity).sum());
            let amount = lots
                .iter()
                .all(|l| l.amount.is_some())
                .then(|| round_money(lots.iter().filter_map(|l| l.amount).sum()));
            rows.push(RepartitionRow {
                siret: m.siret.clone(),
                member: m.name.clone(),
                line: line.id.clone(),
                quantity,
                unit: line.unit.clone(),
                amount,
                share_of_bid: match share_basis {
                    ShareBasis::Amount => amount.map(|a| round_quantity(a / total_amount)),
                    ShareBasis::Quantity => Some(round_quantity(quantity / total_quantity)),
                    ShareBasis::Unavailable => None,
                },
            });
        }
    }
    rows
}

impl Proposal {
    /// The bid of `input`'s campaign as it stands: its lines and lots, members, shortfall, répartition,
    /// totals, clauses, OETH estimate and impact.
    pub fn build(input: &ProposalInput<'_>) -> Result<Self, ProposalError> {
        let ProposalInput { tender, suppliers, campaign, bid, generated_at, lang, .. } = input.clone();
        if campaign.tender != tender.reference {
            return Err(ProposalError::OtherTender {
                campaign: campaign.tender.to_string(),
                tender: tender.reference.to_string(),
            });
        }
        let dir = Directory::new(suppliers);
        let mut lines = lines_with_lots(input, &dir)?;
        let sums = LotSums::of(&lines);
        let (lead, lead_basis) = lead_of(input);
        let members = ranked_members(&lines, sums.share_basis, lead.as_deref(), input, &dir)?;
        let shortfall = shortfall_of(&lines, input, &|id: &str| dir.name(id));
        let clauses = clauses_of(&mut lines, input, &dir)?;
        let oeth = oeth_of(&lines, input, &dir)?;
        let repartition = repartition_of(&lines, &members, sums.share_basis);
        let impact = impact_of(&lines, input, &dir);
        let totals = sums.totals(&members, &lines);
        Ok(Proposal {
            format_version: PROPOSAL_FORMAT_VERSION,
            status: if campaign.status == CampaignStatus::Ready {
                ProposalStatus::Final
            } else {
                ProposalStatus::Draft
            },
            language: lang,
            generated_at,
            time_zone: bid.time_zone.name().to_owned(),
            valid_until: generated_at + chrono::Duration::days(i64::from(bid.validity_days)),
            validity_days: bid.validity_days,
            tender: ProposalTender {
                reference: tender.reference.to_string(),
                title: tender.title.clone(),
                buyer: tender.buyer.clone(),
                deadline: tender.deadline,
            },
            campaign: ProposalCampaign::of(campaign),
            groupement: groupement_of(input, lead, lead_basis, &dir),
            members,
            lines,
            shortfall,
            repartition,
            totals,
            impact,
            clauses,
            oeth,
        })
    }

    /// The lead member (present when the lead is named or designated).
    pub fn lead(&self) -> Option<&Member> {
        self.members.iter().find(|m| m.lead)
    }

    /// Every lot of the bid, in line order.
    pub fn lots(&self) -> impl Iterator<Item = &ProposalLot> {
        self.lines.iter().flat_map(|l| &l.lots)
    }

    /// Whether a line of the bid is covered in part only (to confirm before sending to the buyer).
    pub fn has_partial_lines(&self) -> bool {
        self.lines.iter().any(|l| l.partial || l.omitted)
    }
}

fn member(s: &Supplier) -> Member {
    Member {
        siret: s.siret.to_string(),
        name: s.name.clone(),
        kind: s.kind,
        family: s.kind.family(),
        address: s.address.clone(),
        commune: s
            .commune
            .as_deref()
            .map(|c| crate::commune_name(c).map_or_else(|| c.trim().to_owned(), str::to_owned)),
        commune_code: s.commune.as_deref().filter(|c| crate::is_insee_code(c)).map(|c| c.trim().to_owned()),
        location: s.location,
        lead: false,
        joined_for_this_tender: false,
        lots: 0,
        quantity: 0.0,
        hours: 0.0,
        amount: None,
        vat: None,
        amount_incl_vat: None,
        share_of_bid: None,
    }
}

/// Money to the cent.
fn round_money(value: f64) -> f64 {
    let rounded = (value * 100.0).round() / 100.0;
    if rounded == 0.0 { 0.0 } else { rounded }
}

/// The headline figures with how each was computed, in the reader's language.
fn explain(f: &ImpactFigures, s: &ImpactSettings, lang: Lang) -> Vec<ExplainedFigure> {
    let n = |v: f64, d: usize| format_number(v, d, lang);
    // French puts a (narrow no-break) space before %; English does not.
    let pct = |v: f64| match lang {
        Lang::Fr => format!("{}\u{202f}%", format_number(v * 100.0, 0, lang)),
        Lang::En => format!("{}%", format_number(v * 100.0, 0, lang)),
    };
    let etp = if lang == Lang::Fr { "ETP" } else { "FTE" };
    let fr = lang == Lang::Fr;
    let figure =
        |key: &str, label: (&str, &str), value: f64, display: String, explanation: (String, String)| ExplainedFigure {
            key: key.into(),
            label: if fr { label.0 } else { label.1 }.into(),
            value,
            display,
            explanation: if fr { explanation.0 } else { explanation.1 },
        };
    // The default rates of one family's kinds, as the explanation of that family's hours quotes them.
    let rates = |family: Option<KindFamily>| {
        let rates: Vec<String> = s
            .insertion_rate
            .iter()
            .filter(|(k, _)| k.family() == family)
            .map(|(k, r)| format!("{} {}", k.code(), pct(*r)))
            .collect();
        // A kind without a default rate counts 0.
        if rates.is_empty() { pct(0.0) } else { rates.join(", ") }
    };
    let (siae_rates, geiq_rates, disability_rates) =
        (rates(Some(KindFamily::Iae)), rates(None), rates(Some(KindFamily::Disability)));
    let mut figures = vec![
        figure(
            "total_hours",
            ("Heures de travail", "Hours of work"),
            f.total_hours,
            format!("{} h", n(f.total_hours, 0)),
            (
                "Somme des quantités des lots exprimés en heures.".into(),
                "Sum of the quantities of the lots measured in hours.".into(),
            ),
        ),
        figure(
            "insertion_hours",
            ("Heures d'insertion (SIAE)", "Insertion hours (SIAE)"),
            f.insertion_hours,
            format!("{} h", n(f.insertion_hours, 0)),
            (
                format!(
                    "Heures des lots confiés aux SIAE (EI, ETTI, AI, ACI, EITI) × taux d'insertion de la structure (le sien, sinon celui de sa catégorie : {siae_rates})."
                ),
                format!(
                    "Hours of the lots given to SIAE (EI, ETTI, AI, ACI, EITI) × the structure's insertion rate (its own, else its kind's: {siae_rates})."
                ),
            ),
        ),
    ];
    // A family's hours are told when the bid has structures of that family.
    if f.geiq_structures > 0 {
        figures.push(figure(
            "geiq_hours",
            ("Heures GEIQ", "GEIQ hours"),
            f.geiq_hours,
            format!("{} h", n(f.geiq_hours, 0)),
            (
                format!(
                    "Heures des lots confiés aux GEIQ × part des heures faites par des salariés en parcours d'insertion et de qualification (celle du GEIQ, sinon {geiq_rates}). Un GEIQ n'est pas une SIAE : ses heures sont comptées à part."
                ),
                format!(
                    "Hours of the lots given to GEIQ × the share worked by employees on an insertion and qualification path (the GEIQ's own, else {geiq_rates}). A GEIQ is not an SIAE: its hours are counted apart."
                ),
            ),
        ));
    }
    if f.disability_structures > 0 {
        figures.push(figure(
            "disability_hours",
            (
                "Heures de travail de personnes handicapées (ESAT, EA, EATT, TIH)",
                "Hours worked by disabled people (ESAT, EA, EATT, TIH)",
            ),
            f.disability_hours,
            format!("{} h", n(f.disability_hours, 0)),
            (
                format!(
                    "Heures des lots confiés aux ESAT, EA, EATT et TIH × part des heures faites par des travailleurs handicapés (celle de la structure, sinon celle de sa catégorie : {disability_rates})."
                ),
                format!(
                    "Hours of the lots given to ESAT, EA, EATT and TIH × the share worked by disabled workers (the structure's own, else its kind's: {disability_rates})."
                ),
            ),
        ));
    }
    figures.extend([
        figure(
            "etp",
            ("Équivalents temps plein", "Full-time equivalents"),
            f.etp,
            format!("{} {etp}", n(f.etp, 2)),
            (
                format!("Heures de travail ÷ {} h (durée annuelle d'un temps plein).", n(s.hours_per_etp, 0)),
                format!("Hours of work ÷ {} h (one full-time year).", n(s.hours_per_etp, 0)),
            ),
        ),
        figure(
            "insertion_etp",
            ("ETP en insertion (SIAE)", "Insertion FTE (SIAE)"),
            f.insertion_etp,
            format!("{} {etp}", n(f.insertion_etp, 2)),
            (
                format!("Heures d'insertion (SIAE) ÷ {} h.", n(s.hours_per_etp, 0)),
                format!("Insertion hours (SIAE) ÷ {} h.", n(s.hours_per_etp, 0)),
            ),
        ),
        figure(
            "structures",
            ("Structures", "Structures"),
            f.structures as f64,
            f.structures_display(lang),
            (
                "Structures distinctes titulaires d'au moins un lot, par famille : SIAE (EI, ETTI, AI, ACI, EITI) ; GEIQ, qui n'est pas une SIAE ; ESAT, EA, EATT et TIH, dont les achats ouvrent droit à une déduction sur la contribution OETH de l'acheteur (art. L5212-10-1 du code du travail).".into(),
                "Distinct structures holding at least one lot, by family: SIAE (EI, ETTI, AI, ACI, EITI); GEIQ, which is not an SIAE; ESAT, EA, EATT and TIH, purchases from which give the buyer a deduction from its OETH contribution (art. L5212-10-1 of the French labour code).".into(),
            ),
        ),
        figure(
            "local_share",
            ("Part locale", "Local share"),
            f.local_share,
            pct(f.local_share),
            (
                format!(
                    "Part du volume confiée à des structures situées à {} km ou moins du site.",
                    n(s.local_radius_km, 0)
                ),
                format!("Share of the volume given to structures at most {} km from the site.", n(s.local_radius_km, 0)),
            ),
        ),
        figure(
            "average_distance_km",
            ("Distance moyenne", "Average distance"),
            f.average_distance_km,
            format!("{} km", n(f.average_distance_km, 1)),
            (
                "Distance à vol d'oiseau structure–site, pondérée par la quantité de chaque lot.".into(),
                "Great-circle distance from structure to site, weighted by each lot's quantity.".into(),
            ),
        ),
        figure(
            "km_travelled",
            ("Kilomètres parcourus", "Kilometres travelled"),
            f.km_travelled,
            format!("{} km", n(f.km_travelled, 0)),
            (
                format!(
                    "Σ aller-retour (2 × distance) × nombre de trajets ; un trajet par tranche de {} h de travail, un par lot pour les autres unités.",
                    n(s.hours_per_trip, 0)
                ),
                format!(
                    "Σ round trip (2 × distance) × trips; one trip per {} h of work, one per lot for other units.",
                    n(s.hours_per_trip, 0)
                ),
            ),
        ),
        figure(
            "co2_kg",
            ("CO₂ estimé", "Estimated CO₂"),
            f.co2_kg,
            format!("{} kg", n(f.co2_kg, 0)),
            (
                format!("Kilomètres parcourus × {} kg de CO₂ par km.", n(s.co2_kg_per_km, 2)),
                format!("Kilometres travelled × {} kg of CO₂ per km.", n(s.co2_kg_per_km, 2)),
            ),
        ),
    ]);
    figures
}

#[cfg(test)]
mod tests;
