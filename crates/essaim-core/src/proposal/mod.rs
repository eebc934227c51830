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

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    Answer, Buyer, Campaign, CampaignStatus, GeoPoint, Groupement, ImpactFigures, ImpactSettings, KindFamily, Lang,
    LotForImpact, OfferState, QUANTITY_EPSILON, ReadyCause, Supplier, SupplierKind, Tender, Window, format_number,
    format_quantity, round_quantity,
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

/// Everything [`Proposal::build`] reads.
#[derive(Debug, Clone)]
pub struct ProposalInput<'a> {
    pub tender: &'a Tender,
    /// The groupement named by the tender, if any (else the bid is an ad hoc grouping of the suppliers
    /// who accepted, led by the one with the largest share).
    pub groupement: Option<&'a Groupement>,
    /// At least every supplier holding an accepted lot, and the groupement's lead.
    pub suppliers: &'a [Supplier],
    pub campaign: &'a Campaign,
    pub impact: &'a ImpactSettings,
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
    pub tender: ProposalTender,
    pub campaign: ProposalCampaign,
    pub groupement: ProposalGroupement,
    /// The members taking part in the bid (holding at least one accepted lot), the lead first.
    pub members: Vec<Member>,
    pub lines: Vec<ProposalLine>,
    /// What is not covered, line by line, with the reason in words.
    pub shortfall: Vec<ProposalShortfall>,
    pub totals: Totals,
    pub impact: ProposalImpact,
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
    pub status: String,
    pub launched_at: DateTime<Utc>,
    pub ready_at: Option<DateTime<Utc>>,
    pub ready_cause: Option<ReadyCause>,
    pub rounds: u32,
    /// Offers still waiting for an answer (only in a draft).
    pub open_offers: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalGroupement {
    /// The groupement's code when the tender names one; `None` for an ad hoc grouping.
    pub code: Option<String>,
    pub name: String,
    pub kind: GroupementKind,
    /// The lead (mandataire, single point of contact for the buyer): a SIRET.
    pub lead: String,
    /// Why this member leads: `groupement` (named lead) or `largest_share` (ad hoc grouping).
    pub lead_basis: String,
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
    /// Its share of the whole bid (0–1), measured as `totals.share_basis` says (`None` when unavailable).
    pub share_of_bid: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalLine {
    pub id: String,
    pub title: Option<String>,
    pub sector: String,
    pub unit: String,
    pub quantity: f64,
    pub site: GeoPoint,
    pub window: Option<Window>,
    pub unit_price: Option<f64>,
    pub lots: Vec<ProposalLot>,
    /// Σ accepted quantity.
    pub covered: f64,
    /// Offered and not answered yet (only in a draft).
    pub pending: f64,
    /// quantity − covered − pending.
    pub uncovered: f64,
    /// Σ amount of the lots, excluding VAT, when the line has a unit price.
    pub amount: Option<f64>,
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
    pub amount: Option<f64>,
    pub commitment: Commitment,
}

/// The evidence behind a lot: who confirmed it, when, through which channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commitment {
    /// `accept` (the whole offer) or `accept_part`.
    pub answer: String,
    /// What was offered (a partial acceptance is below it).
    pub offered: f64,
    pub confirmed_at: DateTime<Utc>,
    /// `telegram`, `discord`, `cli`, `demo`.
    pub channel: String,
    /// The platform's user id of the person who pressed the button.
    pub user_id: String,
    pub user_name: Option<String>,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub lots: usize,
    pub members: usize,
    /// Σ amount of priced lots, excluding VAT.
    pub amount: Option<f64>,
    pub currency: String,
    /// Whether every line with lots has a unit price (else `amount` covers only the priced ones).
    pub fully_priced: bool,
    pub share_basis: ShareBasis,
    /// Covered quantity / tendered quantity, per unit (`h`, `m2`…).
    pub coverage_by_unit: BTreeMap<String, UnitCoverage>,
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

/// Current layout of the proposal JSON.
/// 2: the impact figures count each legal family apart (`insertion_hours` SIAE only, `geiq_hours`,
/// `disability_hours`, `disability_structures`) and a member names its `family` (docs/proposal.md).
pub const PROPOSAL_FORMAT_VERSION: u32 = 2;

impl Proposal {
    pub fn build(input: &ProposalInput<'_>) -> Result<Self, ProposalError> {
        let ProposalInput { tender, groupement, suppliers, campaign, impact, groupement_kind, generated_at, lang } =
            input.clone();
        if campaign.tender != tender.reference {
            return Err(ProposalError::OtherTender {
                campaign: campaign.tender.to_string(),
                tender: tender.reference.to_string(),
            });
        }
        let by_siret: HashMap<&str, &Supplier> = suppliers.iter().map(|s| (s.siret.as_str(), s)).collect();
        let supplier = |siret: &str| {
            by_siret.get(siret).copied().ok_or_else(|| ProposalError::UnknownSupplier { siret: siret.to_owned() })
        };

        // Accepted offers become lots, in tender line order then offer order.
        let mut lines: Vec<ProposalLine> = tender
            .lines
            .iter()
            .map(|l| ProposalLine {
                id: l.id.clone(),
                title: l.title.clone(),
                sector: l.sector.to_string(),
                unit: l.unit.clone(),
                quantity: l.quantity,
                site: l.site,
                window: l.window,
                unit_price: l.unit_price,
                lots: Vec::new(),
                covered: 0.0,
                pending: 0.0,
                uncovered: 0.0,
                amount: None,
            })
            .collect();
        for offer in campaign.offers.values() {
            let Some(line) = lines.iter_mut().find(|l| l.id == offer.terms.line) else {
                return Err(ProposalError::UnknownLine { offer: offer.terms.id, line: offer.terms.line.clone() });
            };
            match &offer.state {
                OfferState::Open => line.pending += offer.terms.quantity,
                OfferState::Accepted { quantity, by, at } => {
                    let s = supplier(&offer.terms.supplier)?;
                    let answer = if (quantity - offer.terms.quantity).abs() <= QUANTITY_EPSILON {
                        Answer::Accept
                    } else {
                        Answer::AcceptPart { quantity: *quantity }
                    };
                    line.lots.push(ProposalLot {
                        offer: offer.terms.id,
                        line: line.id.clone(),
                        supplier: offer.terms.supplier.clone(),
                        supplier_name: s.name.clone(),
                        quantity: round_quantity(*quantity),
                        unit: line.unit.clone(),
                        share_of_line: if line.quantity > 0.0 { round_quantity(quantity / line.quantity) } else { 0.0 },
                        distance_km: offer.terms.distance_km,
                        amount: line.unit_price.map(|p| round_money(p * quantity)),
                        commitment: Commitment {
                            answer: match answer {
                                Answer::Accept => "accept".into(),
                                _ => "accept_part".into(),
                            },
                            offered: round_quantity(offer.terms.quantity),
                            confirmed_at: *at,
                            channel: by.channel.clone(),
                            user_id: by.user_id.clone(),
                            user_name: by.name.clone(),
                        },
                    });
                    line.covered += quantity;
                }
                _ => {}
            }
        }
        for line in &mut lines {
            line.covered = round_quantity(line.covered);
            line.pending = round_quantity(line.pending);
            line.uncovered = round_quantity((line.quantity - line.covered - line.pending).max(0.0));
            line.amount = line.unit_price.map(|_| round_money(line.lots.iter().filter_map(|l| l.amount).sum()));
        }

        // Members: who holds lots, with their totals.
        let all_lots: Vec<&ProposalLot> = lines.iter().flat_map(|l| &l.lots).collect();
        let fully_priced = lines.iter().filter(|l| !l.lots.is_empty()).all(|l| l.unit_price.is_some());
        let total_amount: f64 = all_lots.iter().filter_map(|l| l.amount).sum();
        let total_quantity: f64 = all_lots.iter().map(|l| l.quantity).sum();
        let one_unit = all_lots.windows(2).all(|w| w[0].unit == w[1].unit);
        let share_basis = if fully_priced && total_amount > 0.0 {
            ShareBasis::Amount
        } else if one_unit && total_quantity > 0.0 {
            ShareBasis::Quantity
        } else {
            ShareBasis::Unavailable
        };
        let mut members: BTreeMap<String, Member> = BTreeMap::new();
        for lot in &all_lots {
            let s = supplier(&lot.supplier)?;
            let m = members.entry(lot.supplier.clone()).or_insert_with(|| member(s));
            m.joined_for_this_tender = input.campaign.added_suppliers.contains(&lot.supplier);
            m.lots += 1;
            m.quantity += lot.quantity;
            if crate::unit_is_hours(&lot.unit) {
                m.hours += lot.quantity;
            }
            if let Some(a) = lot.amount {
                m.amount = Some(m.amount.unwrap_or(0.0) + a);
            }
        }
        for m in members.values_mut() {
            m.quantity = round_quantity(m.quantity);
            m.hours = round_quantity(m.hours);
            m.amount = m.amount.map(round_money);
            m.share_of_bid = match share_basis {
                ShareBasis::Amount => Some(round_quantity(m.amount.unwrap_or(0.0) / total_amount)),
                ShareBasis::Quantity => Some(round_quantity(m.quantity / total_quantity)),
                ShareBasis::Unavailable => None,
            };
        }

        // The lead: the groupement's, else the member with the largest share (by quantity when shares
        // are unavailable; ties: lowest SIRET).
        let weight = |m: &Member| m.share_of_bid.unwrap_or(m.quantity);
        let (lead, lead_basis) = match groupement {
            Some(g) => (g.lead.to_string(), "groupement"),
            None => {
                let largest = members
                    .values()
                    .max_by(|a, b| weight(a).total_cmp(&weight(b)).then_with(|| b.siret.cmp(&a.siret)))
                    .map(|m| m.siret.clone())
                    .unwrap_or_default();
                (largest, "largest_share")
            }
        };
        if !lead.is_empty() && !members.contains_key(&lead) {
            // A named lead without lots of its own still answers for the groupement.
            let mut m = member(supplier(&lead)?);
            m.share_of_bid = (share_basis != ShareBasis::Unavailable).then_some(0.0);
            members.insert(lead.clone(), m);
        }
        if let Some(m) = members.get_mut(&lead) {
            m.lead = true;
        }
        let mut members: Vec<Member> = members.into_values().collect();
        members.sort_by(|a, b| b.lead.cmp(&a.lead).then(weight(b).total_cmp(&weight(a))).then(a.siret.cmp(&b.siret)));

        // Shortfall, with the campaign's explanation rendered for the reader.
        let name_of = |id: &str| by_siret.get(id).map(|s| s.name.clone()).unwrap_or_else(|| id.to_owned());
        let shortfall = lines
            .iter()
            .filter(|l| l.uncovered + l.pending > QUANTITY_EPSILON)
            .map(|l| {
                let explained = campaign.uncovered.iter().find(|u| u.line == l.id);
                let mut reason = explained
                    .map(|u| {
                        if u.causes.is_empty() {
                            u.reason.clone()
                        } else {
                            u.causes.iter().map(|c| c.render(lang, &name_of)).collect::<Vec<_>>().join(" ; ")
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
                ProposalShortfall {
                    line: l.id.clone(),
                    quantity: round_quantity(l.uncovered + l.pending),
                    unit: l.unit.clone(),
                    pending: l.pending,
                    reason,
                }
            })
            .collect();

        let mut coverage_by_unit: BTreeMap<String, UnitCoverage> = BTreeMap::new();
        for l in &lines {
            let c = coverage_by_unit.entry(l.unit.clone()).or_insert(UnitCoverage {
                tendered: 0.0,
                covered: 0.0,
                share: 0.0,
            });
            c.tendered += l.quantity;
            c.covered += l.covered;
        }
        for c in coverage_by_unit.values_mut() {
            c.tendered = round_quantity(c.tendered);
            c.covered = round_quantity(c.covered);
            c.share = if c.tendered > 0.0 { round_quantity(c.covered / c.tendered) } else { 0.0 };
        }

        let figures = ImpactFigures::compute(
            all_lots.iter().filter_map(|l| {
                let s = by_siret.get(l.supplier.as_str())?;
                Some(LotForImpact {
                    supplier: &l.supplier,
                    kind: s.kind,
                    insertion_rate: s.insertion_rate,
                    quantity: l.quantity,
                    unit: &l.unit,
                    distance_km: l.distance_km,
                })
            }),
            impact,
        );
        let explained = explain(&figures, impact, lang);

        let totals = Totals {
            lots: all_lots.len(),
            members: members.iter().filter(|m| m.lots > 0).count(),
            amount: (all_lots.iter().any(|l| l.amount.is_some())).then(|| round_money(total_amount)),
            currency: "EUR".into(),
            fully_priced,
            share_basis,
            coverage_by_unit,
        };
        let groupement_out = ProposalGroupement {
            code: groupement.map(|g| g.code.to_string()),
            name: groupement.map(|g| g.name.clone()).unwrap_or_else(|| match lang {
                Lang::Fr => format!("Groupement pour {}", tender.reference),
                Lang::En => format!("Groupement for {}", tender.reference),
            }),
            kind: tender.groupement_kind.unwrap_or(groupement_kind),
            lead,
            lead_basis: lead_basis.into(),
        };
        Ok(Proposal {
            format_version: PROPOSAL_FORMAT_VERSION,
            status: if campaign.status == CampaignStatus::Ready {
                ProposalStatus::Final
            } else {
                ProposalStatus::Draft
            },
            language: lang,
            generated_at,
            tender: ProposalTender {
                reference: tender.reference.to_string(),
                title: tender.title.clone(),
                buyer: tender.buyer.clone(),
                deadline: tender.deadline,
            },
            campaign: ProposalCampaign {
                status: campaign.status.as_str().into(),
                launched_at: campaign.launched_at,
                ready_at: campaign.ready.map(|(at, _)| at),
                ready_cause: campaign.ready.map(|(_, cause)| cause),
                rounds: campaign.rounds,
                open_offers: campaign.open_offers().count(),
            },
            groupement: groupement_out,
            members,
            lines,
            shortfall,
            totals,
            impact: ProposalImpact { figures, settings: impact.clone(), explained },
        })
    }

    /// The lead member (always present when the bid has at least one lot).
    pub fn lead(&self) -> Option<&Member> {
        self.members.iter().find(|m| m.lead)
    }

    /// Every lot of the bid, in line order.
    pub fn lots(&self) -> impl Iterator<Item = &ProposalLot> {
        self.lines.iter().flat_map(|l| &l.lots)
    }
}

fn member(s: &Supplier) -> Member {
    Member {
        siret: s.siret.to_string(),
        name: s.name.clone(),
        kind: s.kind,
        family: s.kind.family(),
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
