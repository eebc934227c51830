//! The campaign workflow around the store: load a campaign, decide with the domain and the solver, and
//! turn the decision into one [`Changeset`] (events, messages to send, inbox row) that the store
//! applies atomically. Used by the chat engine (commands, buttons), the scheduler (expiries, deadline,
//! reminders) and the demo.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use essaim_core::booking::{booked_elsewhere, recent_volume};
use essaim_core::{
    Actor, Answer, Campaign, CampaignError, CampaignEvent, Holding, Offer, OfferId, ReadyCause, ReallocationBasis,
    Siret, Supplier, Tender, TenderLine, TenderRef, Uncovered,
};
use essaim_solver::{AllocationInput, ExcludedPair, FixedLot};
use essaim_store::{CampaignAppend, Changeset, NewEvent, NewOutgoing, Store};

use crate::EngineError;
use crate::command::{MAX_BUTTON_DATA, OfferAction, OfferButton};
use crate::message::{Button, Outgoing, Platform};
use crate::settings::EngineSettings;
use crate::texts::{Lang, Texts, lang_of};

/// A campaign as loaded for one decision: the tender, who may answer it (the groupement's members and the
/// structures added for this tender), the state and the version the decision is based on (the store
/// refuses it if another decision landed meanwhile).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub tender: Tender,
    pub suppliers: Vec<Supplier>,
    pub version: i64,
    pub campaign: Option<Campaign>,
}

impl Loaded {
    pub fn supplier_name(&self, siret: &str) -> String {
        self.suppliers.iter().find(|s| s.siret.as_str() == siret).map_or_else(|| siret.to_owned(), |s| s.name.clone())
    }

    pub fn line(&self, id: &str) -> Option<&TenderLine> {
        self.tender.line(id)
    }
}

/// Loads a tender's campaign. `Ok(None)` when the tender is unknown.
pub async fn load(store: &Store, reference: &TenderRef) -> Result<Option<Loaded>, EngineError> {
    let Some(tender) = store.tender(reference).await? else { return Ok(None) };
    let mut suppliers = store.eligible_suppliers(&tender).await?.unwrap_or_default();
    let (version, campaign) = store.campaign(reference).await?;
    for siret in campaign.iter().flat_map(|c| &c.added_suppliers) {
        if suppliers.iter().any(|s| s.siret.as_str() == siret) {
            continue;
        }
        if let Ok(siret) = Siret::parse(siret)
            && let Some(supplier) = store.supplier(&siret).await?
        {
            suppliers.push(supplier);
        }
    }
    Ok(Some(Loaded { tender, suppliers, version, campaign }))
}

/// The solver input for a tender: its lines and suppliers, with what each supplier already holds on other
/// tenders taken off its capacity (the rule of [`essaim_core::booking`]), its recent volume for fairness,
/// the lots of `basis` fixed and its pairs excluded.
pub fn allocation_input(
    tender: &Tender,
    suppliers: &[Supplier],
    basis: &ReallocationBasis,
    holdings: &[Holding],
    settings: &EngineSettings,
    now: DateTime<Utc>,
) -> AllocationInput {
    let mut input =
        AllocationInput::for_tender(tender, suppliers, settings.weights, &settings.proposal.impact.insertion_rate);
    for (input_supplier, supplier) in input.suppliers.iter_mut().zip(suppliers) {
        let siret = supplier.siret.as_str();
        for (sector, capacity) in &supplier.capacities {
            let booked = booked_elsewhere(holdings, tender, siret, sector);
            if booked > 0.0 {
                input_supplier.capacity.insert(sector.to_string(), (capacity - booked).max(0.0));
            }
        }
        input_supplier.recent_volume = Some(recent_volume(holdings, siret, &tender.reference, now));
    }
    let known: BTreeMap<String, usize> = input.suppliers.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
    for ((line, supplier), quantity) in &basis.fixed {
        let (Some(&i), Some(l)) = (known.get(supplier.as_str()), tender.line(line)) else {
            // A supplier that left the groupement keeps its commitment on record, but the solver
            // no longer sees it: that quantity shows as open again.
            tracing::warn!(%supplier, %line, "held lot of a supplier no longer eligible");
            continue;
        };
        // A commitment stands even if the supplier lowered its capacity since, or booked elsewhere.
        let capacity = input.suppliers[i].capacity.entry(l.sector.to_string()).or_insert(0.0);
        let held_in_sector: f64 = basis
            .fixed
            .iter()
            .filter(|((ln, s), _)| s == supplier && tender.line(ln).is_some_and(|x| x.sector == l.sector))
            .map(|(_, q)| q)
            .sum();
        *capacity = capacity.max(held_in_sector);
        input.fixed.push(FixedLot { line: line.clone(), supplier: supplier.clone(), quantity: *quantity });
    }
    input.excluded = basis
        .excluded
        .iter()
        .filter(|(line, supplier)| known.contains_key(supplier.as_str()) && tender.line(line).is_some())
        .map(|(line, supplier)| ExcludedPair { line: line.clone(), supplier: supplier.clone() })
        .collect();
    input
}

/// A structure outside the groupement that could cover part of an uncovered line.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub siret: Siret,
    pub name: String,
    pub distance_km: f64,
    /// Capacity in the line's sector less what it holds on tenders whose period overlaps.
    pub free: f64,
    /// Whether it has a chat account linked (else it must be reached another way).
    pub linked: bool,
}

/// How many structures a shortfall note suggests.
pub const SUGGESTIONS: usize = 3;

/// Up to [`SUGGESTIONS`] structures of the directory, outside those who may answer the tender, that could
/// take part of `line`: capacity in its sector free on its period, the site within their reach, and a kind
/// the line admits (participation mode, reservation). Nearest first.
pub async fn suggestions(store: &Store, loaded: &Loaded, line: &TenderLine) -> Result<Vec<Suggestion>, EngineError> {
    let directory = store.suppliers().await?;
    let holdings = store.capacity_context(&loaded.tender.reference).await?.holdings;
    let mut found: Vec<Suggestion> = Vec::new();
    for s in &directory {
        if loaded.suppliers.iter().any(|m| m.siret == s.siret) || !line.admits(s.kind) || !s.reaches(&line.site) {
            continue;
        }
        let free =
            s.capacity(&line.sector) - booked_elsewhere(&holdings, &loaded.tender, s.siret.as_str(), &line.sector);
        if free <= essaim_core::QUANTITY_EPSILON || free + essaim_core::QUANTITY_EPSILON < s.min_lot.min(line.quantity)
        {
            continue;
        }
        found.push(Suggestion {
            siret: s.siret.clone(),
            name: s.name.clone(),
            distance_km: s.location.distance_km(&line.site),
            free: essaim_core::round_quantity(free),
            linked: false,
        });
    }
    found.sort_by(|a, b| a.distance_km.total_cmp(&b.distance_km).then(a.siret.cmp(&b.siret)));
    found.truncate(SUGGESTIONS);
    for s in &mut found {
        s.linked = !store.accounts_for_supplier(&s.siret).await?.is_empty();
    }
    Ok(found)
}

/// The suggestions for every line of the campaign that is uncovered now, by line id.
pub async fn shortfall_suggestions(
    store: &Store,
    loaded: &Loaded,
    campaign: &Campaign,
) -> Result<BTreeMap<String, Vec<Suggestion>>, EngineError> {
    let lines: Vec<(String, f64)> = loaded.tender.lines.iter().map(|l| (l.id.clone(), l.quantity)).collect();
    let mut out = BTreeMap::new();
    for c in campaign.coverage(&lines) {
        if c.uncovered > essaim_core::QUANTITY_EPSILON
            && let Some(line) = loaded.line(&c.line)
        {
            let found = suggestions(store, loaded, line).await?;
            if !found.is_empty() {
                out.insert(c.line.clone(), found);
            }
        }
    }
    Ok(out)
}

/// Messages being prepared for one decision, with stable keys so that the same decision retried never
/// queues a message twice.
#[derive(Debug, Default)]
pub struct Messages {
    pub items: Vec<NewOutgoing>,
}

impl Messages {
    pub fn push(&mut self, key: String, message: Outgoing) {
        let payload = serde_json::to_value(&message).unwrap_or_default();
        self.items.push(NewOutgoing {
            key,
            platform: message.platform.as_str().to_owned(),
            chat_id: message.chat_id.clone(),
            payload,
        });
    }
}

/// A recipient: one linked chat account.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub platform: Platform,
    pub user_id: String,
    pub chat_id: String,
    pub lang: Lang,
}

/// Where a supplier is reached: its linked chat accounts; with none and the e-mail channel configured,
/// its directory contact address (the user id is then its SIRET, which its signed links speak for).
pub async fn supplier_recipients(
    store: &Store,
    siret: &str,
    settings: &EngineSettings,
) -> Result<Vec<Recipient>, EngineError> {
    let Ok(siret) = essaim_core::Siret::parse(siret) else { return Ok(Vec::new()) };
    let default = settings.default_lang;
    let linked: Vec<Recipient> = store
        .accounts_for_supplier(&siret)
        .await?
        .into_iter()
        .filter_map(|a| {
            Some(Recipient {
                platform: a.platform.parse().ok()?,
                lang: lang_of(a.language.as_deref(), None, default),
                user_id: a.user_id,
                chat_id: a.chat_id,
            })
        })
        .collect();
    if !linked.is_empty() || !settings.email {
        return Ok(linked);
    }
    let address = store.supplier(&siret).await?.and_then(|s| s.contact.email).filter(|e| is_mail_address(e));
    Ok(address
        .map(|chat_id| Recipient { platform: Platform::Email, user_id: siret.to_string(), chat_id, lang: default })
        .into_iter()
        .collect())
}

/// How a structure is reached, as `/membres` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Linked chat accounts, by platform.
    Chat(Vec<Platform>),
    /// Its directory address; `reminders` false when the mailbox stopped them.
    Email {
        address: String,
        reminders: bool,
    },
    /// An address in the directory, but no e-mail channel configured.
    EmailNotConfigured(String),
    Unreachable,
}

/// How the structure `siret` is reached now.
pub async fn reach(store: &Store, siret: &essaim_core::Siret, settings: &EngineSettings) -> Result<Reach, EngineError> {
    let mut platforms: Vec<Platform> =
        store.accounts_for_supplier(siret).await?.iter().filter_map(|a| a.platform.parse().ok()).collect();
    platforms.sort_by_key(|p| p.as_str());
    platforms.dedup();
    if !platforms.is_empty() {
        return Ok(Reach::Chat(platforms));
    }
    let address = store.supplier(siret).await?.and_then(|s| s.contact.email).filter(|e| is_mail_address(e));
    Ok(match address {
        Some(address) if settings.email => {
            let reminders = store.wants_reminder_mail(&address).await?;
            Reach::Email { address, reminders }
        }
        Some(address) => Reach::EmailNotConfigured(address),
        None => Reach::Unreachable,
    })
}

/// `/membres REF`: every structure the tender's campaign can offer lots to, its channel, and which cannot
/// be reached (with what to do about it).
pub async fn members_text(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    texts: &Texts,
) -> Result<String, EngineError> {
    let mut rows = Vec::with_capacity(loaded.suppliers.len());
    for s in &loaded.suppliers {
        rows.push((s.name.clone(), s.kind.code(), reach(store, &s.siret, settings).await?));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(texts.members(loaded.tender.reference.as_str(), &rows))
}

/// Ten characters without look-alikes (no 0/O, 1/I/L): about 50 bits, typed on a phone if need be.
pub fn invite_code() -> String {
    random_code(10)
}

/// What a forgotten person becomes in the campaign log: `anonyme-` and ten random characters, drawn
/// afresh (nothing about the person goes in, so nothing leads back once the account is gone).
pub fn pseudonym() -> String {
    format!("anonyme-{}", random_code(10))
}

fn random_code(len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..len).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

/// What inviting a groupement by mail did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupementInvites {
    /// Structures invited (names).
    pub invited: Vec<String>,
    /// Already linked to a chat account: nothing sent.
    pub linked: usize,
    /// No address in the directory: they need another way (names).
    pub without_address: Vec<String>,
}

/// Invites by mail every member of groupement `code` that has no linked account: a one-time code to link
/// Telegram or Discord, or nothing to do to stay by e-mail. The codes and their mails in one changeset.
/// `None` when the groupement is unknown.
pub async fn invite_groupement_by_mail(
    store: &Store,
    settings: &EngineSettings,
    code: &essaim_core::GroupementCode,
    expires_at: DateTime<Utc>,
) -> Result<Option<(Changeset, GroupementInvites)>, EngineError> {
    let Some(groupement) = store.groupement(code).await? else { return Ok(None) };
    let mut changes = Changeset::default();
    let mut messages = Messages::default();
    let mut summary = GroupementInvites::default();
    let texts = Texts::new(settings.default_lang, settings.time_zone);
    for siret in &groupement.members {
        if !store.accounts_for_supplier(siret).await?.is_empty() {
            summary.linked += 1;
            continue;
        }
        let Some(supplier) = store.supplier(siret).await? else { continue };
        let Some(address) = supplier.contact.email.clone().filter(|a| is_mail_address(a)) else {
            summary.without_address.push(supplier.name.clone());
            continue;
        };
        let invite = invite_code();
        let text = texts.invitation(&supplier.name, &groupement.name, &invite, expires_at);
        messages.push(format!("invite:{code}:{siret}:{invite}"), Outgoing::text(Platform::Email, address, text));
        changes.new_invites.push(essaim_store::NewInvite {
            code: invite,
            role: essaim_core::Role::Supplier,
            supplier: Some(siret.clone()),
            expires_at: Some(expires_at),
            scope: None,
        });
        summary.invited.push(supplier.name.clone());
    }
    changes.outbox = messages.items;
    Ok(Some((changes, summary)))
}

/// An address a mail can be sent to (the domain's rule, shared with the importer).
pub use essaim_core::is_mail_address;

/// Where to tell the facilitator who launched the campaign, when they launched it from a chat.
pub async fn facilitator_recipient(store: &Store, by: &Actor, default: Lang) -> Result<Option<Recipient>, EngineError> {
    let Ok(platform) = by.channel.parse::<Platform>() else { return Ok(None) };
    let Some(chat_id) = by.chat_id.clone() else { return Ok(None) };
    let account = store.account(platform.as_str(), &by.user_id).await?;
    let lang = lang_of(account.as_ref().and_then(|a| a.language.as_deref()), None, default);
    Ok(Some(Recipient { platform, user_id: by.user_id.clone(), chat_id, lang }))
}

/// What the structure of `offer` holds on the same line from earlier offers (accepted or waiting): the
/// offer then comes on top of it.
pub fn held_before(campaign: &Campaign, offer: &Offer) -> f64 {
    campaign
        .offers
        .range(..offer.terms.id)
        .map(|(_, o)| o)
        .filter(|o| o.terms.line == offer.terms.line && o.terms.supplier == offer.terms.supplier)
        .map(Offer::held_quantity)
        .sum()
}

/// The text of an offer as its structure reads it: with what it already holds on the line and the amount
/// the lot is billed at — the structure's own price for the sector, else the buyer's reference price.
pub fn offer_text(
    texts: &Texts,
    loaded: &Loaded,
    campaign: &Campaign,
    offer: &Offer,
    reminder: bool,
) -> Option<String> {
    let line = loaded.line(&offer.terms.line)?;
    let own =
        loaded.suppliers.iter().find(|s| s.siret.as_str() == offer.terms.supplier).and_then(|s| s.price(&line.sector));
    let price = own.map(|p| (p, true)).or(line.unit_price.map(|p| (p, false)));
    Some(texts.offer(&loaded.tender, line, offer, reminder, held_before(campaign, offer), price))
}

/// The offer message with its three buttons. `campaign` is the state the offer belongs to.
pub fn offer_message(
    texts: &Texts,
    to: &Recipient,
    loaded: &Loaded,
    campaign: &Campaign,
    offer: &Offer,
    reminder: bool,
) -> Option<Outgoing> {
    let text = offer_text(texts, loaded, campaign, offer, reminder)?;
    let button = |action, label: String, asks_quantity| {
        let data = OfferButton { action, offer: offer.terms.id, tender: loaded.tender.reference.clone() }.data();
        Button { label, data, asks_quantity }
    };
    Some(Outgoing::text(to.platform, to.chat_id.clone(), text).with_buttons(vec![
        vec![
            button(OfferAction::Accept, texts.button_accept(), false),
            button(OfferAction::Decline, texts.button_decline(), false),
        ],
        vec![
            button(OfferAction::Part, texts.button_part(), true),
            // A form on Discord as for the quantity: the interactions endpoint sees no typed message.
            button(OfferAction::Ask, texts.button_ask(), true),
        ],
    ]))
}

/// The start of the outbox key of an edit that takes the buttons off a closed offer's message.
pub const CLOSED_PREFIX: &str = "closed:";

/// The start of the outbox keys of the copies of an offer a structure's account listed (`/mes_lots`);
/// the listing's update id follows.
pub fn listed_key(tender: &TenderRef, offer: OfferId, platform: Platform, user_id: &str) -> String {
    format!("listed:{tender}:{offer}:{platform}:{user_id}:")
}

/// Something to tell the facilitator, rendered in their language when the message is written.
#[derive(Debug, Clone)]
pub enum Note {
    Launched {
        offers: usize,
        suppliers: usize,
        unlinked: Vec<String>,
        /// Structures the tender may count on whose capacity is unknown (names, by name).
        unknown_capacity: Vec<String>,
    },
    /// What stays uncovered on a line, and who outside the groupement could take it.
    Uncovered(Uncovered, Vec<Suggestion>),
    /// A structure joined the groupement for this tender; `offers` were made to it at once.
    SupplierAdded {
        name: String,
        linked: bool,
        offers: usize,
        running: bool,
    },
    Reopened,
    Declined {
        supplier: String,
        offer: OfferId,
    },
    /// A structure says why it declined.
    Explained {
        supplier: String,
        offer: OfferId,
    },
    AcceptedPart {
        supplier: String,
        offer: OfferId,
        quantity: f64,
    },
    Expired(usize),
    Reallocated(usize),
    Ready(ReadyCause),
    /// Where the campaign stands, with who could fill each uncovered line.
    Status(BTreeMap<String, Vec<Suggestion>>),
}

/// A decision in the making: the events appended to the campaign (already applied to `campaign`) and
/// the messages they cause.
pub struct Progress<'a> {
    pub store: &'a Store,
    pub settings: &'a EngineSettings,
    pub loaded: &'a Loaded,
    pub campaign: Campaign,
    pub events: Vec<CampaignEvent>,
    pub messages: Messages,
    /// What to tell the facilitator, in one message at the end.
    pub facilitator_notes: Vec<Note>,
    /// The proposal's messages once the campaign is ready, queued after the facilitator's notes.
    pub proposal: Messages,
    /// Structures this decision offers new hours to, with the booking version it read.
    pub bookings: BTreeMap<String, i64>,
    pub now: DateTime<Utc>,
}

impl<'a> Progress<'a> {
    pub fn new(
        store: &'a Store,
        settings: &'a EngineSettings,
        loaded: &'a Loaded,
        campaign: Campaign,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            store,
            settings,
            loaded,
            campaign,
            events: Vec::new(),
            messages: Messages::default(),
            facilitator_notes: Vec::new(),
            proposal: Messages::default(),
            bookings: BTreeMap::new(),
            now,
        }
    }

    fn key(&self, what: &str) -> String {
        format!("{}:{}:v{}+{}", what, self.loaded.tender.reference, self.loaded.version, self.events.len())
    }

    /// Records an event and applies it to the state.
    pub fn record(&mut self, event: CampaignEvent) -> Result<(), EngineError> {
        self.campaign.apply(&event).map_err(|e| EngineError::Corrupt(e.to_string()))?;
        self.events.push(event);
        Ok(())
    }

    /// Runs the solver over what is open — fixed lots kept and topped up where it is best, closed pairs
    /// excluded, hours held on other tenders taken off — and makes the new round's offers; sends them.
    pub async fn allocate_round(&mut self) -> Result<usize, EngineError> {
        let loaded = self.loaded;
        let basis = self.campaign.reallocation_basis();
        let context = self.store.capacity_context(&loaded.tender.reference).await?;
        let input =
            allocation_input(&loaded.tender, &loaded.suppliers, &basis, &context.holdings, self.settings, self.now);
        let solve = self.settings.solve;
        let result = tokio::task::spawn_blocking(move || essaim_solver::allocate(&input, &solve))
            .await
            .map_err(|e| EngineError::Solver(format!("the solver task stopped: {e}")))?
            .map_err(|e| EngineError::Solver(e.to_string()))?;
        // Only the new lots become offers; the fixed ones are what the campaign already holds.
        let lots: Vec<(String, String, f64, f64)> = result
            .lots
            .iter()
            .filter(|l| !l.fixed)
            .map(|l| (l.line.clone(), l.supplier.clone(), l.quantity, l.distance_km))
            .collect();
        for (_, supplier, _, _) in &lots {
            let version = context.booking_versions.get(supplier).copied().unwrap_or(0);
            self.bookings.entry(supplier.clone()).or_insert(version);
        }
        let uncovered: Vec<Uncovered> = result.shortfall.iter().map(Uncovered::from).collect();
        let min_lot =
            |siret: &str| loaded.suppliers.iter().find(|s| s.siret.as_str() == siret).map_or(0.0, |s| s.min_lot);
        let event =
            self.campaign.offers_made(&lots, uncovered, min_lot, self.now, self.now + self.settings.response_time);
        let CampaignEvent::OffersMade { offers, .. } = &event else { unreachable!("offers_made makes OffersMade") };
        let ids: Vec<OfferId> = offers.iter().map(|o| o.id).collect();
        self.record(event)?;
        for id in &ids {
            self.send_offer(*id, false).await?;
        }
        Ok(ids.len())
    }

    /// Sends one offer (or its reminder) to every account of its supplier.
    pub async fn send_offer(&mut self, id: OfferId, reminder: bool) -> Result<usize, EngineError> {
        let Some(offer) = self.campaign.offers.get(&id).cloned() else { return Ok(0) };
        let mut recipients = supplier_recipients(self.store, &offer.terms.supplier, self.settings).await?;
        if reminder {
            // A reminder is the one non-essential mail: a mailbox that asked (List-Unsubscribe) gets none.
            let mut kept = Vec::with_capacity(recipients.len());
            for to in recipients {
                if to.platform != Platform::Email || self.store.wants_reminder_mail(&to.chat_id).await? {
                    kept.push(to);
                }
            }
            recipients = kept;
        }
        for to in &recipients {
            let texts = Texts::new(to.lang, self.settings.time_zone);
            if let Some(message) = offer_message(&texts, to, self.loaded, &self.campaign, &offer, reminder) {
                let what = if reminder { format!("remind{}", offer.reminders) } else { "offer".to_owned() };
                let key = format!("{what}:{}:{id}:{}:{}", self.loaded.tender.reference, to.platform, to.user_id);
                self.messages.push(key, message);
            }
        }
        Ok(recipients.len())
    }

    /// After an answer or an expiry: reallocate what was freed, close the campaign when done.
    pub async fn follow_up(&mut self) -> Result<(), EngineError> {
        if let Some(expired) = self.campaign.expire(self.now) {
            if let CampaignEvent::Expired { offers, .. } = &expired {
                self.facilitator_notes.push(Note::Expired(offers.len()));
            }
            self.record(expired)?;
        }
        if self.campaign.is_running() && self.campaign.needs_reallocation && self.now < self.campaign.deadline {
            let made = self.allocate_round().await?;
            self.facilitator_notes.push(Note::Reallocated(made));
        }
        if let Some(ready) = self.campaign.close_if_done(self.now) {
            self.settle(ready).await?;
        }
        Ok(())
    }

    /// Records the event that makes the campaign ready, then what follows: the facilitator's status and
    /// the proposal (or the question of how to send it).
    pub async fn settle(&mut self, ready: CampaignEvent) -> Result<(), EngineError> {
        {
            let cause = match &ready {
                CampaignEvent::Ready { cause, .. } => *cause,
                _ => ReadyCause::AllAnswered,
            };
            self.record(ready)?;
            self.facilitator_notes.push(Note::Ready(cause));
            let suggestions = shortfall_suggestions(self.store, self.loaded, &self.campaign).await?;
            self.facilitator_notes.push(Note::Status(suggestions));
            // The buyer receives the proposal in the same transaction as the event that made it final —
            // unless a line is covered in part only: the facilitator chooses first.
            let to = facilitator_recipient(self.store, &self.campaign.launched_by, self.settings.default_lang).await?;
            let key = self.key("proposal");
            let delivery =
                deliver_or_ask(self.store, self.settings, self.loaded, &self.campaign, to.as_ref(), &key, self.now)
                    .await?;
            self.proposal = delivery;
        }
        Ok(())
    }

    /// One note in the reader's words.
    pub fn render(&self, note: &Note, texts: &Texts) -> String {
        let loaded = self.loaded;
        let reference = loaded.tender.reference.as_str();
        let offer_and_line = |id: &OfferId| {
            let offer = self.campaign.offers.get(id)?;
            Some((offer, loaded.line(&offer.terms.line)?))
        };
        match note {
            Note::Launched { offers, suppliers, unlinked, unknown_capacity } => {
                let mut text = texts.launched(reference, *offers, *suppliers, unlinked);
                if !unknown_capacity.is_empty() {
                    text.push('\n');
                    text.push_str(&texts.unknown_capacity(unknown_capacity));
                }
                text
            }
            Note::Uncovered(u, suggestions) => loaded.line(&u.line).map_or_else(String::new, |line| {
                let mut text =
                    texts.uncovered_line(line, u.quantity, &texts.reason(u, &|s: &str| loaded.supplier_name(s)));
                if !suggestions.is_empty() {
                    text.push('\n');
                    text.push_str(&texts.suggestions(reference, suggestions));
                }
                text
            }),
            Note::SupplierAdded { name, linked, offers, running } => {
                texts.supplier_added(reference, name, *linked, *offers, *running)
            }
            Note::Reopened => texts.reopened(reference, self.campaign.deadline),
            Note::Declined { supplier, offer } => {
                offer_and_line(offer).map_or_else(String::new, |(o, line)| texts.supplier_declined(supplier, o, line))
            }
            Note::Explained { supplier, offer } => {
                offer_and_line(offer).map_or_else(String::new, |(o, line)| texts.decline_explained(supplier, o, line))
            }
            Note::AcceptedPart { supplier, offer, quantity } => offer_and_line(offer)
                .map_or_else(String::new, |(o, line)| texts.supplier_accepted_part(supplier, o, *quantity, line)),
            Note::Expired(n) => texts.offers_expired(*n),
            Note::Reallocated(n) => texts.reallocated(*n),
            Note::Ready(cause) => texts.ready(reference, *cause),
            Note::Status(suggestions) => status_text(texts, self.settings, self.loaded, &self.campaign, suggestions),
        }
    }

    /// The notes as one text.
    pub fn notes_text(&self, texts: &Texts) -> String {
        self.facilitator_notes
            .iter()
            .map(|n| self.render(n, texts))
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Every message that showed the buttons of an offer this decision closes — the offer and its
    /// reminders, on each chat account of its structure — is edited: its text stays, the outcome comes
    /// under it, the buttons go (a press on them would only be refused). Keyed by the message edited, so
    /// a decision retried edits once. A mail cannot be edited; a message not sent yet has no id to edit
    /// and keeps its buttons (a press on them is refused as stale).
    async fn close_offer_messages(&mut self) -> Result<(), EngineError> {
        let Some(before) = self.loaded.campaign.as_ref() else { return Ok(()) };
        let closed: Vec<(Offer, Offer)> = self
            .campaign
            .offers
            .values()
            .filter(|now| !now.is_open())
            .filter_map(|now| Some((before.offers.get(&now.terms.id).filter(|o| o.is_open())?.clone(), now.clone())))
            .collect();
        let reference = &self.loaded.tender.reference;
        for (shown, now) in closed {
            let recipients = supplier_recipients(self.store, &now.terms.supplier, self.settings).await?;
            let unit = self.loaded.line(&now.terms.line).map_or("h", |l| l.unit.as_str());
            for to in recipients.iter().filter(|to| matches!(to.platform, Platform::Telegram | Platform::Discord)) {
                let texts = Texts::new(to.lang, self.settings.time_zone);
                let Some(outcome) = texts.offer_outcome(&now, unit) else { continue };
                let id = now.terms.id;
                let mut shown_in = Vec::new();
                for reminder in 0..=now.reminders {
                    let what = if reminder == 0 { "offer".to_owned() } else { format!("remind{reminder}") };
                    let key = format!("{what}:{reference}:{id}:{}:{}", to.platform, to.user_id);
                    if let Some(message_id) = self.store.outbox_message_id(&key).await? {
                        shown_in.push((key, to.chat_id.clone(), message_id, reminder > 0));
                    }
                }
                let listed = listed_key(reference, id, to.platform, &to.user_id);
                for copy in self.store.sent_with_key_prefix(&listed).await? {
                    shown_in.push((copy.key, copy.chat_id, copy.platform_message_id, false));
                }
                for (key, chat_id, message_id, reminder) in shown_in {
                    let Some(text) = offer_text(&texts, self.loaded, before, &shown, reminder) else { continue };
                    let text = texts.offer_answered(&text, &outcome);
                    let edit = Outgoing::text(to.platform, chat_id, text).replacing(Some(&message_id));
                    self.messages.push(format!("{CLOSED_PREFIX}{key}"), edit);
                }
            }
        }
        Ok(())
    }

    /// The changeset: events on the campaign at the loaded version, the facilitator's notes, the messages.
    pub async fn into_changes(mut self) -> Result<Changeset, EngineError> {
        self.close_offer_messages().await?;
        if !self.facilitator_notes.is_empty()
            && let Some(to) =
                facilitator_recipient(self.store, &self.campaign.launched_by, self.settings.default_lang).await?
        {
            let key = self.key("note");
            let text = self.notes_text(&Texts::new(to.lang, self.settings.time_zone));
            self.messages.push(key, Outgoing::text(to.platform, to.chat_id.clone(), text));
        }
        let mut changes = Changeset::default();
        if !self.events.is_empty() {
            changes.campaign = Some(CampaignAppend {
                tender: self.loaded.tender.reference.clone(),
                expected_version: self.loaded.version,
                status: self.campaign.status.as_str().to_owned(),
                holdings: self.campaign.holdings(&self.loaded.tender),
                bookings: self.bookings.into_iter().collect(),
                events: self
                    .events
                    .iter()
                    .map(|e| NewEvent {
                        kind: e.kind().to_owned(),
                        payload: serde_json::to_value(e).unwrap_or_default(),
                    })
                    .collect(),
            });
        }
        self.messages.items.append(&mut self.proposal.items);
        changes.outbox = self.messages.items;
        Ok(changes)
    }
}

/// The proposal of a campaign, as the buyer would receive it.
fn build_proposal(
    settings: &EngineSettings,
    loaded: &Loaded,
    groupement: Option<&essaim_core::Groupement>,
    campaign: &Campaign,
    partial_lines: essaim_core::proposal::PartialLines,
    now: DateTime<Utc>,
    lang: Lang,
) -> Result<essaim_core::Proposal, EngineError> {
    let bid = essaim_core::proposal::BidSettings { partial_lines, ..settings.proposal.bid.clone() };
    essaim_core::Proposal::build(&essaim_core::ProposalInput {
        tender: &loaded.tender,
        groupement,
        suppliers: &loaded.suppliers,
        campaign,
        impact: &settings.proposal.impact,
        bid: &bid,
        groupement_kind: settings.proposal.groupement_kind,
        generated_at: now,
        lang,
    })
    .map_err(|e| EngineError::Corrupt(format!("proposal of {}: {e}", loaded.tender.reference)))
}

/// Sends the proposal (see [`proposal_messages`]), or, when it covers some lines in part only and a
/// facilitator can be asked (`to`), asks them first: send those lines marked « offre partielle », or
/// without them (to a public buyer an incomplete offer is irregular, CCP L2152-2).
pub async fn deliver_or_ask(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    campaign: &Campaign,
    to: Option<&Recipient>,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Messages, EngineError> {
    let mark = essaim_core::proposal::PartialLines::Mark;
    let Some(to) = to else {
        return proposal_messages(store, settings, loaded, campaign, None, key, now, mark).await;
    };
    let groupement = match &loaded.tender.groupement {
        Some(code) => store.groupement(code).await?,
        None => None,
    };
    let proposal = build_proposal(settings, loaded, groupement.as_ref(), campaign, mark, now, to.lang)?;
    if !proposal.has_partial_lines() {
        return proposal_messages(store, settings, loaded, campaign, Some(to), key, now, mark).await;
    }
    let texts = Texts::new(to.lang, settings.time_zone);
    let partial: Vec<(String, f64, f64, String)> = loaded
        .tender
        .lines
        .iter()
        .zip(&proposal.lines)
        .filter(|(_, l)| l.partial)
        .map(|(line, l)| (texts.line_name(line), l.covered, l.quantity, l.unit.clone()))
        .collect();
    let button = |partial_lines, label: String| {
        let data = crate::command::BidButton { partial_lines, tender: loaded.tender.reference.clone() }.data();
        Button { label, data, asks_quantity: false }
    };
    let question = Outgoing::text(
        to.platform,
        to.chat_id.clone(),
        texts.partial_bid_question(
            loaded.tender.reference.as_str(),
            &partial,
            loaded.tender.buyer.kind == Some(essaim_core::BuyerKind::Public),
        ),
    )
    .with_buttons(vec![vec![
        button(mark, texts.button_send_partial()),
        button(essaim_core::proposal::PartialLines::Omit, texts.button_send_without()),
    ]]);
    let mut messages = Messages::default();
    messages.push(format!("{key}:ask"), question);
    Ok(messages)
}

/// The proposal's messages: to every account of the tender's buyer, a summary with the HTML page
/// attached (in the account's language); to the facilitator (`to`), a note with the link, or with the
/// page itself when no buyer account is linked. `partial_lines`: what the bid does with a line covered
/// in part only. Keys start with `key`, so a retried decision queues nothing twice.
#[allow(clippy::too_many_arguments)]
pub async fn proposal_messages(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    campaign: &Campaign,
    to: Option<&Recipient>,
    key: &str,
    now: DateTime<Utc>,
    partial_lines: essaim_core::proposal::PartialLines,
) -> Result<Messages, EngineError> {
    let tender = &loaded.tender;
    let groupement = match &tender.groupement {
        Some(code) => store.groupement(code).await?,
        None => None,
    };
    // One proposal (and page) per language, however many accounts read it.
    let mut built: std::collections::HashMap<Lang, (essaim_core::Proposal, crate::message::Document)> =
        std::collections::HashMap::new();
    let mut page = |lang: Lang| -> Result<(essaim_core::Proposal, crate::message::Document), EngineError> {
        if let Some(done) = built.get(&lang) {
            return Ok(done.clone());
        }
        let proposal = build_proposal(settings, loaded, groupement.as_ref(), campaign, partial_lines, now, lang)?;
        let document = proposal_document(&proposal);
        built.insert(lang, (proposal.clone(), document.clone()));
        Ok((proposal, document))
    };
    let buyers = match &tender.buyer.siret {
        Some(siret) => store.accounts_for_buyer(siret).await?,
        None => Vec::new(),
    };
    let mut messages = Messages::default();
    let mut delivered = 0;
    for account in &buyers {
        let Ok(platform) = account.platform.parse::<Platform>() else { continue };
        let lang = lang_of(account.language.as_deref(), None, settings.default_lang);
        let (proposal, document) = page(lang)?;
        let mut message = Outgoing::text(
            platform,
            account.chat_id.clone(),
            Texts::new(lang, settings.time_zone).proposal_for_buyer(&proposal),
        );
        message.document = Some(document);
        messages.push(format!("{key}:buyer:{}:{}", account.platform, account.user_id), message);
        delivered += 1;
    }
    // The purchasing officer by e-mail: the page attached, and the répartition as a workbook.
    if let Some(address) = tender.buyer.email.as_deref().filter(|a| settings.email && is_mail_address(a)) {
        let lang = settings.default_lang;
        let (proposal, document) = page(lang)?;
        let mut message = Outgoing::text(
            Platform::Email,
            address,
            Texts::new(lang, settings.time_zone).proposal_for_buyer(&proposal),
        );
        let workbook = essaim_core::proposal::sheet::xlsx(&proposal);
        match workbook {
            Ok(bytes) => message.attachments.push(crate::message::Document {
                file_name: document.file_name.replace(".html", ".xlsx"),
                mime_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into(),
                content: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes),
                base64: true,
            }),
            // The page carries every figure; the mail goes without the workbook rather than not at all.
            Err(e) => tracing::warn!(tender = %tender.reference, error = %e, "proposal workbook not built"),
        }
        message.document = Some(document);
        messages.push(format!("{key}:buyer:email"), message);
        delivered += 1;
    }
    if let Some(to) = to {
        let texts = Texts::new(to.lang, settings.time_zone);
        let link = settings
            .proposal
            .public_url
            .as_ref()
            .map(|u| format!("{u}/proposals/{}?format=html", tender.reference.path_segment()));
        let mut message = Outgoing::text(
            to.platform,
            to.chat_id.clone(),
            texts.proposal_sent(tender.reference.as_str(), delivered, link.as_deref()),
        );
        if delivered == 0 {
            message.document = Some(page(to.lang)?.1);
        }
        messages.push(format!("{key}:facilitator"), message);
    }
    Ok(messages)
}

fn proposal_document(proposal: &essaim_core::Proposal) -> crate::message::Document {
    let draft = if proposal.status == essaim_core::ProposalStatus::Draft { "-provisoire" } else { "" };
    crate::message::Document {
        file_name: format!("proposition-{}{draft}.html", proposal.tender.reference),
        mime_type: "text/html".into(),
        content: essaim_core::proposal::html::render(proposal),
        base64: false,
    }
}

/// The facilitator's view of a campaign: per line what is accepted, pending, declined and uncovered, the
/// clause hours against the target, and who outside the groupement could fill a shortfall.
pub fn status_text(
    texts: &Texts,
    settings: &EngineSettings,
    loaded: &Loaded,
    campaign: &Campaign,
    suggestions: &BTreeMap<String, Vec<Suggestion>>,
) -> String {
    let lines: Vec<(String, f64)> = loaded.tender.lines.iter().map(|l| (l.id.clone(), l.quantity)).collect();
    let coverage = campaign.coverage(&lines);
    let name = |siret: &str| loaded.supplier_name(siret);
    let clauses: BTreeMap<String, f64> = loaded
        .tender
        .lines
        .iter()
        .filter(|l| l.insertion_hours_min.is_some())
        .map(|l| (l.id.clone(), clause_hours(settings, loaded, campaign, &l.id)))
        .collect();
    let mut refusals: BTreeMap<String, Vec<(String, Option<String>)>> = BTreeMap::new();
    for offer in campaign.offers.values() {
        if let essaim_core::OfferState::Declined { reason, .. } = &offer.state {
            refusals.entry(offer.terms.line.clone()).or_default().push((name(&offer.terms.supplier), reason.clone()));
        }
    }
    texts.status(
        &loaded.tender,
        campaign.is_running(),
        &coverage,
        &name,
        &campaign.uncovered,
        &clauses,
        &refusals,
        suggestions,
    )
}

/// The clause hours a line's accepted and pending offers bring: Σ quantity × the structure's insertion rate
/// (its own, else its kind's default).
pub fn clause_hours(settings: &EngineSettings, loaded: &Loaded, campaign: &Campaign, line: &str) -> f64 {
    let rate = |siret: &str| {
        loaded.suppliers.iter().find(|s| s.siret.as_str() == siret).map_or(0.0, |s| {
            s.insertion_rate.or_else(|| settings.proposal.impact.insertion_rate.get(&s.kind).copied()).unwrap_or(0.0)
        })
    };
    let hours: f64 = campaign
        .offers
        .values()
        .filter(|o| o.terms.line == line)
        .map(|o| o.held_quantity() * rate(&o.terms.supplier))
        .sum();
    essaim_core::round_quantity(hours)
}

/// Why a campaign cannot be launched (or re-opened), in the facilitator's words.
pub enum LaunchRefusal {
    AlreadyRunning,
    DeadlinePassed(DateTime<Utc>),
    ReferenceTooLong,
    UnknownGroupement,
    /// A ready campaign has nothing uncovered: there is nothing to re-open it for.
    NothingUncovered,
    /// A ready campaign has uncovered quantity, but nobody can take any of it now: the lines and why.
    NothingToOffer(String),
}

/// The end of a campaign: its own deadline, capped by the tender's. `Err` when the tender's deadline has
/// passed.
fn campaign_deadline(
    settings: &EngineSettings,
    loaded: &Loaded,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, LaunchRefusal> {
    let deadline = now + settings.campaign_duration;
    match loaded.tender.deadline.map(|d| d.with_timezone(&Utc)) {
        Some(tender_deadline) if tender_deadline <= now => Err(LaunchRefusal::DeadlinePassed(tender_deadline)),
        Some(tender_deadline) => Ok(deadline.min(tender_deadline)),
        None => Ok(deadline),
    }
}

/// The notes about what is uncovered after a round, each with who outside the groupement could take it.
async fn uncovered_notes(store: &Store, loaded: &Loaded, campaign: &Campaign) -> Result<Vec<Note>, EngineError> {
    let mut notes = Vec::new();
    for u in &campaign.uncovered {
        let found = match loaded.line(&u.line) {
            Some(line) => suggestions(store, loaded, line).await?,
            None => Vec::new(),
        };
        notes.push(Note::Uncovered(u.clone(), found));
    }
    Ok(notes)
}

/// Launches the campaign of a loaded tender: first round of offers, summary for the facilitator. A ready
/// campaign with uncovered quantity is re-opened instead (a new round for what is uncovered).
/// Returns the changeset and the summary text (already queued to the facilitator when they have a chat).
pub async fn launch(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Result<(Changeset, String), LaunchRefusal>, EngineError> {
    match &loaded.campaign {
        Some(c) if c.is_running() => return Ok(Err(LaunchRefusal::AlreadyRunning)),
        Some(c) => return reopen(store, settings, loaded, c.clone(), by, now).await,
        None => {}
    }
    let longest = OfferButton { action: OfferAction::Part, offer: 99_999, tender: loaded.tender.reference.clone() };
    if longest.data().len() > MAX_BUTTON_DATA {
        return Ok(Err(LaunchRefusal::ReferenceTooLong));
    }
    if loaded.tender.groupement.is_some() && loaded.suppliers.is_empty() {
        return Ok(Err(LaunchRefusal::UnknownGroupement));
    }
    let deadline = match campaign_deadline(settings, loaded, now) {
        Ok(deadline) => deadline,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let launched = Campaign::launch(by, now, deadline);
    let campaign = Campaign::replay(loaded.tender.reference.clone(), [&launched])
        .map_err(|e| EngineError::Corrupt(e.to_string()))?
        .ok_or_else(|| EngineError::Corrupt("launch did not start a campaign".into()))?;
    let mut progress = Progress::new(store, settings, loaded, campaign, now);
    progress.events.push(launched);
    let offers = progress.allocate_round().await?;
    let mut suppliers: Vec<&str> = progress.campaign.offers.values().map(|o| o.terms.supplier.as_str()).collect();
    suppliers.sort_unstable();
    suppliers.dedup();
    let mut unlinked = Vec::new();
    for s in &suppliers {
        if supplier_recipients(store, s, settings).await?.is_empty() {
            unlinked.push(loaded.supplier_name(s));
        }
    }
    let unknown_capacity = unknown_capacity_names(store, loaded).await?;
    let mut summary = vec![Note::Launched { offers, suppliers: suppliers.len(), unlinked, unknown_capacity }];
    summary.extend(uncovered_notes(store, loaded, &progress.campaign).await?);
    // Nothing to offer at all (no supplier in reach): the campaign is already settled.
    progress.follow_up().await?;
    progress.facilitator_notes.splice(0..0, summary);
    let summary = progress.notes_text(&Texts::new(settings.default_lang, settings.time_zone));
    Ok(Ok((progress.into_changes().await?, summary)))
}

/// Re-opens a ready campaign for what is uncovered: a new round, with the accepted lots kept. Refused when
/// nothing is uncovered, or when nobody can take any of it now (nothing is recorded then, and the
/// facilitator is told why and who outside the groupement could).
async fn reopen(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    campaign: Campaign,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Result<(Changeset, String), LaunchRefusal>, EngineError> {
    let lines: Vec<(String, f64)> = loaded.tender.lines.iter().map(|l| (l.id.clone(), l.quantity)).collect();
    if campaign.coverage(&lines).iter().all(|c| c.uncovered <= essaim_core::QUANTITY_EPSILON) {
        return Ok(Err(LaunchRefusal::NothingUncovered));
    }
    let deadline = match campaign_deadline(settings, loaded, now) {
        Ok(deadline) => deadline,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let Some(event) = campaign.reopen(by, now, deadline) else { return Ok(Err(LaunchRefusal::AlreadyRunning)) };
    let mut progress = Progress::new(store, settings, loaded, campaign, now);
    progress.record(event)?;
    let offers = progress.allocate_round().await?;
    let notes = uncovered_notes(store, loaded, &progress.campaign).await?;
    if offers == 0 {
        let texts = Texts::new(settings.default_lang, settings.time_zone);
        let why = notes.iter().map(|n| progress.render(n, &texts)).collect::<Vec<_>>().join("\n");
        return Ok(Err(LaunchRefusal::NothingToOffer(why)));
    }
    progress.facilitator_notes.push(Note::Reopened);
    progress.facilitator_notes.push(Note::Reallocated(offers));
    progress.facilitator_notes.extend(notes);
    progress.follow_up().await?;
    let summary = progress.notes_text(&Texts::new(settings.default_lang, settings.time_zone));
    Ok(Ok((progress.into_changes().await?, summary)))
}

/// Why a structure cannot be added to a tender's campaign.
pub enum AddRefusal {
    NoCampaign,
    UnknownSupplier,
    AlreadyMember(String),
    /// It has no capacity in any sector of the tender, or its kind may take none of the lines.
    CannotTakeAnyLine(String),
}

/// `/inviter SIRET REF`: a structure of the directory joins the tender's groupement for this tender only
/// (a `supplier_added` event). A running campaign offers it what is uncovered at once; a ready one waits
/// for `/repartir`. Returns the changes and the note, for the facilitator who asked.
pub async fn add_supplier(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    siret: &Siret,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Result<(Changeset, String), AddRefusal>, EngineError> {
    let Some(campaign) = loaded.campaign.clone() else { return Ok(Err(AddRefusal::NoCampaign)) };
    let Some(supplier) = store.supplier(siret).await? else { return Ok(Err(AddRefusal::UnknownSupplier)) };
    if loaded.suppliers.iter().any(|s| s.siret == supplier.siret) {
        return Ok(Err(AddRefusal::AlreadyMember(supplier.name)));
    }
    if !can_take_a_line(&loaded.tender, &supplier) {
        return Ok(Err(AddRefusal::CannotTakeAnyLine(supplier.name)));
    }
    let mut joined = loaded.clone();
    joined.suppliers.push(supplier.clone());
    let running = campaign.is_running();
    let mut progress = Progress::new(store, settings, &joined, campaign, now);
    let before = progress.campaign.next_offer_id();
    progress.record(CampaignEvent::SupplierAdded { at: now, by, supplier: siret.to_string() })?;
    progress.follow_up().await?;
    let offers = progress.campaign.offers.range(before..).filter(|(_, o)| o.terms.supplier == siret.as_str()).count();
    let linked = !supplier_recipients(store, siret.as_str(), settings).await?.is_empty();
    let note = Note::SupplierAdded { name: supplier.name.clone(), linked, offers, running };
    let text = progress.render(&note, &Texts::new(settings.default_lang, settings.time_zone));
    progress.facilitator_notes.insert(0, note);
    Ok(Ok((progress.into_changes().await?, text)))
}

/// The structures a tender may count on whose capacity is unknown (imported without one, never said since), by
/// name: the members of its groupement, or, without one, the structures of the directory a line admits and
/// whose reach takes in its site. Whom the facilitator should call before (or during) the campaign.
pub async fn unknown_capacity_names(store: &Store, loaded: &Loaded) -> Result<Vec<String>, EngineError> {
    let unknown = store.unknown_capacities().await?;
    let tender = &loaded.tender;
    let counts = |siret: &Siret| {
        loaded.suppliers.iter().find(|s| &s.siret == siret).is_some_and(|s| {
            tender.groupement.is_some() || tender.lines.iter().any(|l| l.admits(s.kind) && s.reaches(&l.site))
        })
    };
    Ok(unknown.into_iter().filter(|u| counts(&u.siret)).map(|u| u.name).collect())
}

/// Whether a structure has capacity in the sector of a line that admits its kind.
fn can_take_a_line(tender: &essaim_core::Tender, supplier: &essaim_core::Supplier) -> bool {
    tender.lines.iter().any(|l| supplier.capacity(&l.sector) > 0.0 && l.admits(supplier.kind))
}

/// Why a mandataire cannot be designated.
pub enum LeadRefusal {
    NoCampaign,
    UnknownSupplier,
    /// The tender's groupement names its lead in the directory (its name).
    FromGroupement(String),
    /// The structure does not answer this tender (its name).
    NotAMember(String),
}

/// `/mandataire REF SIRET`: the facilitator designates the mandataire of an ad hoc grouping (a
/// `lead_designated` event); the proposal names it (R2142-24). A groupement of the directory keeps its own.
pub async fn designate_lead(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    siret: &Siret,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Result<(Changeset, String), LeadRefusal>, EngineError> {
    if let Some(code) = &loaded.tender.groupement
        && let Some(g) = store.groupement(code).await?
    {
        return Ok(Err(LeadRefusal::FromGroupement(loaded.supplier_name(g.lead.as_str()))));
    }
    let Some(campaign) = loaded.campaign.clone() else { return Ok(Err(LeadRefusal::NoCampaign)) };
    let Some(supplier) = store.supplier(siret).await? else { return Ok(Err(LeadRefusal::UnknownSupplier)) };
    // The mandataire is a member of the grouping (R2142-24): a structure that was offered a lot of this
    // tender, or could be. Without a groupement every structure of the directory is a candidate, not a member.
    let offered = campaign.offers.values().any(|o| o.terms.supplier == siret.as_str());
    let candidate = loaded.suppliers.iter().any(|s| s.siret == supplier.siret);
    let member = offered || (candidate && can_take_a_line(&loaded.tender, &supplier));
    if !member {
        return Ok(Err(LeadRefusal::NotAMember(supplier.name)));
    }
    let mut progress = Progress::new(store, settings, loaded, campaign, now);
    progress.record(CampaignEvent::LeadDesignated { at: now, by, supplier: siret.to_string() })?;
    let text = Texts::new(settings.default_lang, settings.time_zone)
        .lead_designated(&supplier.name, loaded.tender.reference.as_str());
    Ok(Ok((progress.into_changes().await?, text)))
}

/// What became of an answer.
pub enum AnswerOutcome {
    /// Recorded: the text that replaces the offer message, and the changes.
    Recorded {
        outcome: String,
        changes: Box<Changeset>,
    },
    Refused(CampaignError),
}

/// Records a supplier's answer and what follows from it (reallocation, closing).
#[allow(clippy::too_many_arguments)]
pub async fn answer(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    offer: OfferId,
    supplier: &str,
    answer: Answer,
    by: Actor,
    texts: &Texts,
    now: DateTime<Utc>,
) -> Result<AnswerOutcome, EngineError> {
    let Some(campaign) = loaded.campaign.clone() else {
        return Ok(AnswerOutcome::Refused(CampaignError::OfferNotOpen { offer }));
    };
    let event = match campaign.answer(offer, supplier, answer, by, now) {
        Ok(event) => event,
        Err(refusal) => return Ok(AnswerOutcome::Refused(refusal)),
    };
    let Some(o) = campaign.offers.get(&offer).cloned() else {
        return Ok(AnswerOutcome::Refused(CampaignError::OfferNotOpen { offer }));
    };
    let unit = loaded.line(&o.terms.line).map_or("h", |l| l.unit.as_str()).to_owned();
    let mut progress = Progress::new(store, settings, loaded, campaign, now);
    let name = loaded.supplier_name(supplier);
    let outcome = match &event {
        CampaignEvent::Answered { answer: Answer::Accept, .. } => texts.accepted(o.terms.quantity, &unit),
        CampaignEvent::Answered { answer: Answer::AcceptPart { quantity }, .. } => {
            progress.facilitator_notes.push(Note::AcceptedPart { supplier: name.clone(), offer, quantity: *quantity });
            texts.accepted_part(*quantity, o.terms.quantity, &unit)
        }
        _ => {
            progress.facilitator_notes.push(Note::Declined { supplier: name.clone(), offer });
            texts.declined()
        }
    };
    progress.record(event)?;
    progress.follow_up().await?;
    Ok(AnswerOutcome::Recorded { outcome, changes: Box::new(progress.into_changes().await?) })
}

/// Closes a running campaign now (`/clore`, `essaim campaign close`): open offers are withdrawn and what
/// follows a ready campaign follows. `None` when it is not running.
pub async fn close(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    now: DateTime<Utc>,
) -> Result<Option<(Changeset, String)>, EngineError> {
    let Some(campaign) = loaded.campaign.clone() else { return Ok(None) };
    let Some(ready) = campaign.close(now) else { return Ok(None) };
    let mut progress = Progress::new(store, settings, loaded, campaign, now);
    progress.settle(ready).await?;
    let summary = progress.notes_text(&Texts::new(settings.default_lang, settings.time_zone));
    progress.facilitator_notes.clear();
    Ok(Some((progress.into_changes().await?, summary)))
}

/// A structure's question about one of its offers: recorded and relayed to the facilitator who launched
/// the campaign, with how to answer.
#[allow(clippy::too_many_arguments)]
pub async fn ask_question(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    offer: OfferId,
    supplier: &str,
    text: &str,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Result<Changeset, CampaignError>, EngineError> {
    let event = |c: &Campaign| c.ask_question(offer, supplier, text, by, now);
    tell_facilitator(store, settings, loaded, offer, now, event, "question", |texts, o, line, to| {
        let name = loaded.supplier_name(supplier);
        let relay = texts.question_asked(&name, o, line, text, loaded.tender.reference.as_str());
        Outgoing::text(to.platform, to.chat_id.clone(), relay)
    })
    .await
}

/// Records what a structure says about one of its offers (`event`) and queues `message` to the facilitator
/// who launched the campaign. A refusal of the event records nothing.
#[allow(clippy::too_many_arguments)]
async fn tell_facilitator(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    offer: OfferId,
    now: DateTime<Utc>,
    event: impl FnOnce(&Campaign) -> Result<CampaignEvent, CampaignError>,
    what: &str,
    message: impl FnOnce(&Texts, &Offer, &TenderLine, &Recipient) -> Outgoing,
) -> Result<Result<Changeset, CampaignError>, EngineError> {
    let Some(campaign) = loaded.campaign.clone() else { return Ok(Err(CampaignError::OfferNotOpen { offer })) };
    let event = match event(&campaign) {
        Ok(event) => event,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let launched_by = campaign.launched_by.clone();
    let mut progress = Progress::new(store, settings, loaded, campaign, now);
    progress.record(event)?;
    if let Some(to) = facilitator_recipient(store, &launched_by, settings.default_lang).await?
        && let Some(o) = progress.campaign.offers.get(&offer)
        && let Some(line) = loaded.line(&o.terms.line)
    {
        let outgoing = message(&Texts::new(to.lang, settings.time_zone), o, line, &to);
        let key = progress.key(what);
        progress.messages.push(key, outgoing);
    }
    Ok(Ok(progress.into_changes().await?))
}

/// A facilitator's answer to a structure's question: recorded and relayed to the structure. `None` when
/// the campaign made no such offer.
pub async fn answer_question(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    offer: OfferId,
    text: &str,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Option<(Changeset, String)>, EngineError> {
    let Some(campaign) = loaded.campaign.clone() else { return Ok(None) };
    let Some(event) = campaign.answer_question(offer, text, by, now) else { return Ok(None) };
    let Some(supplier) = campaign.offers.get(&offer).map(|o| o.terms.supplier.clone()) else { return Ok(None) };
    let mut progress = Progress::new(store, settings, loaded, campaign, now);
    progress.record(event)?;
    for to in supplier_recipients(store, &supplier, settings).await? {
        let texts = Texts::new(to.lang, settings.time_zone);
        let key = format!("{}:{}", progress.key("question-answered"), to.user_id);
        let message = texts.question_answered(offer, loaded.tender.reference.as_str(), text);
        progress.messages.push(key, Outgoing::text(to.platform, to.chat_id.clone(), message));
    }
    Ok(Some((progress.into_changes().await?, loaded.supplier_name(&supplier))))
}

/// A structure asks to give back an accepted lot: recorded, and the facilitator who launched the campaign
/// is asked to confirm (buttons).
#[allow(clippy::too_many_arguments)]
pub async fn ask_withdrawal(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    offer: OfferId,
    supplier: &str,
    reason: &str,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Result<Changeset, CampaignError>, EngineError> {
    let event = |c: &Campaign| c.ask_withdrawal(offer, supplier, reason, by, now);
    tell_facilitator(store, settings, loaded, offer, now, event, "withdrawal", |texts, o, line, to| {
        let button = |confirm: bool, label: String| crate::message::Button {
            label,
            data: crate::command::WithdrawalButton { confirm, offer, tender: loaded.tender.reference.clone() }.data(),
            asks_quantity: false,
        };
        let text = texts.withdrawal_asked(&loaded.supplier_name(supplier), o, line, reason);
        Outgoing::text(to.platform, to.chat_id.clone(), text).with_buttons(vec![vec![
            button(true, texts.button_confirm_withdrawal()),
            button(false, texts.button_refuse_withdrawal()),
        ]])
    })
    .await
}

/// The facilitator's decision on a withdrawal: recorded; confirmed, what the lot held is reallocated;
/// the structure is told. `None` when no withdrawal of that offer is pending (a second press).
pub async fn settle_withdrawal(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    offer: OfferId,
    confirmed: bool,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Option<(Changeset, String)>, EngineError> {
    let Some(campaign) = loaded.campaign.clone() else { return Ok(None) };
    let Some(event) = campaign.settle_withdrawal(offer, confirmed, by, now) else { return Ok(None) };
    let mut progress = Progress::new(store, settings, loaded, campaign, now);
    progress.record(event)?;
    let texts = Texts::new(settings.default_lang, settings.time_zone);
    let Some(o) = progress.campaign.offers.get(&offer).cloned() else { return Ok(None) };
    for to in supplier_recipients(store, &o.terms.supplier, settings).await? {
        let texts = Texts::new(to.lang, settings.time_zone);
        let key = format!("{}:{}", progress.key("withdrawal-settled"), to.user_id);
        progress.messages.push(
            key,
            Outgoing::text(to.platform, to.chat_id.clone(), texts.withdrawal_settled(o.terms.id, confirmed)),
        );
    }
    if confirmed {
        progress.follow_up().await?;
    }
    let mut summary = texts.withdrawal_decided(&loaded.supplier_name(&o.terms.supplier), o.terms.id, confirmed);
    let notes = progress.notes_text(&texts);
    if !notes.is_empty() {
        summary.push('\n');
        summary.push_str(&notes);
    }
    progress.facilitator_notes.clear();
    Ok(Some((progress.into_changes().await?, summary)))
}

/// Records why a structure declined one of its offers, and tells the facilitator. The refusal itself was
/// recorded (and what it freed reallocated) when it was pressed.
#[allow(clippy::too_many_arguments)]
pub async fn explain(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    offer: OfferId,
    supplier: &str,
    reason: &str,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Result<Changeset, CampaignError>, EngineError> {
    let Some(campaign) = loaded.campaign.clone() else { return Ok(Err(CampaignError::OfferNotOpen { offer })) };
    let event = match campaign.explain_decline(offer, supplier, reason, by, now) {
        Ok(event) => event,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let mut progress = Progress::new(store, settings, loaded, campaign, now);
    progress.record(event)?;
    progress.facilitator_notes.push(Note::Explained { supplier: loaded.supplier_name(supplier), offer });
    Ok(Ok(progress.into_changes().await?))
}

/// Reminds the suppliers of every open offer made before `made_before`. Returns the changes and
/// (offers, suppliers) reminded.
pub async fn remind(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    now: DateTime<Utc>,
    made_before: DateTime<Utc>,
) -> Result<(Changeset, usize, usize), EngineError> {
    let Some(campaign) = loaded.campaign.clone() else { return Ok((Changeset::default(), 0, 0)) };
    let Some(event) = campaign.remind(now, made_before) else { return Ok((Changeset::default(), 0, 0)) };
    let CampaignEvent::Reminded { offers, .. } = &event else { unreachable!("remind makes Reminded") };
    let offers = offers.clone();
    let mut progress = Progress::new(store, settings, loaded, campaign, now);
    progress.record(event)?;
    let mut suppliers: Vec<String> = Vec::new();
    for id in &offers {
        progress.send_offer(*id, true).await?;
        if let Some(o) = progress.campaign.offers.get(id) {
            suppliers.push(o.terms.supplier.clone());
        }
    }
    suppliers.sort_unstable();
    suppliers.dedup();
    Ok((progress.into_changes().await?, offers.len(), suppliers.len()))
}

/// The scheduler's pass over one campaign: expiries, reallocation, deadline. Empty when nothing is due.
pub async fn tick(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    now: DateTime<Utc>,
) -> Result<Changeset, EngineError> {
    let Some(campaign) = loaded.campaign.clone() else { return Ok(Changeset::default()) };
    if !campaign.is_running() {
        return Ok(Changeset::default());
    }
    let mut progress = Progress::new(store, settings, loaded, campaign, now);
    progress.follow_up().await?;
    progress.into_changes().await
}
