//! The campaign workflow around the store: load a campaign, decide with the domain and the solver, and
//! turn the decision into one [`Changeset`] (events, messages to send, inbox row) that the store
//! applies atomically. Used by the chat engine (commands, buttons), the scheduler (expiries, deadline,
//! reminders) and the demo.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use essaim_core::{
    Actor, Answer, Campaign, CampaignError, CampaignEvent, Offer, OfferId, ReadyCause, Supplier, Tender, TenderLine,
    TenderRef, Uncovered,
};
use essaim_solver::{AllocationInput, ExcludedPair, FixedLot};
use essaim_store::{CampaignAppend, Changeset, NewEvent, NewOutgoing, Store};

use crate::EngineError;
use crate::command::{MAX_BUTTON_DATA, OfferAction, OfferButton};
use crate::message::{Button, Outgoing, Platform};
use crate::settings::EngineSettings;
use crate::texts::{Lang, Texts, lang_of};

/// A campaign as loaded for one decision: the tender, who may answer it, the state and the version the
/// decision is based on (the store refuses it if another decision landed meanwhile).
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
    let suppliers = store.eligible_suppliers(&tender).await?.unwrap_or_default();
    let (version, campaign) = store.campaign(reference).await?;
    Ok(Some(Loaded { tender, suppliers, version, campaign }))
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

/// The accounts linked to a supplier.
pub async fn supplier_recipients(store: &Store, siret: &str, default: Lang) -> Result<Vec<Recipient>, EngineError> {
    let Ok(siret) = essaim_core::Siret::parse(siret) else { return Ok(Vec::new()) };
    Ok(store
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
        .collect())
}

/// Where to tell the facilitator who launched the campaign, when they launched it from a chat.
pub async fn facilitator_recipient(store: &Store, by: &Actor, default: Lang) -> Result<Option<Recipient>, EngineError> {
    let Ok(platform) = by.channel.parse::<Platform>() else { return Ok(None) };
    let Some(chat_id) = by.chat_id.clone() else { return Ok(None) };
    let account = store.account(platform.as_str(), &by.user_id).await?;
    let lang = lang_of(account.as_ref().and_then(|a| a.language.as_deref()), None, default);
    Ok(Some(Recipient { platform, user_id: by.user_id.clone(), chat_id, lang }))
}

/// The offer message with its three buttons.
pub fn offer_message(
    texts: &Texts,
    to: &Recipient,
    loaded: &Loaded,
    offer: &Offer,
    reminder: bool,
) -> Option<Outgoing> {
    let line = loaded.line(&offer.terms.line)?;
    let text = texts.offer(&loaded.tender, line, offer, reminder);
    let button = |action, label: String, asks_quantity| {
        let data = OfferButton { action, offer: offer.terms.id, tender: loaded.tender.reference.clone() }.data();
        Button { label, data, asks_quantity }
    };
    Some(Outgoing::text(to.platform, to.chat_id.clone(), text).with_buttons(vec![
        vec![
            button(OfferAction::Accept, texts.button_accept(), false),
            button(OfferAction::Decline, texts.button_decline(), false),
        ],
        vec![button(OfferAction::Part, texts.button_part(), true)],
    ]))
}

/// Something to tell the facilitator, rendered in their language when the message is written.
#[derive(Debug, Clone)]
pub enum Note {
    Launched { offers: usize, suppliers: usize, unlinked: Vec<String> },
    Uncovered(Uncovered),
    Declined { supplier: String, offer: OfferId },
    AcceptedPart { supplier: String, offer: OfferId, quantity: f64 },
    Expired(usize),
    Reallocated(usize),
    Ready { deadline_passed: bool },
    Status,
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

    /// Runs the solver over what is open and makes the new round's offers; sends them.
    pub async fn allocate_round(&mut self) -> Result<usize, EngineError> {
        let loaded = self.loaded;
        let basis = self.campaign.reallocation_basis();
        let mut input = AllocationInput::for_tender(&loaded.tender, &loaded.suppliers, self.settings.weights);
        let known: BTreeMap<String, usize> =
            input.suppliers.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
        for ((line, supplier), quantity) in &basis.fixed {
            let (Some(&i), Some(l)) = (known.get(supplier.as_str()), loaded.line(line)) else {
                // A supplier that left the groupement keeps its commitment on record, but the solver
                // no longer sees it: that quantity shows as open again.
                tracing::warn!(%supplier, %line, "held lot of a supplier no longer eligible");
                continue;
            };
            // A commitment stands even if the supplier lowered its capacity since.
            let capacity = input.suppliers[i].capacity.entry(l.sector.to_string()).or_insert(0.0);
            let held_in_sector: f64 = basis
                .fixed
                .iter()
                .filter(|((ln, s), _)| s == supplier && loaded.line(ln).is_some_and(|x| x.sector == l.sector))
                .map(|(_, q)| q)
                .sum();
            *capacity = capacity.max(held_in_sector);
            input.fixed.push(FixedLot { line: line.clone(), supplier: supplier.clone(), quantity: *quantity });
        }
        input.excluded = basis
            .excluded
            .iter()
            .filter(|(line, supplier)| known.contains_key(supplier.as_str()) && loaded.line(line).is_some())
            .map(|(line, supplier)| ExcludedPair { line: line.clone(), supplier: supplier.clone() })
            .collect();
        let solve = self.settings.solve;
        let result = tokio::task::spawn_blocking(move || essaim_solver::allocate(&input, &solve))
            .await
            .map_err(|e| EngineError::Solver(format!("the solver task stopped: {e}")))?
            .map_err(|e| EngineError::Solver(e.to_string()))?;
        let lots: Vec<(String, String, f64, f64)> =
            result.lots.iter().map(|l| (l.line.clone(), l.supplier.clone(), l.quantity, l.distance_km)).collect();
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
        let recipients = supplier_recipients(self.store, &offer.terms.supplier, self.settings.default_lang).await?;
        for to in &recipients {
            let texts = Texts::new(to.lang, self.settings.time_zone);
            if let Some(message) = offer_message(&texts, to, self.loaded, &offer, reminder) {
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
            let deadline_passed = matches!(ready, CampaignEvent::Ready { cause: ReadyCause::DeadlinePassed, .. });
            self.record(ready)?;
            self.facilitator_notes.push(Note::Ready { deadline_passed });
            self.facilitator_notes.push(Note::Status);
            // The buyer receives the proposal in the same transaction as the event that made it final.
            let to = facilitator_recipient(self.store, &self.campaign.launched_by, self.settings.default_lang).await?;
            let key = self.key("proposal");
            let delivery =
                proposal_messages(self.store, self.settings, self.loaded, &self.campaign, to.as_ref(), &key, self.now)
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
            Note::Launched { offers, suppliers, unlinked } => texts.launched(reference, *offers, *suppliers, unlinked),
            Note::Uncovered(u) => loaded.line(&u.line).map_or_else(String::new, |line| {
                texts.uncovered_line(line, u.quantity, &texts.reason(u, &|s: &str| loaded.supplier_name(s)))
            }),
            Note::Declined { supplier, offer } => {
                offer_and_line(offer).map_or_else(String::new, |(o, line)| texts.supplier_declined(supplier, o, line))
            }
            Note::AcceptedPart { supplier, offer, quantity } => offer_and_line(offer)
                .map_or_else(String::new, |(o, line)| texts.supplier_accepted_part(supplier, o, *quantity, line)),
            Note::Expired(n) => texts.offers_expired(*n),
            Note::Reallocated(n) => texts.reallocated(*n),
            Note::Ready { deadline_passed } => texts.ready(reference, *deadline_passed),
            Note::Status => self.status_text(texts),
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

    pub fn status_text(&self, texts: &Texts) -> String {
        status_text(texts, self.loaded, &self.campaign)
    }

    /// The changeset: events on the campaign at the loaded version, the facilitator's notes, the messages.
    pub async fn into_changes(mut self) -> Result<Changeset, EngineError> {
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

/// The proposal's messages: to every account of the tender's buyer, a summary with the HTML page
/// attached (in the account's language); to the facilitator (`to`), a note with the link, or with the
/// page itself when no buyer account is linked. Keys start with `key`, so a retried decision queues
/// nothing twice.
pub async fn proposal_messages(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    campaign: &Campaign,
    to: Option<&Recipient>,
    key: &str,
    now: DateTime<Utc>,
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
        let proposal = essaim_core::Proposal::build(&essaim_core::ProposalInput {
            tender,
            groupement: groupement.as_ref(),
            suppliers: &loaded.suppliers,
            campaign,
            impact: &settings.proposal.impact,
            groupement_kind: settings.proposal.groupement_kind,
            generated_at: now,
            lang,
        })
        .map_err(|e| EngineError::Corrupt(format!("proposal of {}: {e}", tender.reference)))?;
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
    if let Some(to) = to {
        let texts = Texts::new(to.lang, settings.time_zone);
        let link =
            settings.proposal.public_url.as_ref().map(|u| format!("{u}/proposals/{}?format=html", tender.reference));
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
    }
}

/// The facilitator's view of a campaign.
pub fn status_text(texts: &Texts, loaded: &Loaded, campaign: &Campaign) -> String {
    let lines: Vec<(String, f64)> = loaded.tender.lines.iter().map(|l| (l.id.clone(), l.quantity)).collect();
    let coverage = campaign.coverage(&lines);
    let name = |siret: &str| loaded.supplier_name(siret);
    texts.status(&loaded.tender, campaign.is_running(), &coverage, &name, &campaign.uncovered)
}

/// Why a campaign cannot be launched, in the facilitator's words.
pub enum LaunchRefusal {
    AlreadyRunning,
    DeadlinePassed(DateTime<Utc>),
    ReferenceTooLong,
    UnknownGroupement,
}

/// Launches the campaign of a loaded tender: first round of offers, summary for the facilitator.
/// Returns the changeset and the summary text (already queued to the facilitator when they have a chat).
pub async fn launch(
    store: &Store,
    settings: &EngineSettings,
    loaded: &Loaded,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Result<(Changeset, String), LaunchRefusal>, EngineError> {
    if loaded.campaign.is_some() {
        return Ok(Err(LaunchRefusal::AlreadyRunning));
    }
    let longest = OfferButton { action: OfferAction::Part, offer: 99_999, tender: loaded.tender.reference.clone() };
    if longest.data().len() > MAX_BUTTON_DATA {
        return Ok(Err(LaunchRefusal::ReferenceTooLong));
    }
    if loaded.tender.groupement.is_some() && loaded.suppliers.is_empty() {
        return Ok(Err(LaunchRefusal::UnknownGroupement));
    }
    let mut deadline = now + settings.campaign_duration;
    if let Some(tender_deadline) = loaded.tender.deadline {
        let tender_deadline = tender_deadline.with_timezone(&Utc);
        if tender_deadline <= now {
            return Ok(Err(LaunchRefusal::DeadlinePassed(tender_deadline)));
        }
        deadline = deadline.min(tender_deadline);
    }
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
        if supplier_recipients(store, s, settings.default_lang).await?.is_empty() {
            unlinked.push(loaded.supplier_name(s));
        }
    }
    let mut summary = vec![Note::Launched { offers, suppliers: suppliers.len(), unlinked }];
    summary.extend(progress.campaign.uncovered.iter().cloned().map(Note::Uncovered));
    // Nothing to offer at all (no supplier in reach): the campaign is already settled.
    progress.follow_up().await?;
    progress.facilitator_notes.splice(0..0, summary);
    let summary = progress.notes_text(&Texts::new(settings.default_lang, settings.time_zone));
    Ok(Ok((progress.into_changes().await?, summary)))
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
