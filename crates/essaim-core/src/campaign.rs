//! The campaign around one tender, as a pure state machine.
//!
//! A facilitator launches the campaign; each micro-lot of the allocation becomes an [`Offer`] to its
//! supplier; the supplier accepts, declines or accepts part; declined, refused and expired quantity is
//! reallocated (accepted and still-open offers fixed, decliners excluded on that line) and new offers go
//! out; when nothing is open any more, or the campaign deadline passes, the campaign is ready.
//!
//! Every transition is a [`CampaignEvent`]. The current state, [`Campaign`], is a projection rebuilt by
//! replaying the events in order; the decision functions (`answer`, `expire`, …) read the state and
//! return the event to record, never mutate it, so that the caller records the event first and applies it
//! after. Offers are numbered within the campaign and never reused: a button that names an offer which is
//! no longer open is stale, and a stale press changes nothing.
//!
//! No clock here: every decision takes `now`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{QUANTITY_EPSILON, Sector, Shortfall, ShortfallCause, Tender, TenderRef, Window, round_quantity};

/// An offer's number within its campaign (1, 2, …); never reused.
pub type OfferId = u32;

/// Who did something: a chat user, the command line, the scheduler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `telegram`, `discord`, `cli`, `scheduler`, `demo`.
    pub channel: String,
    pub user_id: String,
    /// Where to tell them about the campaign's progress (their chat), when they have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Actor {
    /// The scheduler (expiries, reminders, deadline).
    pub fn scheduler() -> Self {
        Self { channel: "scheduler".into(), user_id: "scheduler".into(), chat_id: None, name: None }
    }
}

/// The terms of one offer, as sent to the supplier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferTerms {
    pub id: OfferId,
    pub line: String,
    /// The supplier's SIRET.
    pub supplier: String,
    pub quantity: f64,
    /// The smallest part the supplier may accept (its min lot, or the whole offer when smaller).
    pub min_quantity: f64,
    pub distance_km: f64,
    pub respond_by: DateTime<Utc>,
}

/// What of a line stays uncovered after a round, and why (in English, as the solver explains it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Uncovered {
    pub line: String,
    pub quantity: f64,
    pub reason: String,
    /// The same reason, structured, to say it in the reader's language.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<crate::ShortfallCause>,
}

impl From<&Shortfall> for Uncovered {
    fn from(s: &Shortfall) -> Self {
        Self { line: s.line.clone(), quantity: s.quantity, reason: s.reason.clone(), causes: s.causes.clone() }
    }
}

/// A supplier's answer to an offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    Accept,
    Decline {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    AcceptPart {
        quantity: f64,
    },
}

/// Why a campaign became ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadyCause {
    /// Every offer was answered and what could be reallocated was.
    AllAnswered,
    /// The campaign deadline passed; offers still open were withdrawn.
    DeadlinePassed,
    /// The facilitator closed it before its deadline; offers still open were withdrawn.
    Closed,
}

/// One transition of a campaign. Stored as JSON in the event log (field names are stable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CampaignEvent {
    Launched {
        at: DateTime<Utc>,
        by: Actor,
        deadline: DateTime<Utc>,
    },
    /// A solver round: new offers, and what stays uncovered after it.
    OffersMade {
        at: DateTime<Utc>,
        round: u32,
        offers: Vec<OfferTerms>,
        uncovered: Vec<Uncovered>,
    },
    Answered {
        at: DateTime<Utc>,
        offer: OfferId,
        answer: Answer,
        by: Actor,
    },
    Expired {
        at: DateTime<Utc>,
        offers: Vec<OfferId>,
    },
    Reminded {
        at: DateTime<Utc>,
        offers: Vec<OfferId>,
    },
    Ready {
        at: DateTime<Utc>,
        cause: ReadyCause,
    },
    /// A structure outside the tender's groupement joins it for this tender only (`/inviter`).
    SupplierAdded {
        at: DateTime<Utc>,
        by: Actor,
        /// Its SIRET.
        supplier: String,
    },
    /// A ready campaign opens again to cover what is left (`/repartir` on a ready campaign).
    Reopened {
        at: DateTime<Utc>,
        by: Actor,
        deadline: DateTime<Utc>,
    },
    /// The facilitator designates the mandataire of an ad hoc grouping (`/mandataire`): the candidature
    /// names it (Code de la commande publique R2142-24), it is never computed.
    LeadDesignated {
        at: DateTime<Utc>,
        by: Actor,
        /// Its SIRET.
        supplier: String,
    },
    /// A structure asks to give back a lot it accepted (`/retirer`): the facilitator decides.
    WithdrawalAsked {
        at: DateTime<Utc>,
        offer: OfferId,
        reason: String,
        by: Actor,
    },
    /// The facilitator's decision on a withdrawal: confirmed, the lot is freed and reallocated; refused,
    /// the commitment stands.
    WithdrawalSettled {
        at: DateTime<Utc>,
        offer: OfferId,
        confirmed: bool,
        by: Actor,
    },
    /// A structure asks the facilitators a question about one of its offers (« Poser une question »).
    QuestionAsked {
        at: DateTime<Utc>,
        offer: OfferId,
        text: String,
        by: Actor,
    },
    /// A facilitator's answer, relayed to the structure (`/repondre`).
    QuestionAnswered {
        at: DateTime<Utc>,
        offer: OfferId,
        text: String,
        by: Actor,
    },
    /// A structure says why it declined an offer, after the decline (a chat decline is recorded at once,
    /// so that what it frees is reallocated without waiting; the reason follows, if it is given).
    DeclineExplained {
        at: DateTime<Utc>,
        offer: OfferId,
        reason: String,
        by: Actor,
    },
}

impl CampaignEvent {
    /// The event's kind as stored beside it in the log.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Launched { .. } => "launched",
            Self::OffersMade { .. } => "offers_made",
            Self::Answered { .. } => "answered",
            Self::Expired { .. } => "expired",
            Self::Reminded { .. } => "reminded",
            Self::Ready { .. } => "ready",
            Self::SupplierAdded { .. } => "supplier_added",
            Self::Reopened { .. } => "reopened",
            Self::LeadDesignated { .. } => "lead_designated",
            Self::DeclineExplained { .. } => "decline_explained",
            Self::WithdrawalAsked { .. } => "withdrawal_asked",
            Self::QuestionAsked { .. } => "question_asked",
            Self::QuestionAnswered { .. } => "question_answered",
            Self::WithdrawalSettled { .. } => "withdrawal_settled",
        }
    }
}

/// Where an offer stands.
#[derive(Debug, Clone, PartialEq)]
pub enum OfferState {
    Open,
    /// Accepted in full or in part (`quantity` below the offered one).
    Accepted {
        quantity: f64,
        by: Actor,
        at: DateTime<Utc>,
    },
    Declined {
        reason: Option<String>,
        by: Actor,
        at: DateTime<Utc>,
    },
    Expired {
        at: DateTime<Utc>,
    },
    /// Still open when the campaign deadline passed.
    Withdrawn {
        at: DateTime<Utc>,
    },
}

/// An offer and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub terms: OfferTerms,
    pub round: u32,
    pub made_at: DateTime<Utc>,
    pub state: OfferState,
    pub reminders: u32,
    /// An accepted lot its structure asked to give back (`/retirer`), with why, until the facilitator
    /// confirms or refuses.
    pub withdrawal: Option<String>,
}

impl Offer {
    pub fn is_open(&self) -> bool {
        self.state == OfferState::Open
    }

    /// The quantity this offer holds: offered while open, accepted once accepted, else nothing.
    pub fn held_quantity(&self) -> f64 {
        match &self.state {
            OfferState::Open => self.terms.quantity,
            OfferState::Accepted { quantity, .. } => *quantity,
            _ => 0.0,
        }
    }
}

/// Whether offers are still out (`running`) or the campaign is over (`ready`: all answered, or the
/// deadline passed). Serialised as its [`CampaignStatus::as_str`] name (the proposal's `campaign.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Running,
    Ready,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Ready => "ready",
        }
    }
}

/// Why an answer or an event was not taken. The first four are what a user can cause (a stale or
/// foreign button, a quantity out of range); [`CampaignError::Inconsistent`] means a log that does not
/// replay (a bug or a tampered database), never a user's doing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CampaignError {
    #[error("offer {offer} is no longer open")]
    OfferNotOpen { offer: OfferId },
    #[error("offer {offer} is not addressed to this supplier")]
    NotYourOffer { offer: OfferId },
    #[error("the campaign is closed")]
    Closed,
    #[error("quantity {quantity} is outside {min}–{max}")]
    QuantityOutOfRange { quantity: f64, min: f64, max: f64 },
    #[error("campaign log does not replay: {0}")]
    Inconsistent(String),
}

/// The quantities of one line, as the facilitator's status shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct LineCoverage {
    pub line: String,
    pub accepted: f64,
    pub pending: f64,
    /// Offered then declined, refused (the rest of a partial acceptance), expired or withdrawn.
    pub declined: f64,
    /// What nobody holds: the line's quantity minus accepted and pending.
    pub uncovered: f64,
    /// The solver's explanation of the uncovered part at the last round, if any.
    pub reason: Option<String>,
}

/// What the next reallocation starts from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReallocationBasis {
    /// (line, supplier) → quantity held by accepted or open offers: kept as they are.
    pub fixed: BTreeMap<(String, String), f64>,
    /// (line, supplier) pairs that declined, refused the rest or let an offer expire: not asked again.
    pub excluded: BTreeSet<(String, String)>,
}

/// The state of one campaign, rebuilt from its events.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    pub tender: TenderRef,
    pub status: CampaignStatus,
    /// The facilitator who launched the campaign, or re-opened it last: they receive its notes.
    pub launched_by: Actor,
    pub launched_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    pub rounds: u32,
    pub offers: BTreeMap<OfferId, Offer>,
    /// Uncovered quantity per line at the last round.
    pub uncovered: Vec<Uncovered>,
    /// Quantity was freed (decline, partial acceptance, expiry) since the last round.
    pub needs_reallocation: bool,
    pub ready: Option<(DateTime<Utc>, ReadyCause)>,
    /// Structures outside the groupement that joined it for this tender only, by SIRET.
    pub added_suppliers: BTreeSet<String>,
    /// The mandataire the facilitator designated, by SIRET (an ad hoc grouping has no other).
    pub designated_lead: Option<String>,
}

/// Whether a structure's hours on a tender are still waiting for its answer or committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldingState {
    Offered,
    Accepted,
}

impl HoldingState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offered => "offered",
            Self::Accepted => "accepted",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Offered, Self::Accepted].into_iter().find(|s| s.as_str() == value)
    }
}

/// Hours a structure holds on a tender: an open offer or an accepted one. Another tender's allocation takes
/// them off the structure's capacity when the periods overlap.
#[derive(Debug, Clone, PartialEq)]
pub struct Holding {
    pub tender: TenderRef,
    pub offer: OfferId,
    pub line: String,
    /// The structure's SIRET.
    pub supplier: String,
    pub sector: Sector,
    pub quantity: f64,
    pub state: HoldingState,
    /// The line's period (`None`: any time, so it overlaps every period).
    pub window: Option<Window>,
    /// When the offer was made (offered) or accepted.
    pub since: DateTime<Utc>,
}

impl Campaign {
    /// The event that starts a campaign.
    pub fn launch(by: Actor, at: DateTime<Utc>, deadline: DateTime<Utc>) -> CampaignEvent {
        CampaignEvent::Launched { at, by, deadline }
    }

    /// Rebuilds the state from the log, oldest event first. `None` for an empty log.
    pub fn replay<'a>(
        tender: TenderRef,
        events: impl IntoIterator<Item = &'a CampaignEvent>,
    ) -> Result<Option<Campaign>, CampaignError> {
        let mut events = events.into_iter();
        let Some(first) = events.next() else { return Ok(None) };
        let CampaignEvent::Launched { at, by, deadline } = first else {
            return Err(CampaignError::Inconsistent(format!("first event is `{}`, not `launched`", first.kind())));
        };
        let mut campaign = Campaign {
            tender,
            status: CampaignStatus::Running,
            launched_by: by.clone(),
            launched_at: *at,
            deadline: *deadline,
            rounds: 0,
            offers: BTreeMap::new(),
            uncovered: Vec::new(),
            needs_reallocation: false,
            ready: None,
            added_suppliers: BTreeSet::new(),
            designated_lead: None,
        };
        for event in events {
            campaign.apply(event)?;
        }
        Ok(Some(campaign))
    }

    /// Applies one recorded event.
    pub fn apply(&mut self, event: &CampaignEvent) -> Result<(), CampaignError> {
        let inconsistent = |what: String| Err(CampaignError::Inconsistent(what));
        match event {
            CampaignEvent::Launched { .. } => return inconsistent("a second `launched` event".into()),
            CampaignEvent::OffersMade { at, round, offers, uncovered } => {
                for terms in offers {
                    if self.offers.contains_key(&terms.id) {
                        return inconsistent(format!("offer {} made twice", terms.id));
                    }
                    self.offers.insert(
                        terms.id,
                        Offer {
                            terms: terms.clone(),
                            round: *round,
                            made_at: *at,
                            state: OfferState::Open,
                            reminders: 0,
                            withdrawal: None,
                        },
                    );
                }
                self.rounds = *round;
                // In a reallocation round the solver sees held lots as fixed, and may explain what
                // stays uncovered only by them; the first round's explanation (capacity, reach…) is
                // the one a facilitator can act on, so it is kept.
                let previous = std::mem::take(&mut self.uncovered);
                self.uncovered = uncovered
                    .iter()
                    .map(|u| {
                        let only_held = !u.causes.is_empty()
                            && u.causes.iter().all(|c| matches!(c, ShortfallCause::AcceptedLotsKept { .. }));
                        match previous.iter().find(|p| p.line == u.line) {
                            Some(p) if only_held => Uncovered { quantity: u.quantity, ..p.clone() },
                            _ => u.clone(),
                        }
                    })
                    .collect();
                self.needs_reallocation = false;
            }
            CampaignEvent::Answered { at, offer, answer, by } => {
                let Some(o) = self.offers.get_mut(offer) else {
                    return inconsistent(format!("answer to unknown offer {offer}"));
                };
                if !o.is_open() {
                    return inconsistent(format!("answer to offer {offer} which is not open"));
                }
                o.state = match answer {
                    Answer::Accept => OfferState::Accepted { quantity: o.terms.quantity, by: by.clone(), at: *at },
                    Answer::AcceptPart { quantity } => {
                        self.needs_reallocation = true;
                        OfferState::Accepted { quantity: *quantity, by: by.clone(), at: *at }
                    }
                    Answer::Decline { reason } => {
                        self.needs_reallocation = true;
                        OfferState::Declined { reason: reason.clone(), by: by.clone(), at: *at }
                    }
                };
            }
            CampaignEvent::Expired { at, offers } => {
                for id in offers {
                    match self.offers.get_mut(id) {
                        Some(o) if o.is_open() => o.state = OfferState::Expired { at: *at },
                        _ => return inconsistent(format!("expiry of offer {id} which is not open")),
                    }
                }
                self.needs_reallocation = true;
            }
            CampaignEvent::Reminded { offers, .. } => {
                for id in offers {
                    if let Some(o) = self.offers.get_mut(id) {
                        o.reminders += 1;
                    }
                }
            }
            CampaignEvent::Ready { at, cause } => {
                for o in self.offers.values_mut().filter(|o| o.is_open()) {
                    o.state = OfferState::Withdrawn { at: *at };
                }
                self.status = CampaignStatus::Ready;
                self.ready = Some((*at, *cause));
                self.needs_reallocation = false;
            }
            CampaignEvent::SupplierAdded { supplier, .. } => {
                if !self.added_suppliers.insert(supplier.clone()) {
                    return inconsistent(format!("supplier {supplier} added twice"));
                }
                // A running campaign offers the newcomer what is uncovered at once.
                self.needs_reallocation = self.is_running();
            }
            CampaignEvent::LeadDesignated { supplier, .. } => self.designated_lead = Some(supplier.clone()),
            // A conversation about an offer: recorded for the history, it changes no quantity.
            CampaignEvent::QuestionAsked { offer, .. } | CampaignEvent::QuestionAnswered { offer, .. } => {
                if !self.offers.contains_key(offer) {
                    return inconsistent(format!("a question about unknown offer {offer}"));
                }
            }
            CampaignEvent::WithdrawalAsked { offer, reason, .. } => match self.offers.get_mut(offer) {
                Some(o) if matches!(o.state, OfferState::Accepted { .. }) && o.withdrawal.is_none() => {
                    o.withdrawal = Some(reason.clone());
                }
                _ => return inconsistent(format!("a withdrawal of offer {offer}, which is not an accepted lot")),
            },
            CampaignEvent::WithdrawalSettled { at, offer, confirmed, by } => {
                let Some(o) = self.offers.get_mut(offer) else {
                    return inconsistent(format!("a withdrawal decision on unknown offer {offer}"));
                };
                let Some(reason) = o.withdrawal.take() else {
                    return inconsistent(format!("a withdrawal decision on offer {offer}, with none asked"));
                };
                if *confirmed {
                    // The lot is given back: what it held is open again, reallocated while the campaign runs.
                    o.state =
                        OfferState::Declined { reason: Some(format!("retrait — {reason}")), by: by.clone(), at: *at };
                    self.needs_reallocation = self.is_running();
                }
            }
            CampaignEvent::DeclineExplained { offer, reason: given, .. } => match self.offers.get_mut(offer) {
                Some(Offer { state: OfferState::Declined { reason, .. }, .. }) => *reason = Some(given.clone()),
                _ => return inconsistent(format!("a reason for offer {offer}, which is not declined")),
            },
            CampaignEvent::Reopened { by, deadline, .. } => {
                if self.is_running() {
                    return inconsistent("`reopened` on a running campaign".into());
                }
                self.status = CampaignStatus::Running;
                self.ready = None;
                self.deadline = *deadline;
                self.launched_by = by.clone();
                self.needs_reallocation = true;
            }
        }
        Ok(())
    }

    /// The event that re-opens a ready campaign (`None` when it is running).
    pub fn reopen(&self, by: Actor, now: DateTime<Utc>, deadline: DateTime<Utc>) -> Option<CampaignEvent> {
        (!self.is_running()).then_some(CampaignEvent::Reopened { at: now, by, deadline })
    }

    /// What each structure holds on this tender (open offers and accepted ones), with the line's sector and
    /// period. `tender` must be this campaign's tender; offers on lines it no longer has are left out.
    pub fn holdings(&self, tender: &Tender) -> Vec<Holding> {
        self.offers
            .values()
            .filter_map(|o| {
                let (state, quantity, since) = match &o.state {
                    OfferState::Open => (HoldingState::Offered, o.terms.quantity, o.made_at),
                    OfferState::Accepted { quantity, at, .. } => (HoldingState::Accepted, *quantity, *at),
                    _ => return None,
                };
                let line = tender.line(&o.terms.line)?;
                Some(Holding {
                    tender: self.tender.clone(),
                    offer: o.terms.id,
                    line: line.id.clone(),
                    supplier: o.terms.supplier.clone(),
                    sector: line.sector.clone(),
                    quantity,
                    state,
                    window: line.window,
                    since,
                })
            })
            .collect()
    }

    pub fn is_running(&self) -> bool {
        self.status == CampaignStatus::Running
    }

    /// The number the next new offer gets.
    pub fn next_offer_id(&self) -> OfferId {
        self.offers.keys().next_back().map_or(1, |id| id + 1)
    }

    pub fn open_offers(&self) -> impl Iterator<Item = &Offer> {
        self.offers.values().filter(|o| o.is_open())
    }

    /// A structure's question about one of its own offers, whatever it stands at.
    pub fn ask_question(
        &self,
        offer: OfferId,
        supplier: &str,
        text: &str,
        by: Actor,
        now: DateTime<Utc>,
    ) -> Result<CampaignEvent, CampaignError> {
        let o = self.offers.get(&offer).ok_or(CampaignError::OfferNotOpen { offer })?;
        if o.terms.supplier != supplier {
            return Err(CampaignError::NotYourOffer { offer });
        }
        Ok(CampaignEvent::QuestionAsked { at: now, offer, text: text.to_owned(), by })
    }

    /// A facilitator's answer about an offer (`None` for an offer this campaign never made).
    pub fn answer_question(&self, offer: OfferId, text: &str, by: Actor, now: DateTime<Utc>) -> Option<CampaignEvent> {
        self.offers.contains_key(&offer).then(|| CampaignEvent::QuestionAnswered {
            at: now,
            offer,
            text: text.to_owned(),
            by,
        })
    }

    /// A structure asks to give back a lot it accepted: only its own, an accepted one, one request at a time.
    pub fn ask_withdrawal(
        &self,
        offer: OfferId,
        supplier: &str,
        reason: &str,
        by: Actor,
        now: DateTime<Utc>,
    ) -> Result<CampaignEvent, CampaignError> {
        let o = self.offers.get(&offer).ok_or(CampaignError::OfferNotOpen { offer })?;
        if o.terms.supplier != supplier {
            return Err(CampaignError::NotYourOffer { offer });
        }
        if !matches!(o.state, OfferState::Accepted { .. }) || o.withdrawal.is_some() {
            return Err(CampaignError::OfferNotOpen { offer });
        }
        Ok(CampaignEvent::WithdrawalAsked { at: now, offer, reason: reason.to_owned(), by })
    }

    /// The facilitator confirms or refuses a pending withdrawal (`None` when none is pending: a second
    /// press changes nothing).
    pub fn settle_withdrawal(
        &self,
        offer: OfferId,
        confirmed: bool,
        by: Actor,
        now: DateTime<Utc>,
    ) -> Option<CampaignEvent> {
        let o = self.offers.get(&offer)?;
        o.withdrawal.as_ref().map(|_| CampaignEvent::WithdrawalSettled { at: now, offer, confirmed, by })
    }

    /// Records why a structure declined one of its offers: only its own, only once, only a declined one
    /// (an offer declined with its reason already has it).
    pub fn explain_decline(
        &self,
        offer: OfferId,
        supplier: &str,
        reason: &str,
        by: Actor,
        now: DateTime<Utc>,
    ) -> Result<CampaignEvent, CampaignError> {
        let o = self.offers.get(&offer).ok_or(CampaignError::OfferNotOpen { offer })?;
        if o.terms.supplier != supplier {
            return Err(CampaignError::NotYourOffer { offer });
        }
        match &o.state {
            OfferState::Declined { reason: None, .. } => {
                Ok(CampaignEvent::DeclineExplained { at: now, offer, reason: reason.to_owned(), by })
            }
            _ => Err(CampaignError::OfferNotOpen { offer }),
        }
    }

    /// Decides on a supplier's answer to one of its offers. `supplier` is the SIRET the answering
    /// account is linked to.
    pub fn answer(
        &self,
        offer: OfferId,
        supplier: &str,
        answer: Answer,
        by: Actor,
        now: DateTime<Utc>,
    ) -> Result<CampaignEvent, CampaignError> {
        let o = self.offers.get(&offer).ok_or(CampaignError::OfferNotOpen { offer })?;
        if o.terms.supplier != supplier {
            return Err(CampaignError::NotYourOffer { offer });
        }
        if !self.is_running() {
            return Err(CampaignError::Closed);
        }
        if !o.is_open() {
            return Err(CampaignError::OfferNotOpen { offer });
        }
        let answer = match answer {
            Answer::AcceptPart { quantity } => {
                let (min, max) = (o.terms.min_quantity, o.terms.quantity);
                if !quantity.is_finite()
                    || quantity <= 0.0
                    || quantity < min - QUANTITY_EPSILON
                    || quantity > max + QUANTITY_EPSILON
                {
                    return Err(CampaignError::QuantityOutOfRange { quantity, min, max });
                }
                if quantity >= max - QUANTITY_EPSILON {
                    Answer::Accept
                } else {
                    Answer::AcceptPart { quantity: round_quantity(quantity) }
                }
            }
            other => other,
        };
        Ok(CampaignEvent::Answered { at: now, offer, answer, by })
    }

    /// Open offers whose response time has passed, as one event (or `None`).
    pub fn expire(&self, now: DateTime<Utc>) -> Option<CampaignEvent> {
        if !self.is_running() {
            return None;
        }
        let offers: Vec<OfferId> =
            self.open_offers().filter(|o| o.terms.respond_by <= now).map(|o| o.terms.id).collect();
        (!offers.is_empty()).then_some(CampaignEvent::Expired { at: now, offers })
    }

    /// The campaign ends when its deadline has passed, or when nothing is open and nothing waits to be
    /// reallocated.
    /// The event that closes a running campaign now, at the facilitator's word (`None` when it is not
    /// running).
    pub fn close(&self, now: DateTime<Utc>) -> Option<CampaignEvent> {
        self.is_running().then_some(CampaignEvent::Ready { at: now, cause: ReadyCause::Closed })
    }

    pub fn close_if_done(&self, now: DateTime<Utc>) -> Option<CampaignEvent> {
        if !self.is_running() {
            return None;
        }
        if now >= self.deadline {
            return Some(CampaignEvent::Ready { at: now, cause: ReadyCause::DeadlinePassed });
        }
        if !self.needs_reallocation && self.rounds > 0 && self.open_offers().next().is_none() {
            return Some(CampaignEvent::Ready { at: now, cause: ReadyCause::AllAnswered });
        }
        None
    }

    /// Open offers made before `made_before` to remind their suppliers of (`None` when there are
    /// none). A scheduled reminder passes its occurrence, so that an occurrence fired late (at
    /// start-up) does not chase offers sent after it.
    pub fn remind(&self, now: DateTime<Utc>, made_before: DateTime<Utc>) -> Option<CampaignEvent> {
        if !self.is_running() {
            return None;
        }
        let offers: Vec<OfferId> =
            self.open_offers().filter(|o| o.made_at <= made_before).map(|o| o.terms.id).collect();
        (!offers.is_empty()).then_some(CampaignEvent::Reminded { at: now, offers })
    }

    /// What the next solver round keeps and excludes. Accepted and open offers are kept as fixed lots, and
    /// the solver may offer their structure more on the same line (a fixed lot is a commitment, not a
    /// ceiling). A pair is closed — excluded, keeping what it holds — once its structure declined an offer
    /// on it, let one expire, or accepted only part of one: it said how much it can take.
    pub fn reallocation_basis(&self) -> ReallocationBasis {
        let mut basis = ReallocationBasis::default();
        for o in self.offers.values() {
            let pair = (o.terms.line.clone(), o.terms.supplier.clone());
            match &o.state {
                OfferState::Open | OfferState::Accepted { .. } => {
                    *basis.fixed.entry(pair.clone()).or_default() += o.held_quantity();
                    if o.held_quantity() < o.terms.quantity - QUANTITY_EPSILON {
                        basis.excluded.insert(pair);
                    }
                }
                OfferState::Declined { .. } | OfferState::Expired { .. } | OfferState::Withdrawn { .. } => {
                    basis.excluded.insert(pair);
                }
            }
        }
        basis.fixed.retain(|_, q| *q > QUANTITY_EPSILON);
        basis
    }

    /// The offers of a new round: one per new lot of the solver's result (lots it kept fixed are not
    /// offered again). Lots are `(line, supplier, quantity, distance_km)`; `min_lot` gives a supplier's
    /// min lot.
    pub fn offers_made(
        &self,
        lots: &[(String, String, f64, f64)],
        uncovered: Vec<Uncovered>,
        min_lot: impl Fn(&str) -> f64,
        now: DateTime<Utc>,
        respond_by: DateTime<Utc>,
    ) -> CampaignEvent {
        let mut next = self.next_offer_id();
        let mut offers = Vec::new();
        for (line, supplier, quantity, distance_km) in lots {
            let new = round_quantity(*quantity);
            if new <= QUANTITY_EPSILON {
                continue;
            }
            offers.push(OfferTerms {
                id: next,
                line: line.clone(),
                supplier: supplier.clone(),
                quantity: new,
                min_quantity: round_quantity(min_lot(supplier).min(new)),
                distance_km: *distance_km,
                respond_by: respond_by.min(self.deadline),
            });
            next += 1;
        }
        let uncovered = uncovered.into_iter().map(|u| self.with_pending_lots(u)).collect();
        CampaignEvent::OffersMade { at: now, round: self.rounds + 1, offers, uncovered }
    }

    /// The solver calls every lot it kept from an earlier round accepted; a lot still offered awaits an
    /// answer, and the facilitator reads which is which.
    fn with_pending_lots(&self, mut u: Uncovered) -> Uncovered {
        let line = u.line.clone();
        let offered =
            |s: &String| self.offers.values().any(|o| o.is_open() && o.terms.line == line && &o.terms.supplier == s);
        let mut split = false;
        for cause in &mut u.causes {
            if let ShortfallCause::AcceptedLotsKept { suppliers, pending } = cause
                && suppliers.iter().any(offered)
            {
                let (open, accepted): (Vec<String>, Vec<String>) =
                    std::mem::take(suppliers).into_iter().partition(offered);
                *suppliers = accepted;
                pending.extend(open);
                split = true;
            }
        }
        if split {
            u.reason = ShortfallCause::render_all(&u.causes, crate::Lang::En, &|id| id.to_owned());
        }
        u
    }

    /// Per line: accepted, pending, declined and uncovered quantity. `lines` gives each line's id and
    /// quantity in tender order.
    pub fn coverage(&self, lines: &[(String, f64)]) -> Vec<LineCoverage> {
        lines
            .iter()
            .map(|(line, quantity)| {
                let mut c = LineCoverage {
                    line: line.clone(),
                    accepted: 0.0,
                    pending: 0.0,
                    declined: 0.0,
                    uncovered: 0.0,
                    reason: None,
                };
                for o in self.offers.values().filter(|o| &o.terms.line == line) {
                    match &o.state {
                        OfferState::Open => c.pending += o.terms.quantity,
                        OfferState::Accepted { quantity, .. } => {
                            c.accepted += quantity;
                            c.declined += o.terms.quantity - quantity;
                        }
                        _ => c.declined += o.terms.quantity,
                    }
                }
                c.uncovered = round_quantity((quantity - c.accepted - c.pending).max(0.0));
                c.accepted = round_quantity(c.accepted);
                c.pending = round_quantity(c.pending);
                c.declined = round_quantity(c.declined);
                if c.uncovered > QUANTITY_EPSILON {
                    c.reason = self.uncovered.iter().find(|u| &u.line == line).map(|u| u.reason.clone());
                }
                c
            })
            .collect()
    }
}

impl fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().expect("valid date") + Duration::hours(h)
    }

    fn actor(user: &str) -> Actor {
        Actor { channel: "telegram".into(), user_id: user.into(), chat_id: Some(user.into()), name: None }
    }

    fn started() -> (Vec<CampaignEvent>, Campaign) {
        let tender = TenderRef::parse("ref", "T-1").expect("valid ref");
        let launched = Campaign::launch(actor("fac"), t(0), t(72));
        let c0 = Campaign::replay(tender.clone(), [&launched]).expect("replays").expect("launched");
        let lots = vec![
            ("L1".to_string(), "A".to_string(), 60.0, 5.0),
            ("L1".to_string(), "B".to_string(), 40.0, 12.0),
            ("L2".to_string(), "A".to_string(), 30.0, 5.0),
        ];
        let made = c0.offers_made(&lots, vec![], |s| if s == "A" { 20.0 } else { 50.0 }, t(0), t(48));
        let events = vec![launched, made];
        let c = Campaign::replay(tender, &events).expect("replays").expect("launched");
        (events, c)
    }

    fn push(events: &mut Vec<CampaignEvent>, event: CampaignEvent) -> Campaign {
        events.push(event);
        let tender = TenderRef::parse("ref", "T-1").expect("valid ref");
        Campaign::replay(tender, events.iter()).expect("replays").expect("launched")
    }

    #[test]
    fn a_kept_lot_still_offered_is_told_apart_from_an_accepted_one() {
        let (mut events, c) = started();
        let e = c.answer(1, "A", Answer::Accept, actor("a"), t(1)).expect("accepted");
        let c = push(&mut events, e);
        // B's offer 2 on L1 is still open: the solver, which knows no answers, calls both lots accepted.
        let kept = ShortfallCause::AcceptedLotsKept { suppliers: vec!["A".into(), "B".into()], pending: vec![] };
        let uncovered = Uncovered { line: "L1".into(), quantity: 5.0, reason: String::new(), causes: vec![kept] };
        let CampaignEvent::OffersMade { uncovered, .. } = c.offers_made(&[], vec![uncovered], |_| 0.0, t(2), t(50))
        else {
            unreachable!("offers_made makes OffersMade")
        };
        assert_eq!(
            uncovered[0].causes,
            [ShortfallCause::AcceptedLotsKept { suppliers: vec!["A".into()], pending: vec!["B".into()] }]
        );
        assert_eq!(uncovered[0].reason, "lots kept as they are: accepted (A); still awaiting an answer (B)");
    }

    #[test]
    fn offers_are_numbered_and_min_quantity_never_exceeds_the_offer() {
        let (_, c) = started();
        assert_eq!(c.offers.len(), 3);
        assert_eq!(c.offers[&2].terms.supplier, "B");
        assert_eq!(c.offers[&2].terms.min_quantity, 40.0, "B's min lot 50 is capped at the 40 offered");
        assert_eq!(c.offers[&1].terms.min_quantity, 20.0);
        assert_eq!(c.next_offer_id(), 4);
    }

    #[test]
    fn a_second_press_on_an_answered_offer_is_stale_and_a_foreign_press_is_refused() {
        let (mut events, c) = started();
        let e = c.answer(1, "A", Answer::Accept, actor("a"), t(1)).expect("accepted");
        let c = push(&mut events, e);
        assert_eq!(c.answer(1, "A", Answer::Accept, actor("a"), t(2)), Err(CampaignError::OfferNotOpen { offer: 1 }));
        assert_eq!(c.answer(2, "A", Answer::Accept, actor("a"), t(2)), Err(CampaignError::NotYourOffer { offer: 2 }));
        assert_eq!(c.answer(99, "A", Answer::Accept, actor("a"), t(2)), Err(CampaignError::OfferNotOpen { offer: 99 }));
    }

    #[test]
    fn an_accepted_lot_is_given_back_only_when_the_facilitator_confirms() {
        let (mut events, c) = started();
        assert!(c.ask_withdrawal(1, "A", "panne", actor("a"), t(1)).is_err(), "an open offer is not a commitment");
        let e = c.answer(1, "A", Answer::Accept, actor("a"), t(1)).expect("accept");
        let c = push(&mut events, e);
        assert_eq!(c.ask_withdrawal(1, "B", "x", actor("b"), t(2)), Err(CampaignError::NotYourOffer { offer: 1 }));
        let e = c.ask_withdrawal(1, "A", "véhicule en panne", actor("a"), t(2)).expect("asked");
        let c = push(&mut events, e);
        assert!(c.ask_withdrawal(1, "A", "encore", actor("a"), t(2)).is_err(), "one request at a time");
        let refused = c.settle_withdrawal(1, false, actor("fac"), t(3)).expect("pending");
        let kept = push(&mut events.clone(), refused);
        assert!(matches!(kept.offers[&1].state, OfferState::Accepted { .. }) && kept.offers[&1].withdrawal.is_none());
        let e = c.settle_withdrawal(1, true, actor("fac"), t(3)).expect("pending");
        let c = push(&mut events, e);
        assert!(
            matches!(&c.offers[&1].state, OfferState::Declined { reason: Some(r), .. } if r == "retrait — véhicule en panne")
        );
        assert!(c.needs_reallocation);
        assert!(c.settle_withdrawal(1, true, actor("fac"), t(4)).is_none(), "a second press changes nothing");
    }

    #[test]
    fn a_reason_follows_a_decline_once_and_only_from_its_structure() {
        let (mut events, c) = started();
        assert_eq!(
            c.explain_decline(2, "B", "distance", actor("b"), t(1)),
            Err(CampaignError::OfferNotOpen { offer: 2 }),
            "an open offer has no refusal to explain"
        );
        let e = c.answer(2, "B", Answer::Decline { reason: None }, actor("b"), t(1)).expect("decline");
        let c = push(&mut events, e);
        assert_eq!(
            c.explain_decline(2, "A", "distance", actor("a"), t(2)),
            Err(CampaignError::NotYourOffer { offer: 2 })
        );
        let e = c.explain_decline(2, "B", "distance", actor("b"), t(2)).expect("explained");
        let c = push(&mut events, e);
        assert!(matches!(&c.offers[&2].state, OfferState::Declined { reason: Some(r), .. } if r == "distance"));
        assert!(c.explain_decline(2, "B", "prix", actor("b"), t(3)).is_err(), "once");
    }

    #[test]
    fn partial_acceptance_is_bounded_by_the_min_lot_and_the_offer() {
        let (_, c) = started();
        let part = |q| c.answer(1, "A", Answer::AcceptPart { quantity: q }, actor("a"), t(1));
        assert!(
            matches!(part(10.0), Err(CampaignError::QuantityOutOfRange { min, max, .. }) if min == 20.0 && max == 60.0)
        );
        assert!(matches!(part(61.0), Err(CampaignError::QuantityOutOfRange { .. })));
        assert!(matches!(part(f64::NAN), Err(CampaignError::QuantityOutOfRange { .. })));
        assert!(matches!(part(60.0), Ok(CampaignEvent::Answered { answer: Answer::Accept, .. })));
        assert!(
            matches!(part(25.0), Ok(CampaignEvent::Answered { answer: Answer::AcceptPart { quantity }, .. }) if quantity == 25.0)
        );
    }

    #[test]
    fn decline_and_partial_acceptance_free_quantity_for_a_new_round_that_keeps_held_lots() {
        let (mut events, c) = started();
        let e = c.answer(1, "A", Answer::AcceptPart { quantity: 25.0 }, actor("a"), t(1)).expect("part");
        let c = push(&mut events, e);
        let e =
            c.answer(2, "B", Answer::Decline { reason: Some("trop loin".into()) }, actor("b"), t(1)).expect("decline");
        let c = push(&mut events, e);
        assert!(c.needs_reallocation);
        let basis = c.reallocation_basis();
        assert_eq!(basis.fixed.get(&("L1".into(), "A".into())), Some(&25.0));
        assert!(basis.excluded.contains(&("L1".into(), "A".into())), "a partial acceptance closes the pair");
        assert_eq!(basis.fixed.get(&("L2".into(), "A".into())), Some(&30.0), "open offers are kept");
        assert!(!basis.excluded.contains(&("L2".into(), "A".into())), "and may be topped up");
        assert!(basis.excluded.contains(&("L1".into(), "B".into())));
        let cov = c.coverage(&[("L1".into(), 100.0), ("L2".into(), 30.0)]);
        assert_eq!((cov[0].accepted, cov[0].pending, cov[0].declined, cov[0].uncovered), (25.0, 0.0, 75.0, 75.0));
        assert_eq!((cov[1].accepted, cov[1].pending, cov[1].uncovered), (0.0, 30.0, 0.0));

        // The new lots of the solver's result become offers (the fixed ones are not passed).
        let lots = vec![("L1".to_string(), "C".to_string(), 50.0, 8.0)];
        let uncovered =
            vec![Uncovered { line: "L1".into(), quantity: 25.0, reason: "capacity exhausted".into(), causes: vec![] }];
        let e = c.offers_made(&lots, uncovered, |_| 10.0, t(2), t(50));
        let CampaignEvent::OffersMade { round, offers, .. } = &e else { panic!("offers_made expected") };
        assert_eq!(*round, 2);
        assert_eq!(offers.len(), 1);
        assert_eq!((offers[0].id, offers[0].supplier.as_str(), offers[0].quantity), (4, "C", 50.0));
        let c = push(&mut events, e);
        assert!(!c.needs_reallocation);
        assert_eq!(c.coverage(&[("L1".into(), 100.0)])[0].reason.as_deref(), Some("capacity exhausted"));
    }

    #[test]
    fn expiry_then_completion_then_nothing_more() {
        let (mut events, c) = started();
        assert_eq!(c.expire(t(47)), None);
        let e = c.answer(3, "A", Answer::Accept, actor("a"), t(1)).expect("accept");
        let c = push(&mut events, e);
        let e = c.expire(t(48)).expect("two offers expire");
        assert!(matches!(&e, CampaignEvent::Expired { offers, .. } if offers == &vec![1, 2]));
        let c = push(&mut events, e);
        assert_eq!(c.close_if_done(t(49)), None, "expired quantity waits for a reallocation");
        let e = c.offers_made(&[], vec![], |_| 0.0, t(49), t(90));
        let c = push(&mut events, e);
        assert!(matches!(c.close_if_done(t(49)), Some(CampaignEvent::Ready { cause: ReadyCause::AllAnswered, .. })));
        let c = push(&mut events, CampaignEvent::Ready { at: t(49), cause: ReadyCause::AllAnswered });
        assert_eq!(c.answer(3, "A", Answer::Accept, actor("a"), t(50)), Err(CampaignError::Closed));
        assert_eq!(c.remind(t(50), t(50)), None);
        assert_eq!(c.expire(t(100)), None);
    }

    #[test]
    fn a_late_reminder_does_not_chase_offers_made_after_its_occurrence() {
        let (_, c) = started();
        assert_eq!(c.remind(t(5), t(-1)), None, "offers were made at t(0)");
        assert!(matches!(c.remind(t(5), t(1)), Some(CampaignEvent::Reminded { offers, .. }) if offers.len() == 3));
    }

    #[test]
    fn the_deadline_withdraws_open_offers() {
        let (mut events, c) = started();
        let e = c.close_if_done(t(72)).expect("deadline passed");
        let c = push(&mut events, e);
        assert!(c.offers.values().all(|o| matches!(o.state, OfferState::Withdrawn { .. })));
        assert_eq!(c.status, CampaignStatus::Ready);
    }

    #[test]
    fn events_round_trip_through_json_and_a_bad_log_is_refused() {
        let (events, _) = started();
        let json = serde_json::to_string(&events).expect("serialises");
        let back: Vec<CampaignEvent> = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, events);
        let tender = TenderRef::parse("ref", "T-1").expect("valid ref");
        let bad = [events[1].clone()];
        assert!(matches!(Campaign::replay(tender.clone(), &bad), Err(CampaignError::Inconsistent(_))));
        let twice = [events[0].clone(), events[1].clone(), events[1].clone()];
        assert!(matches!(Campaign::replay(tender, &twice), Err(CampaignError::Inconsistent(_))));
    }
}
