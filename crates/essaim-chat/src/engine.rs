//! The conversation engine: one incoming update in, one atomic changeset out.
//!
//! For every update the engine (1) drops it if its id is already in the inbox, (2) finds who is
//! speaking and what they may do, (3) decides with the domain and the solver, (4) writes the inbox row,
//! the campaign events, the account changes and every message to send in ONE transaction. Only then
//! does the adapter acknowledge the update to the platform. A decision made on a state that changed
//! meanwhile is refused by the store (version check) and made again on the fresh state.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use essaim_core::{Actor, Answer, CampaignError, Lang, OfferState, Scope, Sector, Siret, TenderRef};
use essaim_store::{AccountLink, Applied, CapacityChange, Changeset, ChatAccount, Forget, InboxKey, Store};
use tokio::sync::Notify;

use crate::EngineError;
use crate::campaigns::{self, AddRefusal, AnswerOutcome, LaunchRefusal, LeadRefusal, Loaded, Messages};
use crate::command::{
    BidButton, Command, DeclineReason, ForgetButton, MAX_REASON_CHARS, OfferAction, OfferButton, WithdrawalButton,
    parse_quantity,
};
use crate::message::{ChatKind, Incoming, IncomingKind, Outgoing, Platform};
use crate::settings::EngineSettings;
use crate::texts::{Role, Texts, lang_of};

/// How many times a decision is made again when the state changed under it.
const MAX_ATTEMPTS: usize = 8;

/// What the adapter needs once the update is handled.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Handled {
    /// The same update was handled before: nothing changed.
    pub duplicate: bool,
    /// A short notice for the presser of a button (Telegram's callback answer, a Discord ephemeral); in
    /// a shared chat, what is answered to the user when they have no private chat to send it to.
    pub notice: Option<String>,
    /// [`IncomingKind::OpenForm`]: the form may open.
    pub form: bool,
}

/// The conversation engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    settings: Arc<EngineSettings>,
    outbox_ready: Arc<Notify>,
    clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
}

/// One decision: what to change, and what to tell the presser.
struct Decision {
    changes: Changeset,
    notice: Option<String>,
}

impl Decision {
    fn reply(incoming: &Incoming, texts: impl IntoIterator<Item = String>) -> Self {
        let mut messages = Messages::default();
        for (i, text) in texts.into_iter().enumerate() {
            let key = format!("reply:{}:{}:{i}", incoming.platform, incoming.update_id);
            messages.push(key, Outgoing::text(incoming.platform, incoming.chat_id.clone(), text));
        }
        Decision { changes: Changeset { outbox: messages.items, ..Changeset::default() }, notice: None }
    }

    fn notice(notice: String) -> Self {
        Decision { changes: Changeset::default(), notice: Some(notice) }
    }
}

/// How long the codes of a groupement's invitations by mail stay valid.
pub const INVITATION_DAYS: i64 = 14;

impl Engine {
    pub fn new(store: Store, settings: EngineSettings, outbox_ready: Arc<Notify>) -> Self {
        Self { store, settings: Arc::new(settings), outbox_ready, clock: Arc::new(Utc::now) }
    }

    /// Replaces the clock (tests and the demo play a campaign over simulated days).
    pub fn with_clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Wakes the dispatcher once new messages are committed.
    pub fn outbox_ready(&self) -> Arc<Notify> {
        self.outbox_ready.clone()
    }

    /// Handles one update. An error means nothing was recorded: the adapter must not acknowledge the
    /// update, so that the platform delivers it again.
    #[tracing::instrument(skip(self, incoming), fields(platform = %incoming.platform, update = %incoming.update_id))]
    pub async fn handle(&self, incoming: &Incoming) -> Result<Handled, EngineError> {
        if let IncomingKind::OpenForm { data } = &incoming.kind {
            return self.may_open_form(incoming, data).await;
        }
        let key = InboxKey { platform: incoming.platform.as_str().to_owned(), update_id: incoming.update_id.clone() };
        for _ in 0..MAX_ATTEMPTS {
            if self.store.is_duplicate(&key).await? {
                return Ok(Handled { duplicate: true, ..Handled::default() });
            }
            let mut decision = self.decide(incoming).await?;
            if let ChatKind::Shared { private_notice } = incoming.chat {
                self.keep_private(incoming, private_notice, &mut decision).await?;
            }
            decision.changes.inbox = Some(key.clone());
            let queued = !decision.changes.outbox.is_empty();
            match self.store.apply(&decision.changes).await? {
                Applied::Done => {
                    if queued {
                        self.outbox_ready.notify_one();
                    }
                    return Ok(Handled { notice: decision.notice, ..Handled::default() });
                }
                Applied::Duplicate => return Ok(Handled { duplicate: true, ..Handled::default() }),
                Applied::Conflict => tracing::debug!("state changed while deciding; deciding again"),
            }
        }
        Err(EngineError::Busy)
    }

    /// In a shared chat (a server channel, a group) nothing personal is answered for everyone to read: the
    /// replies to the user go to the private chat their account is linked in, else into the notice when
    /// the front shows it to them alone (`private_notice`). Else they stay in the chat: they are for
    /// someone without a private chat with the bot (help, how to link), whom nothing else reaches. Edits
    /// of a pressed message stay where the message is.
    async fn keep_private(
        &self,
        incoming: &Incoming,
        private_notice: bool,
        decision: &mut Decision,
    ) -> Result<(), EngineError> {
        let to_here = |m: &essaim_store::NewOutgoing| {
            m.platform == incoming.platform.as_str()
                && m.chat_id == incoming.chat_id
                && m.payload.get("edit_message_id").is_none_or(serde_json::Value::is_null)
        };
        let (mut replies, others): (Vec<_>, Vec<_>) =
            std::mem::take(&mut decision.changes.outbox).into_iter().partition(to_here);
        decision.changes.outbox = others;
        if replies.is_empty() {
            return Ok(());
        }
        let account = self.store.account(incoming.platform.as_str(), &incoming.user_id).await?;
        let lang = lang_of(
            account.as_ref().and_then(|a| a.language.as_deref()),
            incoming.language.as_deref(),
            self.settings.default_lang,
        );
        let texts = Texts::new(lang, self.settings.time_zone);
        // An account linked in this very chat (before linking asked for a private one) is told to move.
        if account.as_ref().is_some_and(|a| a.chat_id == incoming.chat_id) {
            let hint = Outgoing::text(
                incoming.platform,
                incoming.chat_id.clone(),
                texts.linked_in_shared_chat(incoming.platform),
            );
            let mut messages = Messages::default();
            messages.push(format!("reply:{}:{}:shared", incoming.platform, incoming.update_id), hint);
            replies.extend(messages.items);
        }
        let private = account.filter(|a| a.chat_id != incoming.chat_id && !a.chat_id.is_empty());
        match private {
            Some(account) => {
                for reply in &mut replies {
                    reply.chat_id = account.chat_id.clone();
                    reply.payload["chat_id"] = serde_json::Value::String(account.chat_id.clone());
                }
                decision.changes.outbox.extend(replies);
                decision.notice.get_or_insert_with(|| texts.answered_privately());
            }
            None if !private_notice => {
                replies.append(&mut decision.changes.outbox);
                decision.changes.outbox = replies;
            }
            None => {
                let said = replies.iter().filter_map(|m| m.payload.get("text")?.as_str().map(str::to_owned));
                let said: Vec<String> = decision.notice.take().into_iter().chain(said).collect();
                decision.notice = Some(said.join("\n\n"));
            }
        }
        Ok(())
    }

    /// Whether the form of an « Accepter une partie » or « Poser une question » button may open: the same
    /// checks as the press that asks in the chat, so that a closed offer or someone else's is refused at
    /// once instead of after the form is filled in.
    async fn may_open_form(&self, incoming: &Incoming, data: &str) -> Result<Handled, EngineError> {
        let (account, texts) = self.speaker(incoming).await?;
        let refuse = |notice: String| Ok(Handled { notice: Some(notice), ..Handled::default() });
        let Some(account) = account else { return refuse(texts.not_linked()) };
        let Some(button) = OfferButton::parse(data) else { return refuse(texts.offer_not_open()) };
        let Some(loaded) = campaigns::load(&self.store, &button.tender).await? else {
            return refuse(texts.offer_not_open());
        };
        let Some(offer) = loaded.campaign.as_ref().and_then(|c| c.offers.get(&button.offer)) else {
            return refuse(texts.offer_not_open());
        };
        if account.supplier.as_ref().map(|s| s.as_str()) != Some(offer.terms.supplier.as_str()) {
            return refuse(texts.offer_not_yours());
        }
        let running = loaded.campaign.as_ref().is_some_and(|c| c.is_running());
        // A question may still be asked about an answered offer (as in the chat); a quantity may not.
        if button.action == OfferAction::Part && !(offer.is_open() && running) {
            return refuse(texts.offer_not_open());
        }
        Ok(Handled { form: true, ..Handled::default() })
    }

    /// A facilitator's action from a desk (command line, HTTP API): the same command through the same
    /// code as in a chat — same events, same messages to the structures — but the replies meant for the
    /// desk are returned instead of queued. `operator` names who acts, for the campaign log.
    pub async fn steer(
        &self,
        operator: &str,
        command: Command,
        reference: &str,
        lang: Lang,
    ) -> Result<Vec<String>, EngineError> {
        let incoming = Incoming {
            platform: Platform::Desk,
            // Every desk action is a new one: a script that runs `remind` twice reminds twice.
            update_id: format!("{:016x}{:016x}", rand::random::<u64>(), rand::random::<u64>()),
            user_id: operator.to_owned(),
            chat_id: operator.to_owned(),
            user_name: Some(operator.to_owned()),
            language: Some(match lang {
                Lang::Fr => "fr".to_owned(),
                Lang::En => "en".to_owned(),
            }),
            chat: ChatKind::Private,
            kind: IncomingKind::Command { name: command.english().to_owned(), args: vec![reference.to_owned()] },
        };
        let key = InboxKey { platform: incoming.platform.as_str().to_owned(), update_id: incoming.update_id.clone() };
        for _ in 0..MAX_ATTEMPTS {
            let mut decision = self.decide(&incoming).await?;
            let (desk, queued): (Vec<_>, Vec<_>) = std::mem::take(&mut decision.changes.outbox)
                .into_iter()
                .partition(|m| m.platform == Platform::Desk.as_str());
            decision.changes.outbox = queued;
            decision.changes.inbox = Some(key.clone());
            let notify = !decision.changes.outbox.is_empty();
            match self.store.apply(&decision.changes).await? {
                Applied::Done | Applied::Duplicate => {
                    if notify {
                        self.outbox_ready.notify_one();
                    }
                    let text = |m: &essaim_store::NewOutgoing| m.payload.get("text")?.as_str().map(str::to_owned);
                    return Ok(desk.iter().filter_map(text).chain(decision.notice).collect());
                }
                Applied::Conflict => tracing::debug!("state changed while deciding; deciding again"),
            }
        }
        Err(EngineError::Busy)
    }

    /// Applies a changeset made outside a chat update (scheduler, command line), retrying with `make`
    /// on conflicts. Returns whether something was applied.
    pub async fn apply_with_retry<F, Fut>(&self, mut make: F) -> Result<bool, EngineError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Changeset, EngineError>>,
    {
        for _ in 0..MAX_ATTEMPTS {
            let changes = make().await?;
            if changes.campaign.is_none() && changes.outbox.is_empty() && changes.events.is_empty() {
                return Ok(false);
            }
            let queued = !changes.outbox.is_empty();
            match self.store.apply(&changes).await? {
                Applied::Done => {
                    if queued {
                        self.outbox_ready.notify_one();
                    }
                    return Ok(true);
                }
                Applied::Duplicate => return Ok(false),
                Applied::Conflict => continue,
            }
        }
        Err(EngineError::Busy)
    }

    /// Who is speaking. An e-mail answer comes from a signed link whose signature the mail adapter has
    /// checked: it speaks for the structure the offer was made to (its SIRET is the user id), reached at
    /// its directory address; there is no account row to link.
    /// Who speaks (their linked account, if any) and the texts in their language: the account's, else
    /// their app's, else the default.
    async fn speaker(&self, incoming: &Incoming) -> Result<(Option<ChatAccount>, Texts), EngineError> {
        let account = self.account_of(incoming).await?;
        let lang = lang_of(
            account.as_ref().and_then(|a| a.language.as_deref()),
            incoming.language.as_deref(),
            self.settings.default_lang,
        );
        Ok((account, Texts::new(lang, self.settings.time_zone)))
    }

    async fn account_of(&self, incoming: &Incoming) -> Result<Option<ChatAccount>, EngineError> {
        if incoming.platform == Platform::Desk {
            // The desk's caller was authorised before: database access (command line) or a facilitator
            // token (HTTP API).
            return Ok(Some(ChatAccount {
                platform: Platform::Desk.as_str().to_owned(),
                user_id: incoming.user_id.clone(),
                chat_id: incoming.chat_id.clone(),
                role: Role::Facilitator,
                supplier: None,
                buyer: None,
                language: incoming.language.clone(),
                display_name: incoming.user_name.clone(),
                awaiting: None,
                linked_at: self.now(),
                // The command line has the database; the API checks a token's territory before steering.
                scope: Some(Scope::National),
            }));
        }
        if incoming.platform != Platform::Email {
            return Ok(self.store.account(incoming.platform.as_str(), &incoming.user_id).await?);
        }
        let Ok(siret) = Siret::parse(&incoming.user_id) else { return Ok(None) };
        let Some(supplier) = self.store.supplier(&siret).await? else { return Ok(None) };
        Ok(Some(ChatAccount {
            platform: Platform::Email.as_str().to_owned(),
            user_id: incoming.user_id.clone(),
            chat_id: supplier.contact.email.unwrap_or_else(|| incoming.chat_id.clone()),
            role: Role::Supplier,
            supplier: Some(siret),
            buyer: None,
            language: incoming.language.clone(),
            display_name: supplier.contact.name,
            awaiting: None,
            linked_at: self.now(),
            scope: None,
        }))
    }

    async fn decide(&self, incoming: &Incoming) -> Result<Decision, EngineError> {
        let (account, texts) = self.speaker(incoming).await?;
        let role = account.as_ref().map(|a| a.role);
        match &incoming.kind {
            IncomingKind::Command { name, args } => match Command::parse(name) {
                None => Ok(Decision::reply(incoming, [texts.unknown_command(name, role)])),
                Some(Command::Start) => self.start(incoming, args, &texts).await,
                Some(Command::Help) => Ok(Decision::reply(incoming, [texts.help(role)])),
                Some(command) => match &account {
                    None => Ok(Decision::reply(incoming, [texts.not_linked()])),
                    Some(account) => self.command(incoming, account, command, args, &texts).await,
                },
            },
            IncomingKind::Button { data, message_id } => {
                if let Some(choice) = ForgetButton::parse(data) {
                    return match &account {
                        Some(account) if choice.user_id == incoming.user_id => {
                            self.forget(incoming, account, choice.confirm, message_id.as_deref(), &texts).await
                        }
                        // Pressed after the erasure (the account is gone): nothing left to change.
                        None => Ok(Decision::notice(texts.not_linked())),
                        Some(_) => Ok(Decision::notice(texts.not_your_button())),
                    };
                }
                if let Some(choice) = WithdrawalButton::parse(data) {
                    return match (&account, role) {
                        (Some(account), Some(Role::Facilitator)) => {
                            self.settle_withdrawal(incoming, account, &choice, message_id.as_deref(), &texts).await
                        }
                        (None, _) => Ok(Decision::notice(texts.not_linked())),
                        _ => Ok(Decision::notice(texts.facilitators_only())),
                    };
                }
                if let Some(choice) = BidButton::parse(data) {
                    return match (&account, role) {
                        (Some(account), Some(Role::Facilitator)) => {
                            self.send_chosen(incoming, account, &choice, message_id.as_deref(), &texts).await
                        }
                        (None, _) => Ok(Decision::notice(texts.not_linked())),
                        _ => Ok(Decision::notice(texts.facilitators_only())),
                    };
                }
                let Some(button) = OfferButton::parse(data) else {
                    return Ok(Decision::notice(texts.offer_not_open()));
                };
                match (&account, role) {
                    (Some(account), Some(Role::Supplier)) => {
                        self.press(incoming, account, &button, message_id.as_deref(), &texts).await
                    }
                    (None, _) => Ok(Decision::notice(texts.not_linked())),
                    _ => Ok(Decision::notice(texts.suppliers_only())),
                }
            }
            IncomingKind::Form { data, value } => {
                let Some(button) = OfferButton::parse(data) else {
                    return Ok(Decision::notice(texts.offer_not_open()));
                };
                match (&account, role) {
                    (Some(account), Some(Role::Supplier)) if button.action == OfferAction::Ask => {
                        self.question(incoming, account, &button, value, &texts).await
                    }
                    (Some(account), Some(Role::Supplier)) if button.action == OfferAction::Decline => {
                        // A decline given with its reason (the e-mail page's form).
                        let reason = Some(value.trim()).filter(|r| !r.is_empty()).map(str::to_owned);
                        self.answer(incoming, account, &button, Answer::Decline { reason }, None, &texts).await
                    }
                    (Some(account), Some(Role::Supplier)) => {
                        self.part_quantity(incoming, account, &button, value, None, &texts).await
                    }
                    (None, _) => Ok(Decision::notice(texts.not_linked())),
                    _ => Ok(Decision::notice(texts.suppliers_only())),
                }
            }
            IncomingKind::Text(text) => match account.as_ref().and_then(|a| a.awaiting.clone().map(|w| (a, w))) {
                Some((account, awaiting)) => match OfferButton::parse(&awaiting) {
                    Some(button) if button.action == OfferAction::Ask => {
                        self.question(incoming, account, &button, text, &texts).await
                    }
                    Some(button) if button.action == OfferAction::Because(DeclineReason::Other) => {
                        // The words of « Autre raison », on one line and bounded; « - » says nothing more.
                        let words: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
                        let words: String = words.chars().take(MAX_REASON_CHARS).collect();
                        let reason = match words.as_str() {
                            "" | "-" => DeclineReason::Other.slug().to_owned(),
                            said => format!("{} — {said}", DeclineReason::Other.slug()),
                        };
                        self.explain(incoming, account, &button, &reason, None, &texts).await
                    }
                    Some(button) => self.part_quantity(incoming, account, &button, text, None, &texts).await,
                    None => Ok(Decision::reply(incoming, [texts.not_understood(role)])),
                },
                None => Ok(Decision::reply(incoming, [texts.not_understood(role)])),
            },
            IncomingKind::Location { .. } => Ok(Decision::reply(incoming, [texts.not_understood(role)])),
            // Answered by `may_open_form` before deciding anything.
            IncomingKind::OpenForm { .. } => Ok(Decision::notice(texts.offer_not_open())),
        }
    }

    fn actor(incoming: &Incoming) -> Actor {
        Actor {
            channel: incoming.platform.as_str().to_owned(),
            user_id: incoming.user_id.clone(),
            // Nothing can be sent to a desk later: its notes are read with `campaign status`.
            chat_id: Some(incoming.chat_id.clone()).filter(|_| incoming.platform != Platform::Desk),
            name: incoming.user_name.clone(),
        }
    }

    /// The tender a facilitator names, when it is within their territory; else the refusal to answer, which
    /// names only what they typed (the reference) and their territory, nothing of the tender itself.
    async fn load_in_scope(
        &self,
        account: &ChatAccount,
        reference: &TenderRef,
        texts: &Texts,
    ) -> Result<Result<campaigns::Loaded, String>, EngineError> {
        let Some(loaded) = campaigns::load(&self.store, reference).await? else {
            return Ok(Err(texts.unknown_tender(reference.as_str())));
        };
        if in_scope(account, &loaded.tender) {
            return Ok(Ok(loaded));
        }
        Ok(Err(match &account.scope {
            Some(scope) => texts.tender_outside_scope(reference.as_str(), scope),
            None => texts.facilitators_only(),
        }))
    }

    async fn start(&self, incoming: &Incoming, args: &[String], texts: &Texts) -> Result<Decision, EngineError> {
        let Some(code) = args.first() else {
            let account = self.store.account(incoming.platform.as_str(), &incoming.user_id).await?;
            return Ok(Decision::reply(incoming, [texts.help(account.map(|a| a.role))]));
        };
        if matches!(incoming.chat, ChatKind::Shared { .. }) {
            // Offers and answers go to the chat an account is linked in: never one others read.
            return Ok(Decision::reply(incoming, [texts.start_in_private(incoming.platform)]));
        }
        let invite = self.store.invite(code.trim()).await?;
        let now = self.now();
        let usable = invite.filter(|i| i.used_at.is_none() && i.expires_at.is_none_or(|at| at > now));
        let Some(invite) = usable else { return Ok(Decision::reply(incoming, [texts.invite_invalid()])) };
        // A structure imported without capacity is asked for it at once: until it answers, no offer reaches it.
        let mut ask_capacity = None;
        let welcome = match (invite.role, &invite.supplier) {
            (Role::Supplier, Some(siret)) => {
                let name = self.store.supplier(siret).await?.map_or_else(|| siret.to_string(), |s| s.name);
                if let Some(unknown) = self.store.unknown_capacity(siret).await? {
                    let labels: Vec<String> =
                        unknown.sectors.iter().map(|s| self.sector_label(s, texts.lang)).collect();
                    ask_capacity = Some(texts.capacity_wanted(&labels));
                }
                texts.linked_supplier(&name)
            }
            // A supplier's invite that names no structure cannot link anything.
            (Role::Supplier, None) => return Ok(Decision::reply(incoming, [texts.invite_invalid()])),
            (Role::Facilitator, _) => texts.linked_facilitator(invite.scope.as_ref().unwrap_or(&Scope::National)),
            (Role::Buyer, _) => texts.help(Some(Role::Buyer)),
        };
        // What is kept and why, the first time an account is linked (RGPD art. 13: information at collection).
        let mut decision = Decision::reply(
            incoming,
            std::iter::once(format!("{welcome}\n\n{}", texts.privacy_notice())).chain(ask_capacity),
        );
        decision.changes.consume_invite = Some(invite.code.clone());
        decision.changes.link = Some(AccountLink {
            platform: incoming.platform.as_str().to_owned(),
            user_id: incoming.user_id.clone(),
            chat_id: incoming.chat_id.clone(),
            role: invite.role,
            supplier: invite.supplier.clone(),
            buyer: invite.buyer.clone(),
            language: incoming.language.clone(),
            display_name: incoming.user_name.clone(),
            scope: invite.scope.clone(),
        });
        Ok(decision)
    }

    async fn command(
        &self,
        incoming: &Incoming,
        account: &ChatAccount,
        command: Command,
        args: &[String],
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        let role = account.role;
        let facilitator = role == Role::Facilitator;
        match command {
            Command::Start | Command::Help => Ok(Decision::reply(incoming, [texts.help(Some(role))])),
            Command::Tenders => {
                let tenders = self.store.tenders().await?;
                let campaigns = self.store.campaigns().await?;
                if tenders.is_empty() {
                    return Ok(Decision::reply(incoming, [texts.no_tenders()]));
                }
                let mut lines = Vec::new();
                // A buyer sees its own tenders only, a facilitator those of its territory; suppliers every one.
                let own = |s: &essaim_store::TenderSummary| role != Role::Buyer || s.buyer_siret == account.buyer;
                for summary in tenders.into_iter().filter(own) {
                    if let Some(tender) = self.store.tender(&summary.reference).await? {
                        if facilitator && !in_scope(account, &tender) {
                            continue;
                        }
                        let state = campaigns.iter().find(|c| c.tender == tender.reference).map(|c| c.status.as_str());
                        lines.push(texts.tender_line(&tender, state));
                    }
                }
                if lines.is_empty() {
                    let text = match account.scope.as_ref().filter(|_| facilitator) {
                        Some(scope) => texts.no_tenders_in_scope(scope),
                        None => texts.no_tenders(),
                    };
                    return Ok(Decision::reply(incoming, [text]));
                }
                Ok(Decision::reply(incoming, [lines.join("\n")]))
            }
            Command::Allocate
            | Command::Status
            | Command::Remind
            | Command::Send
            | Command::Members
            | Command::Close => {
                if !facilitator {
                    return Ok(Decision::reply(incoming, [texts.facilitators_only()]));
                }
                let Some(reference) = args.first() else {
                    return Ok(Decision::reply(incoming, [texts.usage(command)]));
                };
                let Ok(reference) = TenderRef::parse("ref", reference) else {
                    return Ok(Decision::reply(incoming, [texts.unknown_tender(reference)]));
                };
                let loaded = match self.load_in_scope(account, &reference, texts).await? {
                    Ok(loaded) => loaded,
                    Err(refusal) => return Ok(Decision::reply(incoming, [refusal])),
                };
                match command {
                    Command::Allocate => self.allocate(incoming, &loaded, texts).await,
                    Command::Status => match &loaded.campaign {
                        None => Ok(Decision::reply(incoming, [texts.no_campaign(reference.as_str())])),
                        Some(c) => {
                            let suggestions = campaigns::shortfall_suggestions(&self.store, &loaded, c).await?;
                            let mut text = campaigns::status_text(texts, &self.settings, &loaded, c, &suggestions);
                            let unknown = campaigns::unknown_capacity_names(&self.store, &loaded).await?;
                            if !unknown.is_empty() {
                                text.push_str("\n\n");
                                text.push_str(&texts.unknown_capacity(&unknown));
                            }
                            Ok(Decision::reply(incoming, [text]))
                        }
                    },
                    Command::Send => self.send_proposal(incoming, &loaded, texts).await,
                    Command::Close => match campaigns::close(&self.store, &self.settings, &loaded, self.now()).await? {
                        None => Ok(Decision::reply(incoming, [texts.not_running(reference.as_str())])),
                        Some((changes, summary)) => {
                            let reply = Decision::reply(incoming, [summary]);
                            Ok(Decision {
                                changes: Changeset {
                                    outbox: [reply.changes.outbox, changes.outbox].concat(),
                                    ..changes
                                },
                                notice: None,
                            })
                        }
                    },
                    Command::Members => {
                        let text = campaigns::members_text(&self.store, &self.settings, &loaded, texts).await?;
                        Ok(Decision::reply(incoming, [text]))
                    }
                    _ => {
                        if loaded.campaign.is_none() {
                            return Ok(Decision::reply(incoming, [texts.no_campaign(reference.as_str())]));
                        }
                        let (mut changes, offers, suppliers) =
                            campaigns::remind(&self.store, &self.settings, &loaded, self.now(), self.now()).await?;
                        let reply = Decision::reply(incoming, [texts.reminded(reference.as_str(), offers, suppliers)]);
                        changes.outbox.extend(reply.changes.outbox);
                        Ok(Decision { changes, notice: None })
                    }
                }
            }
            Command::Lots => {
                let Some(siret) = account.supplier.clone().filter(|_| role == Role::Supplier) else {
                    return Ok(Decision::reply(incoming, [texts.suppliers_only()]));
                };
                self.lots(incoming, &siret, texts).await
            }
            Command::Capacity => {
                let Some(siret) = account.supplier.clone().filter(|_| role == Role::Supplier) else {
                    return Ok(Decision::reply(incoming, [texts.suppliers_only()]));
                };
                if args.is_empty() {
                    return self.capacity_overview(incoming, &siret, texts).await;
                }
                self.capacity(incoming, &siret, args, texts).await
            }
            Command::Reply => {
                if !facilitator {
                    return Ok(Decision::reply(incoming, [texts.facilitators_only()]));
                }
                self.reply_to_question(incoming, account, args, texts).await
            }
            Command::Withdraw => {
                let Some(siret) = account.supplier.clone().filter(|_| role == Role::Supplier) else {
                    return Ok(Decision::reply(incoming, [texts.suppliers_only()]));
                };
                self.withdraw(incoming, &siret, args, texts).await
            }
            Command::InviteAll => {
                if !facilitator {
                    return Ok(Decision::reply(incoming, [texts.facilitators_only()]));
                }
                self.invite_all(incoming, account, args, texts).await
            }
            Command::Invite => {
                if !facilitator {
                    return Ok(Decision::reply(incoming, [texts.facilitators_only()]));
                }
                self.invite(incoming, account, args, texts).await
            }
            Command::Lead => {
                if !facilitator {
                    return Ok(Decision::reply(incoming, [texts.facilitators_only()]));
                }
                self.designate_lead(incoming, account, args, texts).await
            }
            Command::Price => {
                let Some(siret) = account.supplier.clone().filter(|_| role == Role::Supplier) else {
                    return Ok(Decision::reply(incoming, [texts.suppliers_only()]));
                };
                self.price(incoming, &siret, args, texts)
            }
            Command::Forget => self.ask_forget(incoming, account, texts).await,
        }
    }

    /// Whom an account speaks for, as a facilitator reads it: its structure's or buyer's name, `None` for
    /// a facilitator.
    async fn speaks_for(&self, account: &ChatAccount) -> Result<Option<String>, EngineError> {
        if let Some(siret) = &account.supplier {
            let name = self.store.supplier(siret).await?.map_or_else(|| siret.to_string(), |s| s.name);
            return Ok(Some(name));
        }
        Ok(account.buyer.as_ref().map(|siret| siret.to_string()))
    }

    /// `/oublier`: what erasure does, and two buttons. Nothing is erased before the press.
    async fn ask_forget(
        &self,
        incoming: &Incoming,
        account: &ChatAccount,
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        // A desk or an e-mail answer has no account row to erase (the mailbox is the directory's).
        if matches!(incoming.platform, Platform::Desk | Platform::Email) {
            return Ok(Decision::reply(incoming, [texts.not_understood(Some(account.role))]));
        }
        let question = texts.forget_question(self.speaks_for(account).await?.as_deref());
        let button = |confirm, label| crate::message::Button {
            label,
            data: ForgetButton { confirm, user_id: incoming.user_id.clone() }.data(),
            asks_quantity: false,
        };
        let buttons = vec![vec![button(true, texts.button_forget()), button(false, texts.button_keep_account())]];
        let mut messages = Messages::default();
        messages.push(
            format!("reply:{}:{}:0", incoming.platform, incoming.update_id),
            Outgoing::text(incoming.platform, incoming.chat_id.clone(), question).with_buttons(buttons),
        );
        Ok(Decision { changes: Changeset { outbox: messages.items, ..Changeset::default() }, notice: None })
    }

    /// A press under `/oublier`: erase the account (RGPD art. 17) and tell the facilitators, or keep it.
    /// The question loses its buttons either way.
    async fn forget(
        &self,
        incoming: &Incoming,
        account: &ChatAccount,
        confirm: bool,
        message_id: Option<&str>,
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        let said = if confirm { texts.forgotten() } else { texts.account_kept() };
        let reply = Outgoing::text(incoming.platform, incoming.chat_id.clone(), said).replacing(message_id);
        let mut messages = Messages::default();
        messages.push(format!("forget:{}:{}", incoming.platform, incoming.update_id), reply);
        if !confirm {
            let changes = Changeset { outbox: messages.items, ..Changeset::default() };
            return Ok(Decision { changes, notice: Some(texts.noted()) });
        }
        let who = self.speaks_for(account).await?;
        let still_reached = match &account.supplier {
            Some(siret) => self.store.accounts_for_supplier(siret).await?.len() > 1,
            None => false,
        };
        for to in self.store.accounts_with_role(Role::Facilitator).await? {
            let Ok(platform) = to.platform.parse::<Platform>() else { continue };
            if to.platform == account.platform && to.user_id == account.user_id {
                continue;
            }
            let t =
                Texts::new(lang_of(to.language.as_deref(), None, self.settings.default_lang), self.settings.time_zone);
            let who = who.clone().unwrap_or_else(|| t.a_facilitator());
            let note = t.account_forgotten(incoming.platform.label(), &who, still_reached);
            let key = format!("forgotten:{}:{}:{}:{}", incoming.platform, incoming.update_id, to.platform, to.user_id);
            messages.push(key, Outgoing::text(platform, to.chat_id, note));
        }
        let forget = Forget {
            platform: incoming.platform.as_str().to_owned(),
            user_id: incoming.user_id.clone(),
            pseudonym: campaigns::pseudonym(),
        };
        Ok(Decision {
            changes: Changeset { forget: Some(forget), outbox: messages.items, ..Changeset::default() },
            notice: Some(texts.noted()),
        })
    }

    /// `/mandataire REF SIRET`: the facilitator names the lead of an ad hoc grouping.
    async fn designate_lead(
        &self,
        incoming: &Incoming,
        account: &ChatAccount,
        args: &[String],
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        let (Some(reference), Some(siret)) = (args.first(), args.get(1)) else {
            return Ok(Decision::reply(incoming, [texts.usage(Command::Lead)]));
        };
        let Ok(reference) = TenderRef::parse("ref", reference) else {
            return Ok(Decision::reply(incoming, [texts.unknown_tender(reference)]));
        };
        let Ok(siret) = Siret::parse(siret) else {
            return Ok(Decision::reply(incoming, [texts.unknown_supplier(siret)]));
        };
        let loaded = match self.load_in_scope(account, &reference, texts).await? {
            Ok(loaded) => loaded,
            Err(refusal) => return Ok(Decision::reply(incoming, [refusal])),
        };
        let reply = |text: String| Ok(Decision::reply(incoming, [text]));
        match campaigns::designate_lead(&self.store, &self.settings, &loaded, &siret, Self::actor(incoming), self.now())
            .await?
        {
            Ok((mut changes, text)) => {
                changes.outbox.extend(Decision::reply(incoming, [text]).changes.outbox);
                Ok(Decision { changes, notice: None })
            }
            Err(LeadRefusal::NoCampaign) => reply(texts.no_campaign(reference.as_str())),
            Err(LeadRefusal::UnknownSupplier) => reply(texts.unknown_supplier(siret.as_str())),
            Err(LeadRefusal::FromGroupement(name)) => reply(texts.lead_from_groupement(reference.as_str(), &name)),
            Err(LeadRefusal::NotAMember(name)) => reply(texts.lead_not_a_member(&name, reference.as_str())),
        }
    }

    /// `/tarif SECTEUR PRIX`: a structure's own price per unit, excluding VAT (`aucun` removes it).
    fn price(
        &self,
        incoming: &Incoming,
        siret: &Siret,
        args: &[String],
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        let (sector, price) = match self.sector_and_value(args) {
            SectorArgs::Usage => return Ok(Decision::reply(incoming, [texts.usage(Command::Price)])),
            SectorArgs::UnknownSector(e) => return Ok(Decision::reply(incoming, [texts.price_invalid(&e)])),
            SectorArgs::Parsed(sector, value) => (sector, value),
        };
        let unit_price = match price.trim().to_lowercase().as_str() {
            "aucun" | "none" | "-" => None,
            _ => match parse_quantity(price.trim_start_matches('€').trim_end_matches('€')) {
                // A price per unit, bounded: beyond 10 000 € an hour is a typing slip, not a price.
                Some(p) if (0.01..=10_000.0).contains(&p) => Some((p * 100.0).round() / 100.0),
                _ => return Ok(Decision::reply(incoming, [texts.price_invalid(&format!("« {price} »"))])),
            },
        };
        let label = self.sector_label(&sector, texts.lang);
        let mut decision = Decision::reply(incoming, [texts.price_updated(&label, unit_price)]);
        decision.changes.price = Some(essaim_store::PriceChange { supplier: siret.clone(), sector, unit_price });
        Ok(decision)
    }

    /// `/inviter SIRET REF`: a structure outside the groupement joins it for this tender.
    async fn invite(
        &self,
        incoming: &Incoming,
        account: &ChatAccount,
        args: &[String],
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        let (Some(siret), Some(reference)) = (args.first(), args.get(1)) else {
            return Ok(Decision::reply(incoming, [texts.usage(Command::Invite)]));
        };
        let Ok(siret) = Siret::parse(siret) else {
            return Ok(Decision::reply(incoming, [texts.unknown_supplier(siret)]));
        };
        let Ok(reference) = TenderRef::parse("ref", reference) else {
            return Ok(Decision::reply(incoming, [texts.unknown_tender(reference)]));
        };
        let loaded = match self.load_in_scope(account, &reference, texts).await? {
            Ok(loaded) => loaded,
            Err(refusal) => return Ok(Decision::reply(incoming, [refusal])),
        };
        let by = Self::actor(incoming);
        let launcher = loaded.campaign.as_ref().map(|c| c.launched_by.user_id.clone());
        match campaigns::add_supplier(&self.store, &self.settings, &loaded, &siret, by, self.now()).await? {
            Ok((mut changes, text)) => {
                // The notes go to the facilitator who launched the campaign; another one who asked hears too.
                if launcher.as_deref() != Some(incoming.user_id.as_str()) {
                    changes.outbox.extend(Decision::reply(incoming, [text]).changes.outbox);
                }
                Ok(Decision { changes, notice: None })
            }
            Err(AddRefusal::NoCampaign) => Ok(Decision::reply(incoming, [texts.no_campaign(reference.as_str())])),
            Err(AddRefusal::UnknownSupplier) => Ok(Decision::reply(incoming, [texts.unknown_supplier(siret.as_str())])),
            Err(AddRefusal::AlreadyMember(name)) => {
                Ok(Decision::reply(incoming, [texts.already_member(&name, reference.as_str())]))
            }
            Err(AddRefusal::CannotTakeAnyLine(name)) => {
                Ok(Decision::reply(incoming, [texts.cannot_take_any_line(&name, reference.as_str())]))
            }
        }
    }

    /// `/capacite` alone: each sector's capacity, what unfinished work holds of it, what is free.
    async fn capacity_overview(
        &self,
        incoming: &Incoming,
        siret: &Siret,
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        let Some(supplier) = self.store.supplier(siret).await? else {
            return Ok(Decision::reply(incoming, [texts.suppliers_only()]));
        };
        let holdings = self.store.holdings_of_supplier(siret).await?;
        let today = self.now().with_timezone(&self.settings.time_zone).date_naive();
        let rows: Vec<(String, f64, f64, f64)> = supplier
            .capacities
            .iter()
            .map(|(sector, capacity)| {
                let held = essaim_core::booking::held_from(&holdings, siret.as_str(), sector, today);
                (self.sector_label(sector, texts.lang), *capacity, held, (capacity - held).max(0.0))
            })
            .collect();
        Ok(Decision::reply(incoming, [texts.capacity_overview(&rows)]))
    }

    /// `SECTEUR VALEUR` (the sector may be several words: « espaces verts 120 »), as `/capacite` and
    /// `/tarif` take them.
    fn sector_and_value<'a>(&self, args: &'a [String]) -> SectorArgs<'a> {
        let (Some(value), true) = (args.last(), args.len() >= 2) else { return SectorArgs::Usage };
        match self.settings.taxonomy.resolve("sector", &args[..args.len() - 1].join(" ")) {
            Ok(sector) => SectorArgs::Parsed(sector, value),
            Err(e) => SectorArgs::UnknownSector(e.to_string()),
        }
    }

    fn sector_label(&self, sector: &Sector, lang: essaim_core::Lang) -> String {
        self.settings.taxonomy.get(sector).map_or_else(
            || sector.to_string(),
            |i| if lang == essaim_core::Lang::En { i.label_en.clone() } else { i.label_fr.clone() },
        )
    }

    /// `/envoyer REF`: the proposal to the buyer's accounts, the note (or the page) to the facilitator.
    async fn send_proposal(
        &self,
        incoming: &Incoming,
        loaded: &Loaded,
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        let Some(campaign) = &loaded.campaign else {
            return Ok(Decision::reply(incoming, [texts.no_proposal_yet(loaded.tender.reference.as_str())]));
        };
        let to = campaigns::Recipient {
            platform: incoming.platform,
            user_id: incoming.user_id.clone(),
            chat_id: incoming.chat_id.clone(),
            lang: texts.lang,
        };
        let key = format!("send:{}:{}", incoming.platform, incoming.update_id);
        let messages =
            campaigns::deliver_or_ask(&self.store, &self.settings, loaded, campaign, Some(&to), &key, self.now())
                .await?;
        Ok(Decision { changes: Changeset { outbox: messages.items, ..Changeset::default() }, notice: None })
    }

    /// The facilitator chose how to send a bid that covers some lines in part only.
    async fn send_chosen(
        &self,
        incoming: &Incoming,
        account: &ChatAccount,
        choice: &BidButton,
        message_id: Option<&str>,
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        let loaded = match self.load_in_scope(account, &choice.tender, texts).await? {
            Ok(loaded) => loaded,
            Err(refusal) => return Ok(Decision::notice(refusal)),
        };
        let Some(campaign) = &loaded.campaign else {
            return Ok(Decision::notice(texts.no_proposal_yet(choice.tender.as_str())));
        };
        let to = campaigns::Recipient {
            platform: incoming.platform,
            user_id: incoming.user_id.clone(),
            chat_id: incoming.chat_id.clone(),
            lang: texts.lang,
        };
        // Keyed by the question, not the press: a second press on the same question (another device, a
        // stale button) queues nothing twice. `/envoyer` asks a new question to send again.
        let key = match message_id {
            Some(id) => format!("bid:{}:{}:{id}", incoming.platform, incoming.chat_id),
            None => format!("send:{}:{}", incoming.platform, incoming.update_id),
        };
        let mut messages = campaigns::proposal_messages(
            &self.store,
            &self.settings,
            &loaded,
            campaign,
            Some(&to),
            &key,
            self.now(),
            choice.partial_lines,
        )
        .await?;
        // The question loses its buttons: a second press would send the bid again.
        if let Some(id) = message_id {
            let label = match choice.partial_lines {
                essaim_core::proposal::PartialLines::Mark => texts.button_send_partial(),
                essaim_core::proposal::PartialLines::Omit => texts.button_send_without(),
            };
            let closed =
                Outgoing::text(incoming.platform, incoming.chat_id.clone(), format!("✓ {label}")).replacing(Some(id));
            let mut edit = Messages::default();
            edit.push(format!("{key}:closed"), closed);
            messages.items.splice(0..0, edit.items);
        }
        Ok(Decision {
            changes: Changeset { outbox: messages.items, ..Changeset::default() },
            notice: Some(texts.noted()),
        })
    }

    async fn allocate(&self, incoming: &Incoming, loaded: &Loaded, texts: &Texts) -> Result<Decision, EngineError> {
        let reference = loaded.tender.reference.as_str();
        match campaigns::launch(&self.store, &self.settings, loaded, Self::actor(incoming), self.now()).await? {
            // In a chat the launch notes are queued to the facilitator; a desk reads them in the reply.
            Ok((changes, summary)) if incoming.platform == Platform::Desk => {
                let reply = Decision::reply(incoming, [summary]);
                Ok(Decision {
                    changes: Changeset { outbox: [reply.changes.outbox, changes.outbox].concat(), ..changes },
                    notice: None,
                })
            }
            Ok((changes, _summary)) => Ok(Decision { changes, notice: None }),
            Err(LaunchRefusal::AlreadyRunning) => Ok(Decision::reply(incoming, [texts.campaign_exists(reference)])),
            Err(LaunchRefusal::DeadlinePassed(at)) => {
                Ok(Decision::reply(incoming, [texts.deadline_passed(reference, at)]))
            }
            Err(LaunchRefusal::ReferenceTooLong) => {
                Ok(Decision::reply(incoming, [texts.reference_too_long(reference)]))
            }
            Err(LaunchRefusal::UnknownGroupement) => {
                Ok(Decision::reply(incoming, [texts.unknown_groupement(reference)]))
            }
            Err(LaunchRefusal::NothingUncovered) => Ok(Decision::reply(incoming, [texts.nothing_uncovered(reference)])),
            Err(LaunchRefusal::NothingToOffer(why)) => {
                Ok(Decision::reply(incoming, [texts.nothing_to_offer(reference, &why)]))
            }
        }
    }

    /// The supplier's commitments on every tender (accepted lots with their periods), then its open offers,
    /// each with its buttons.
    async fn lots(&self, incoming: &Incoming, siret: &Siret, texts: &Texts) -> Result<Decision, EngineError> {
        let mut messages = Messages::default();
        let to = campaigns::Recipient {
            platform: incoming.platform,
            user_id: incoming.user_id.clone(),
            chat_id: incoming.chat_id.clone(),
            lang: texts.lang,
        };
        let mut offers = Vec::new();
        for summary in self.store.campaigns().await? {
            if summary.status != "running" {
                continue;
            }
            let Some(loaded) = campaigns::load(&self.store, &summary.tender).await? else { continue };
            let Some(campaign) = &loaded.campaign else { continue };
            for offer in campaign.open_offers().filter(|o| o.terms.supplier == siret.as_str()) {
                if let Some(message) = campaigns::offer_message(texts, &to, &loaded, campaign, offer, false) {
                    // Found again by the offer when it closes, to take these buttons off too.
                    let key =
                        campaigns::listed_key(&summary.tender, offer.terms.id, incoming.platform, &incoming.user_id);
                    offers.push((format!("{key}{}", incoming.update_id), message));
                }
            }
        }
        let holdings = self.store.holdings_of_supplier(siret).await?;
        let mut titles = std::collections::HashMap::new();
        for h in &holdings {
            if !titles.contains_key(&h.tender)
                && let Some(tender) = self.store.tender(&h.tender).await?
            {
                titles.insert(h.tender.clone(), tender);
            }
        }
        let title = |h: &essaim_core::Holding| match titles.get(&h.tender).and_then(|t| t.line(&h.line).map(|l| (t, l)))
        {
            Some((tender, line)) => format!("{} · {}", tender.reference, texts.line_name(line)),
            None => format!("{} · {}", h.tender, h.line),
        };
        let commitments = texts.commitments(&holdings, &title);
        let waiting = if offers.is_empty() { texts.no_open_offers() } else { texts.open_offers_count(offers.len()) };
        let head = format!("{commitments}\n\n{waiting}");
        messages.push(
            format!("reply:{}:{}:0", incoming.platform, incoming.update_id),
            Outgoing::text(incoming.platform, incoming.chat_id.clone(), head),
        );
        for (key, message) in offers {
            messages.push(key, message);
        }
        Ok(Decision { changes: Changeset { outbox: messages.items, ..Changeset::default() }, notice: None })
    }

    async fn capacity(
        &self,
        incoming: &Incoming,
        siret: &Siret,
        args: &[String],
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        let (sector, quantity) = match self.sector_and_value(args) {
            SectorArgs::Usage => return Ok(Decision::reply(incoming, [texts.usage(Command::Capacity)])),
            SectorArgs::UnknownSector(e) => return Ok(Decision::reply(incoming, [texts.capacity_invalid(&e)])),
            SectorArgs::Parsed(sector, value) => (sector, value),
        };
        let Some(quantity) = parse_quantity(quantity).filter(|q| *q >= 0.0) else {
            return Ok(Decision::reply(incoming, [texts.capacity_invalid(&format!("« {quantity} »"))]));
        };
        let label = self.sector_label(&sector, texts.lang);
        let mut text = texts.capacity_updated(&label, quantity);
        // An imported structure answering the bot's question: the sectors its source listed still to give.
        if let Some(unknown) = self.store.unknown_capacity(siret).await? {
            let rest: Vec<String> =
                unknown.sectors.iter().filter(|s| **s != sector).map(|s| self.sector_label(s, texts.lang)).collect();
            if !rest.is_empty() {
                text.push('\n');
                text.push_str(&texts.capacity_still_wanted(&rest));
            }
        }
        let mut decision = Decision::reply(incoming, [text]);
        decision.changes.capacity = Some(CapacityChange { supplier: siret.clone(), sector, quantity });
        Ok(decision)
    }

    async fn press(
        &self,
        incoming: &Incoming,
        account: &ChatAccount,
        button: &OfferButton,
        message_id: Option<&str>,
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        match button.action {
            OfferAction::Accept => self.answer(incoming, account, button, Answer::Accept, message_id, texts).await,
            OfferAction::Decline => {
                self.answer(incoming, account, button, Answer::Decline { reason: None }, message_id, texts).await
            }
            // Ask for the words; the next text message of this account is the reason.
            OfferAction::Because(DeclineReason::Other) => {
                self.ask(incoming, account, button, texts, |o, _| {
                    matches!(o.state, OfferState::Declined { reason: None, .. }).then(|| texts.ask_other_reason(o))
                })
                .await
            }
            OfferAction::Because(reason) => {
                self.explain(incoming, account, button, reason.slug(), message_id, texts).await
            }
            // Ask for the question; the next text message of this account is it.
            OfferAction::Ask => {
                self.ask(incoming, account, button, texts, |o, _| Some(texts.ask_question_text(o))).await
            }
            // Ask for the quantity; the next text message of this account answers it.
            OfferAction::Part => {
                self.ask(incoming, account, button, texts, |o, loaded| {
                    let running = loaded.campaign.as_ref().is_some_and(|c| c.is_running());
                    (o.is_open() && running)
                        .then(|| texts.ask_quantity(o, loaded.line(&o.terms.line).map_or("h", |l| l.unit.as_str())))
                })
                .await
            }
        }
    }

    /// Asks the account's structure something about its offer (`question` says what, or `None` when the
    /// offer is past asking); its next text message answers (the button is kept as what it awaits).
    async fn ask(
        &self,
        incoming: &Incoming,
        account: &ChatAccount,
        button: &OfferButton,
        texts: &Texts,
        question: impl Fn(&essaim_core::Offer, &Loaded) -> Option<String>,
    ) -> Result<Decision, EngineError> {
        let Some(loaded) = campaigns::load(&self.store, &button.tender).await? else {
            return Ok(Decision::notice(texts.offer_not_open()));
        };
        let Some(offer) = loaded.campaign.as_ref().and_then(|c| c.offers.get(&button.offer)) else {
            return Ok(Decision::notice(texts.offer_not_open()));
        };
        if account.supplier.as_ref().map(|s| s.as_str()) != Some(offer.terms.supplier.as_str()) {
            return Ok(Decision::notice(texts.offer_not_yours()));
        }
        let Some(question) = question(offer, &loaded) else { return Ok(Decision::notice(texts.offer_not_open())) };
        let mut decision = Decision::reply(incoming, [question]);
        decision.changes.awaiting =
            Some((incoming.platform.as_str().to_owned(), incoming.user_id.clone(), Some(button.data())));
        decision.notice = Some(texts.noted());
        Ok(decision)
    }

    /// `/retirer REF N motif`: the request is recorded and put to the facilitator; the lot stays the
    /// structure's until they confirm.
    async fn withdraw(
        &self,
        incoming: &Incoming,
        siret: &Siret,
        args: &[String],
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        let offer = args.get(1).and_then(|n| n.trim_start_matches("n°").parse().ok());
        let (Some(reference), Some(offer)) = (args.first(), offer) else {
            return Ok(Decision::reply(incoming, [texts.usage(Command::Withdraw)]));
        };
        let words: String = args[2..].join(" ").chars().take(MAX_REASON_CHARS).collect();
        let reason = if words.trim().is_empty() { texts.no_reason_given() } else { words.trim().to_owned() };
        let Ok(reference) = TenderRef::parse("ref", reference) else {
            return Ok(Decision::reply(incoming, [texts.unknown_tender(reference)]));
        };
        let Some(loaded) = campaigns::load(&self.store, &reference).await? else {
            return Ok(Decision::reply(incoming, [texts.unknown_tender(reference.as_str())]));
        };
        let outcome = campaigns::ask_withdrawal(
            &self.store,
            &self.settings,
            &loaded,
            offer,
            siret.as_str(),
            &reason,
            Self::actor(incoming),
            self.now(),
        )
        .await?;
        match outcome {
            Ok(mut changes) => {
                let reply = Decision::reply(incoming, [texts.withdrawal_sent(offer)]);
                changes.outbox.extend(reply.changes.outbox);
                Ok(Decision { changes, notice: None })
            }
            Err(CampaignError::NotYourOffer { .. }) => Ok(Decision::reply(incoming, [texts.offer_not_yours()])),
            Err(_) => Ok(Decision::reply(incoming, [texts.nothing_to_withdraw(offer)])),
        }
    }

    /// A structure's question about its offer, typed after « Poser une question » (or sent by the form).
    async fn question(
        &self,
        incoming: &Incoming,
        account: &ChatAccount,
        button: &OfferButton,
        text: &str,
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        let text: String =
            text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(MAX_REASON_CHARS).collect();
        let clear = Some((incoming.platform.as_str().to_owned(), incoming.user_id.clone(), None));
        if text.is_empty() {
            return Ok(Decision::reply(incoming, [texts.not_understood(Some(Role::Supplier))]));
        }
        let (Some(supplier), Some(loaded)) =
            (account.supplier.as_ref(), campaigns::load(&self.store, &button.tender).await?)
        else {
            return Ok(Decision::notice(texts.offer_not_open()));
        };
        let outcome = campaigns::ask_question(
            &self.store,
            &self.settings,
            &loaded,
            button.offer,
            supplier.as_str(),
            &text,
            Self::actor(incoming),
            self.now(),
        )
        .await?;
        let mut decision = match outcome {
            Ok(mut changes) => {
                let reply = Decision::reply(incoming, [texts.question_sent()]);
                changes.outbox.extend(reply.changes.outbox);
                Decision { changes, notice: Some(texts.noted()) }
            }
            Err(CampaignError::NotYourOffer { .. }) => Decision::reply(incoming, [texts.offer_not_yours()]),
            Err(_) => Decision::reply(incoming, [texts.offer_not_open()]),
        };
        if account.awaiting.is_some() {
            decision.changes.awaiting = clear;
        }
        Ok(decision)
    }

    /// `/repondre REF N texte`: the facilitator's answer goes to the structure the offer was made to.
    async fn reply_to_question(
        &self,
        incoming: &Incoming,
        account: &ChatAccount,
        args: &[String],
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        let offer = args.get(1).and_then(|n| n.trim_start_matches("n°").parse().ok());
        let text = args.get(2..).map(|words| words.join(" ")).unwrap_or_default();
        let (Some(reference), Some(offer)) = (args.first(), offer) else {
            return Ok(Decision::reply(incoming, [texts.usage(Command::Reply)]));
        };
        if text.trim().is_empty() {
            return Ok(Decision::reply(incoming, [texts.usage(Command::Reply)]));
        }
        let Ok(reference) = TenderRef::parse("ref", reference) else {
            return Ok(Decision::reply(incoming, [texts.unknown_tender(reference)]));
        };
        let loaded = match self.load_in_scope(account, &reference, texts).await? {
            Ok(loaded) => loaded,
            Err(refusal) => return Ok(Decision::reply(incoming, [refusal])),
        };
        let answered = campaigns::answer_question(
            &self.store,
            &self.settings,
            &loaded,
            offer,
            text.trim(),
            Self::actor(incoming),
            self.now(),
        )
        .await?;
        match answered {
            None => Ok(Decision::reply(incoming, [texts.offer_not_open()])),
            Some((mut changes, supplier)) => {
                let reply = Decision::reply(incoming, [texts.reply_sent(&supplier)]);
                changes.outbox.extend(reply.changes.outbox);
                Ok(Decision { changes, notice: None })
            }
        }
    }

    /// The facilitator's press on a withdrawal request.
    async fn settle_withdrawal(
        &self,
        incoming: &Incoming,
        account: &ChatAccount,
        choice: &WithdrawalButton,
        message_id: Option<&str>,
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        let loaded = match self.load_in_scope(account, &choice.tender, texts).await? {
            Ok(loaded) => loaded,
            Err(refusal) => return Ok(Decision::notice(refusal)),
        };
        let decided = campaigns::settle_withdrawal(
            &self.store,
            &self.settings,
            &loaded,
            choice.offer,
            choice.confirm,
            Self::actor(incoming),
            self.now(),
        )
        .await?;
        let Some((mut changes, summary)) = decided else { return Ok(Decision::notice(texts.offer_not_open())) };
        // The question loses its buttons: the decision is made.
        let message = Outgoing::text(incoming.platform, incoming.chat_id.clone(), summary).replacing(message_id);
        let mut messages = Messages::default();
        messages.push(format!("withdrawal:{}:{}", incoming.platform, incoming.update_id), message);
        changes.outbox.splice(0..0, messages.items);
        Ok(Decision { changes, notice: Some(texts.noted()) })
    }

    /// `/inviter_tous G`: an invitation by mail to every structure of the groupement without an account.
    async fn invite_all(
        &self,
        incoming: &Incoming,
        account: &ChatAccount,
        args: &[String],
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        let Some(code) = args.first() else { return Ok(Decision::reply(incoming, [texts.usage(Command::InviteAll)])) };
        if !self.settings.email {
            return Ok(Decision::reply(incoming, [texts.mail_not_configured()]));
        }
        let Ok(code) = essaim_core::GroupementCode::parse("groupement", code) else {
            return Ok(Decision::reply(incoming, [texts.unknown_groupement_code(code)]));
        };
        // A groupement is in a territory only by name: a département scope does not reach its members.
        match &account.scope {
            Some(scope) if scope.covers_groupement(&code) => {}
            Some(scope) => {
                return Ok(Decision::reply(incoming, [texts.groupement_outside_scope(code.as_str(), scope)]));
            }
            None => return Ok(Decision::reply(incoming, [texts.facilitators_only()])),
        }
        let expires_at = self.now() + chrono::Duration::days(INVITATION_DAYS);
        match campaigns::invite_groupement_by_mail(&self.store, &self.settings, &code, expires_at).await? {
            None => Ok(Decision::reply(incoming, [texts.unknown_groupement_code(code.as_str())])),
            Some((mut changes, done)) => {
                let reply = Decision::reply(incoming, [texts.groupement_invited(code.as_str(), &done)]);
                changes.outbox.extend(reply.changes.outbox);
                Ok(Decision { changes, notice: None })
            }
        }
    }

    /// Records why the account's structure declined an offer; the offer's message shows it.
    async fn explain(
        &self,
        incoming: &Incoming,
        account: &ChatAccount,
        button: &OfferButton,
        reason: &str,
        message_id: Option<&str>,
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        let Some(loaded) = campaigns::load(&self.store, &button.tender).await? else {
            return Ok(Decision::notice(texts.offer_not_open()));
        };
        let Some(supplier) = account.supplier.as_ref() else { return Ok(Decision::notice(texts.suppliers_only())) };
        let outcome = campaigns::explain(
            &self.store,
            &self.settings,
            &loaded,
            button.offer,
            supplier.as_str(),
            reason,
            Self::actor(incoming),
            self.now(),
        )
        .await?;
        let mut changes = match outcome {
            Ok(changes) => changes,
            Err(CampaignError::NotYourOffer { .. }) => return Ok(Decision::notice(texts.offer_not_yours())),
            // Already explained, or not a refusal: nothing to add.
            Err(_) => return Ok(Decision::notice(texts.offer_not_open())),
        };
        let offer = loaded.campaign.as_ref().and_then(|c| c.offers.get(&button.offer));
        let offer_text = offer
            .zip(loaded.campaign.as_ref())
            .and_then(|(o, c)| campaigns::offer_text(texts, &loaded, c, o, false))
            .unwrap_or_default();
        let text = texts.offer_answered(&offer_text, &format!("{}\n{}", texts.declined(), texts.reason_noted(reason)));
        let message = match message_id {
            Some(id) => Outgoing::text(incoming.platform, incoming.chat_id.clone(), text).replacing(Some(id)),
            None => Outgoing::text(incoming.platform, incoming.chat_id.clone(), texts.reason_noted(reason)),
        };
        let mut messages = Messages::default();
        messages.push(format!("explained:{}:{}", incoming.platform, incoming.update_id), message);
        changes.outbox.splice(0..0, messages.items);
        if account.awaiting.is_some() {
            changes.awaiting = Some((incoming.platform.as_str().to_owned(), incoming.user_id.clone(), None));
        }
        Ok(Decision { changes, notice: Some(texts.noted()) })
    }

    async fn part_quantity(
        &self,
        incoming: &Incoming,
        account: &ChatAccount,
        button: &OfferButton,
        text: &str,
        message_id: Option<&str>,
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        let Some(quantity) = parse_quantity(text) else {
            // Keep waiting: say what is expected.
            let loaded = campaigns::load(&self.store, &button.tender).await?;
            let offer = loaded.as_ref().and_then(|l| l.campaign.as_ref()).and_then(|c| c.offers.get(&button.offer));
            let reply = match offer {
                Some(o) => texts.quantity_out_of_range(o.terms.min_quantity, o.terms.quantity),
                None => texts.offer_not_open(),
            };
            return Ok(Decision::reply(incoming, [reply]));
        };
        self.answer(incoming, account, button, Answer::AcceptPart { quantity }, message_id, texts).await
    }

    async fn answer(
        &self,
        incoming: &Incoming,
        account: &ChatAccount,
        button: &OfferButton,
        answer: Answer,
        message_id: Option<&str>,
        texts: &Texts,
    ) -> Result<Decision, EngineError> {
        let typed = matches!(answer, Answer::AcceptPart { .. });
        // A refusal pressed in a chat is recorded at once; the reason buttons come under it (a mail's
        // form asks for the reason with the refusal).
        let ask_reason = matches!(answer, Answer::Decline { reason: None }) && incoming.platform != Platform::Email;
        let clear_awaiting = || Some((incoming.platform.as_str().to_owned(), incoming.user_id.clone(), None));
        let Some(loaded) = campaigns::load(&self.store, &button.tender).await? else {
            return Ok(Decision::notice(texts.offer_not_open()));
        };
        let Some(supplier) = account.supplier.as_ref() else { return Ok(Decision::notice(texts.suppliers_only())) };
        let outcome = campaigns::answer(
            &self.store,
            &self.settings,
            &loaded,
            button.offer,
            supplier.as_str(),
            answer,
            Self::actor(incoming),
            texts,
            self.now(),
        )
        .await?;
        let refusal = |text: String| {
            // A typed quantity gets a chat reply (there is no button to answer); a press gets a notice.
            if typed {
                let mut d = Decision::reply(incoming, [text]);
                if account.awaiting.is_some() {
                    d.changes.awaiting = clear_awaiting();
                }
                d
            } else {
                Decision::notice(text)
            }
        };
        match outcome {
            AnswerOutcome::Refused(CampaignError::QuantityOutOfRange { min, max, .. }) => {
                // Out of range: the supplier may type again, so keep waiting.
                Ok(Decision::reply(incoming, [texts.quantity_out_of_range(min, max)]))
            }
            AnswerOutcome::Refused(CampaignError::NotYourOffer { .. }) => Ok(refusal(texts.offer_not_yours())),
            AnswerOutcome::Refused(CampaignError::Closed) => Ok(refusal(texts.campaign_closed())),
            AnswerOutcome::Refused(_) => Ok(refusal(texts.offer_not_open())),
            AnswerOutcome::Recorded { outcome, mut changes } => {
                // The pressed message is answered below (with the reason buttons after a refusal): the
                // edit that closes the offer's other messages must not replace it after that.
                if let Some(pressed) = message_id {
                    changes.outbox.retain(|m| {
                        !(m.key.starts_with(campaigns::CLOSED_PREFIX)
                            && m.chat_id == incoming.chat_id
                            && m.payload.get("edit_message_id").and_then(|v| v.as_str()) == Some(pressed))
                    });
                }
                let offer = loaded.campaign.as_ref().and_then(|c| c.offers.get(&button.offer));
                let text = offer
                    .zip(loaded.campaign.as_ref())
                    .and_then(|(o, c)| campaigns::offer_text(texts, &loaded, c, o, false));
                if let Some(offer_text) = text {
                    let mut messages = Messages::default();
                    let answered = texts.offer_answered(&offer_text, &outcome);
                    let message =
                        Outgoing::text(incoming.platform, incoming.chat_id.clone(), answered).replacing(message_id);
                    // With no message to edit (a typed quantity), the confirmation comes as a new message;
                    // a mail cannot be edited, so the receipt repeats the offer under what was recorded.
                    let text_only = if message.edit_message_id.is_some() {
                        message
                    } else if incoming.platform == Platform::Email {
                        Outgoing::text(
                            incoming.platform,
                            incoming.chat_id.clone(),
                            format!("{outcome}\n\n{offer_text}"),
                        )
                    } else {
                        Outgoing::text(incoming.platform, incoming.chat_id.clone(), outcome.clone())
                    };
                    let text_only = if ask_reason {
                        let reason = |r: DeclineReason| {
                            let data = OfferButton { action: OfferAction::Because(r), ..button.clone() }.data();
                            crate::message::Button { label: r.label(texts.lang).to_owned(), data, asks_quantity: false }
                        };
                        let Outgoing { text, .. } = &text_only;
                        let text = format!("{text}\n{}", texts.why_declined());
                        Outgoing { text, ..text_only }.with_buttons(vec![
                            vec![reason(DeclineReason::Capacity), reason(DeclineReason::Distance)],
                            vec![reason(DeclineReason::Price), reason(DeclineReason::Time)],
                            vec![reason(DeclineReason::Other)],
                        ])
                    } else {
                        text_only
                    };
                    messages.push(format!("answer:{}:{}", incoming.platform, incoming.update_id), text_only);
                    changes.outbox.splice(0..0, messages.items);
                }
                if account.awaiting.is_some() {
                    changes.awaiting = clear_awaiting();
                }
                Ok(Decision { changes: *changes, notice: Some(if typed { outcome } else { texts.noted() }) })
            }
        }
    }
}

/// The arguments of a command that takes a sector and a value.
enum SectorArgs<'a> {
    Usage,
    UnknownSector(String),
    Parsed(Sector, &'a String),
}

/// Whether a facilitator's account may act on this tender: its territory covers it. An account without a
/// territory (not a facilitator's) covers nothing.
fn in_scope(account: &ChatAccount, tender: &essaim_core::Tender) -> bool {
    account.scope.as_ref().is_some_and(|scope| scope.covers(tender))
}
