//! The campaign part of `essaim demo`: the facilitator launches the campaign from their phone, the
//! simulated structures answer (most accept, one declines, one accepts part), the solver reallocates
//! what was freed, and the demo prints the conversation as each party sees it, then the coverage.
//!
//! Everything goes through the real engine, store, outbox and dispatcher; only the phones are
//! simulated (a [`Sender`] that records instead of calling Telegram) and the clock is fixed two weeks
//! before the tender's deadline, so the demo reads the same whatever day it runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Duration, Utc};
use essaim_chat::{Dispatcher, Engine, Incoming, IncomingKind, Limits, Outgoing, Platform, SendOutcome, Sender};
use essaim_core::{CampaignEvent, OfferTerms, Tender};
use essaim_mail::{Delivered, MemoryMailbox};
use essaim_store::Store;
use tokio::sync::Notify;

use crate::config::Config;
use crate::render::Style;

/// The simulated phones: every message the dispatcher delivers, in order.
#[derive(Clone, Default)]
struct Phones {
    received: Arc<Mutex<Vec<(u64, Outgoing)>>>,
    next_id: Arc<std::sync::atomic::AtomicU64>,
}

impl Sender for Phones {
    async fn send(&self, _key: &str, message: &Outgoing) -> SendOutcome {
        let Ok(mut received) = self.received.lock() else {
            return SendOutcome::Transient("phone log poisoned".into());
        };
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        received.push((id, message.clone()));
        SendOutcome::Sent { message_id: id.to_string() }
    }
}

impl Phones {
    fn peek_last_to(&self, chat: &str) -> Option<Outgoing> {
        self.received.lock().ok()?.iter().rev().find(|(_, m)| m.chat_id == chat).map(|(_, m)| m.clone())
    }

    /// What the phones received since the last call, phone by phone (the facilitator's first, then the
    /// structures' in the order their accounts were made), each phone's messages in the order they came.
    /// The dispatcher sends to several chats at once, so the order *between* phones is a race: showing
    /// and answering in arrival order made every run a different campaign.
    fn take(&self) -> Vec<(u64, Outgoing)> {
        let mut taken = self.received.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default();
        taken.sort_by_key(|(_, m)| m.chat_id.parse::<u64>().unwrap_or(u64::MAX));
        taken
    }
}

struct Demo<'a> {
    engine: Engine,
    dispatcher: Dispatcher,
    phones: Phones,
    /// The mailbox of the structure that has no chat account, reached at its directory address.
    mailbox: MemoryMailbox,
    /// The answer pages its links open, as `essaim serve` mounts them.
    pages: axum::Router,
    names: HashMap<String, String>,
    /// The person who answers on each phone (the directory's contact), when known.
    people: HashMap<String, String>,
    next_update: u64,
    style: &'a Style,
}

const FACILITATOR: &str = "1";
const BUYER: &str = "2";

impl Demo<'_> {
    async fn say(&mut self, user: &str, kind: IncomingKind) -> Result<Option<String>> {
        self.next_update += 1;
        let incoming = Incoming {
            platform: Platform::Telegram,
            update_id: format!("demo-{}", self.next_update),
            user_id: user.to_owned(),
            chat_id: user.to_owned(),
            // The person behind the phone, as their account names them: the structure's contact.
            user_name: self.people.get(user).or_else(|| self.names.get(user)).cloned(),
            language: Some("fr".into()),
            chat: essaim_chat::ChatKind::Private,
            kind,
        };
        let handled = self.engine.handle(&incoming).await?;
        // One pass sends the oldest message of each chat: pass until everything is delivered.
        while self.dispatcher.run_once().await? > 0 {}
        Ok(handled.notice)
    }

    async fn command(&mut self, user: &str, text: &str) -> Result<()> {
        let mut words = text.split_whitespace();
        let name = words.next().unwrap_or_default().trim_start_matches('/').to_owned();
        let args = words.map(str::to_owned).collect();
        self.say(user, IncomingKind::Command { name, args }).await.map(|_| ())
    }

    fn name(&self, chat: &str) -> String {
        self.names.get(chat).cloned().unwrap_or_else(|| chat.to_owned())
    }

    /// Prints a message as it appears on its recipient's phone.
    fn show(&self, message: &Outgoing) {
        let s = self.style;
        let who = self.name(&message.chat_id);
        let verb = if message.edit_message_id.is_some() { "message mis à jour" } else { "reçoit" };
        println!();
        println!("  {} {}", s.cyan(&format!("📱 {who}")), s.dim(&format!("· {verb}")));
        for line in message.text.lines() {
            println!("  {} {line}", s.dim("│"));
        }
        for row in &message.buttons {
            let labels: Vec<String> = row.iter().map(|b| format!("[ {} ]", b.label)).collect();
            println!("  {} {}", s.dim("│"), s.bold(&labels.join("  ")));
        }
        if let Some(document) = &message.document {
            let size = document.content.len().div_ceil(1024);
            println!("  {} {}", s.dim("│"), s.bold(&format!("📎 {} ({size} Ko)", document.file_name)));
        }
    }

    /// Prints a mail as its recipient's mail client lists it: subject, text, links.
    fn show_mail(&self, mail: &Delivered, name: &str) {
        let s = self.style;
        println!();
        println!("  {} {}", s.cyan(&format!("📧 {name}")), s.dim(&format!("· reçoit un courriel à {}", mail.to)));
        println!("  {} {}", s.dim("│"), s.bold(&format!("Objet : {}", mail.subject)));
        // The text up to its links; the links as the buttons a mail client shows.
        let body = mail.text.split("\n\n-- \n").next().unwrap_or_default();
        let body = match mail.links.first() {
            Some((label, _)) => body.split(&format!("\n\n{label} :\n")).next().unwrap_or(body),
            None => body,
        };
        for line in body.lines() {
            println!("  {} {line}", s.dim("│"));
        }
        if !mail.attachments.is_empty() {
            println!("  {} {}", s.dim("│"), s.bold(&format!("📎 {}", mail.attachments.join(", "))));
        }
        if let Some((_, url)) = mail.links.first() {
            let labels: Vec<String> = mail.links.iter().map(|(label, _)| format!("[ {label} ]")).collect();
            println!("  {} {}", s.dim("│"), s.bold(&labels.join("  ")));
            let shown: String = url.chars().take(40).collect();
            println!("  {} {}", s.dim("│"), s.dim(&format!("liens signés, valables 14 jours : {shown}…")));
        }
    }

    /// Opens a mail's link and sends its form, as the structure does in its browser; returns what the
    /// page says was recorded.
    async fn click(&self, url: &str, form: &[(&str, &str)]) -> Result<String> {
        use tower::ServiceExt;
        let path = url.find("/reponse/").map_or(url, |i| &url[i..]);
        let body: String =
            form.iter().map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v))).collect::<Vec<_>>().join("&");
        let request = axum::http::Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(body))
            .context("answer request")?;
        let response = self.pages.clone().oneshot(request).await.context("answer page")?;
        let bytes = http_body_util::BodyExt::collect(response.into_body()).await.context("answer page")?.to_bytes();
        let page = String::from_utf8_lossy(&bytes);
        let recorded = page
            .split("id=\"recorded\">")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .unwrap_or("(rien d'enregistré)");
        Ok(recorded.replace("&#39;", "'").replace("&quot;", "\"").replace("&amp;", "&"))
    }

    fn action(&self, who: &str, what: &str) {
        println!("  {}", self.style.yellow(&format!("  ↳ {} {what}", self.name(who))));
    }
}

/// `application/x-www-form-urlencoded` for one key or value.
fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn button(message: &Outgoing, label: &str) -> Option<(String, String)> {
    message.buttons.iter().flatten().find(|b| b.label == label).map(|b| (b.data.clone(), label.to_owned()))
}

/// How the simulated structures answer, decided by each offer's structure and line, never by the order
/// offers reach the phones: of the first round's offers to phones, in (line, SIRET) order, the second is
/// declined (when no structure declines by e-mail) and the next one that leaves room for a part is
/// accepted in part; every other offer, and every offer of a later round, is accepted.
#[derive(Debug, Default)]
struct Script {
    /// Every offer made so far: offer number → its terms (line, structure, quantities).
    offers: HashMap<essaim_core::OfferId, OfferTerms>,
    /// The (SIRET, line) declined on the phone.
    decline: Option<(String, String)>,
    /// The (SIRET, line) accepted in part.
    part: Option<(String, String)>,
}

impl Script {
    /// The script of a campaign whose first round has been sent. `phones` are the SIRETs answering on a
    /// phone; `mail_declines` whether a structure reached by e-mail declines (then nobody declines on a phone).
    async fn of_campaign(
        store: &Store,
        tender: &Tender,
        phones: &std::collections::HashSet<String>,
        mail_declines: bool,
    ) -> Result<Script> {
        let mut script = Script::default();
        script.learn(store, tender).await?;
        let mut first: Vec<&OfferTerms> = script.offers.values().filter(|o| phones.contains(&o.supplier)).collect();
        first.sort_by(|a, b| (&a.line, &a.supplier).cmp(&(&b.line, &b.supplier)));
        let key = |o: &OfferTerms| (o.supplier.clone(), o.line.clone());
        let declined = if mail_declines { None } else { first.get(1).copied() };
        let part = first
            .iter()
            .skip(2)
            .chain(first.iter().take(2))
            .find(|o| Some(o.id) != declined.map(|d| d.id) && o.min_quantity < o.quantity);
        (script.decline, script.part) = (declined.map(key), part.map(|o| key(o)));
        Ok(script)
    }

    /// Reads the offers made so far from the campaign log.
    async fn learn(&mut self, store: &Store, tender: &Tender) -> Result<()> {
        for event in store.campaign_log(&tender.reference).await?.events {
            if let Ok(CampaignEvent::OffersMade { offers, .. }) = serde_json::from_value(event.payload) {
                self.offers.extend(offers.into_iter().map(|o| (o.id, o)));
            }
        }
        Ok(())
    }

    /// The button a structure presses on this offer message.
    async fn answer(&mut self, store: &Store, tender: &Tender, offer: &Outgoing) -> Result<&'static str> {
        let id = offer
            .buttons
            .iter()
            .flatten()
            .find_map(|b| essaim_chat::command::OfferButton::parse(&b.data))
            .map(|b| b.offer)
            .context("an offer without offer buttons")?;
        if !self.offers.contains_key(&id) {
            // An offer of a later round (a reallocation, an invited structure).
            self.learn(store, tender).await?;
        }
        let terms = self.offers.get(&id).with_context(|| format!("offer {id} is not in the campaign log"))?;
        let this = Some((terms.supplier.clone(), terms.line.clone()));
        Ok(if this == self.decline {
            "Refuser"
        } else if this == self.part {
            "Accepter une partie"
        } else {
            "Accepter"
        })
    }
}

/// Plays the campaign; returns the (simulated) time it ended at.
pub async fn play(
    store: &Store,
    config: &Config,
    tender: &Tender,
    by_mail: Option<&str>,
    style: &Style,
) -> Result<DateTime<Utc>> {
    let mut settings = config.engine_settings()?;
    // One structure has no chat account: the engine reaches it at its directory address.
    settings.email = true;
    // Two weeks before the deadline, 9:00 in Paris (or now, for a tender without deadline).
    let paris = chrono_tz::Europe::Paris;
    let start: DateTime<Utc> = tender
        .deadline
        .and_then(|d| (d.date_naive() - Duration::days(14)).and_hms_opt(9, 0, 0))
        .and_then(|t| t.and_local_timezone(paris).single())
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
    let clock = Arc::new(Mutex::new(start));
    let notify = Arc::new(Notify::new());
    let engine = {
        let clock = clock.clone();
        Engine::new(store.clone(), settings, notify).with_clock(move || clock.lock().map(|c| *c).unwrap_or(start))
    };
    let phones = Phones::default();
    // Links signed with a key of this run only, to the address `essaim serve` would have.
    let key: Vec<u8> = (0..32).map(|_| rand::random::<u8>()).collect();
    let links = essaim_mail::Links {
        key: essaim_mail::LinkKey::new(key.clone()).map_err(|e| anyhow!(e))?,
        base_url: Some(config.proposal.public_url.trim().trim_end_matches('/'))
            .filter(|u| !u.is_empty())
            .unwrap_or("http://localhost:8080")
            .to_owned(),
        valid_for: Duration::days(14),
    };
    let mailbox = {
        let clock = clock.clone();
        MemoryMailbox::new(config.mail.from_mailbox()?, links, move || clock.lock().map(|c| *c).unwrap_or(start))
    };
    let pages = essaim_mail::answer_router(engine.clone(), essaim_mail::LinkKey::new(key).map_err(|e| anyhow!(e))?);
    let dispatcher = Dispatcher::new(store.clone())
        .with_sender(Platform::Telegram, phones.clone(), Limits::none())
        .with_sender(Platform::Email, mailbox.clone(), Limits::none());

    // Accounts: the facilitator, and one phone per member of the groupement.
    let suppliers = store.eligible_suppliers(tender).await?.ok_or_else(|| anyhow!("sample groupement missing"))?;
    let mut names = HashMap::from([
        (FACILITATOR.to_owned(), "Claire, facilitatrice du réseau".to_owned()),
        (BUYER.to_owned(), format!("{} (acheteur)", tender.buyer.name)),
    ]);
    // Codes unique to this run, so that the demo can run again on the same database.
    let run = format!("{:06X}", rand::random::<u32>() & 0xFF_FFFF);
    let facilitator_code = format!("DEMO-{run}-FAC");
    store.create_invite(&facilitator_code, essaim_core::Role::Facilitator, None, None).await?;
    let mut demo = Demo {
        engine,
        dispatcher,
        phones,
        mailbox,
        pages,
        names: HashMap::new(),
        people: HashMap::new(),
        next_update: 0,
        style,
    };
    let mut on_phones = std::collections::HashSet::new();
    let mut mail_names: HashMap<String, String> = HashMap::new();
    if let Some(address) = &tender.buyer.email {
        mail_names.insert(address.clone(), format!("{} (acheteur)", tender.buyer.name));
    }
    for (i, s) in suppliers.iter().enumerate() {
        if Some(s.siret.as_str()) == by_mail {
            if let Some(address) = &s.contact.email {
                mail_names.insert(address.clone(), s.name.clone());
            }
            continue;
        }
        let user = (100 + i).to_string();
        on_phones.insert(s.siret.to_string());
        let code = format!("DEMO-{run}-{i}");
        store.create_invite(&code, essaim_core::Role::Supplier, Some(&s.siret), None).await?;
        names.insert(user.clone(), s.name.clone());
        if let Some(person) = &s.contact.name {
            demo.people.insert(user.clone(), person.clone());
        }
        demo.names = names.clone();
        demo.command(&user, &format!("/start {code}")).await?;
    }
    demo.names = names;
    demo.command(FACILITATOR, &format!("/start {facilitator_code}")).await?;
    // The buyer's phone, linked to the buyer's SIRET: it receives the proposal when the campaign is ready.
    if let Some(siret) = &tender.buyer.siret {
        let code = format!("DEMO-{run}-BUYER");
        store.create_buyer_invite(&code, siret, None).await?;
        demo.command(BUYER, &format!("/start {code}")).await?;
    }
    demo.phones.take();

    if !store.campaign_log(&tender.reference).await?.events.is_empty() {
        // A database where the demo already ran: show where that campaign stands.
        println!();
        println!("{}", style.bold("Campagne (déjà jouée dans cette base)"));
        demo.command(FACILITATOR, &format!("/etat {}", tender.reference)).await?;
        for (_, message) in demo.phones.take() {
            demo.show(&message);
        }
        return Ok(start);
    }

    println!();
    println!("{}", style.bold("Campagne : les structures confirment depuis leur téléphone"));
    println!(
        "{}",
        style.dim(&format!(
            "{} comptes Telegram simulés, {} structure(s) jointe(s) par courriel · horloge fixée au {}",
            suppliers.len() + 1 - by_mail.iter().count(),
            by_mail.iter().count(),
            start.with_timezone(&paris).format("%d/%m/%Y %H:%M")
        ))
    );
    println!();
    println!(
        "  {}",
        style.yellow(&format!("  ↳ {} envoie « /repartir {} »", demo.name(FACILITATOR), tender.reference))
    );
    demo.command(FACILITATOR, &format!("/repartir {}", tender.reference)).await?;
    let mut script = Script::of_campaign(store, tender, &on_phones, by_mail.is_some()).await?;

    // Answer every offer as the script says. Of the first round, three offers are shown in full and the
    // rest summed up; offers of the reallocation rounds are shown whole.
    let mut to_answer: std::collections::VecDeque<(u64, Outgoing, bool)> = std::collections::VecDeque::new();
    let mut shown: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut first_round_offers = 0usize;
    let mut launched = false;
    let mut quiet_accepts = 0usize;
    let mut launch_note = String::new();
    let mut bid_question: Option<(u64, Outgoing)> = None;
    let mut mail_offers: std::collections::VecDeque<Delivered> = std::collections::VecDeque::new();
    let mut mail_declined = false;
    loop {
        for mail in demo.mailbox.take() {
            let name = mail_names.get(&mail.to).cloned().unwrap_or_else(|| mail.to.clone());
            demo.show_mail(&mail, &name);
            if !mail.links.is_empty() {
                mail_offers.push_back(mail);
            }
        }
        for (id, message) in demo.phones.take() {
            if !launched && message.chat_id == FACILITATOR {
                launch_note = message.text.clone();
            }
            // The facilitator is asked how to send a bid that covers a line in part only.
            if message.chat_id == FACILITATOR && !message.buttons.is_empty() {
                demo.show(&message);
                shown.insert(id.to_string());
                bid_question = Some((id, message));
                continue;
            }
            let is_offer = !message.buttons.is_empty() && message.edit_message_id.is_none();
            let visible = if is_offer {
                if !launched {
                    first_round_offers += 1;
                }
                launched || first_round_offers <= 3
            } else {
                message.edit_message_id.as_ref().is_none_or(|edited| shown.contains(edited))
            };
            if visible {
                demo.show(&message);
                shown.insert(id.to_string());
            }
            if is_offer {
                to_answer.push_back((id, message, visible));
            }
        }
        if !launched {
            launched = true;
            // Fill the shortfall the launch note reports with the structure it suggests.
            if invite_the_suggested_structure(&mut demo, store, tender, &launch_note, &run).await? {
                continue;
            }
        }
        // The structure reached by e-mail opens its link: it declines its first offer with a reason
        // (a GET shows the form, the POST records it), and accepts any later one.
        if let Some(mail) = mail_offers.pop_front() {
            let name = mail_names.get(&mail.to).cloned().unwrap_or_else(|| mail.to.clone());
            let (label, form): (&str, &[(&str, &str)]) = if mail_declined {
                ("Accepter", &[])
            } else {
                ("Refuser", &[("reason", "capacité"), ("detail", "équipe déjà prise sur un chantier jusqu'en mars")])
            };
            mail_declined = true;
            let Some((_, url)) = mail.links.iter().find(|(l, _)| l == label) else { continue };
            let what = if form.is_empty() {
                format!("clique « {label} » dans le courriel et confirme")
            } else {
                format!("clique « {label} » dans le courriel, motif « capacité » et une précision")
            };
            println!("  {}", style.yellow(&format!("  ↳ {name} {what}")));
            let recorded = demo.click(url, form).await?;
            println!("  {}", style.dim(&format!("    page : ✅ {recorded}")));
            while demo.dispatcher.run_once().await? > 0 {}
            continue;
        }
        let Some((id, offer, visible)) = to_answer.pop_front() else {
            // Every offer is answered. A bid with a line covered in part only waits for the facilitator:
            // they send it with that line marked « offre partielle ».
            let Some((id, question)) = bid_question.take() else { break };
            let (data, label) = button(&question, "Envoyer en offre partielle").context("bid buttons")?;
            demo.action(FACILITATOR, &format!("appuie sur « {label} »"));
            demo.say(FACILITATOR, IncomingKind::Button { data, message_id: Some(id.to_string()) }).await?;
            continue;
        };
        let user = offer.chat_id.clone();
        let label = script.answer(store, tender, &offer).await?;
        let (data, label) = button(&offer, label).context("offer buttons")?;
        if visible {
            demo.action(&user, &format!("appuie sur « {label} »"));
        } else {
            quiet_accepts += 1;
        }
        demo.say(&user, IncomingKind::Button { data, message_id: Some(id.to_string()) }).await?;
        if label == "Accepter une partie" {
            let question = demo.phones.peek_last_to(&user).map(|m| m.text).unwrap_or_default();
            let quantity = midpoint(&question);
            for (id, message) in demo.phones.take() {
                demo.show(&message);
                shown.insert(id.to_string());
            }
            demo.action(&user, &format!("répond « {quantity} »"));
            demo.say(&user, IncomingKind::Text(quantity)).await?;
        }
    }
    if quiet_accepts > 0 {
        println!();
        println!(
            "  {}",
            style.dim(&format!("… et {quiet_accepts} autres offres acceptées d'un appui sur « Accepter »."))
        );
    }
    println!();
    println!("  {}", style.yellow(&format!("  ↳ {} envoie « /etat {} »", demo.name(FACILITATOR), tender.reference)));
    demo.command(FACILITATOR, &format!("/etat {}", tender.reference)).await?;
    for (_, message) in demo.phones.take() {
        demo.show(&message);
    }
    Ok(clock.lock().map(|c| *c).unwrap_or(start))
}

/// The launch note suggests structures outside the groupement for an uncovered line (« /inviter SIRET REF
/// l'ajoute »): the facilitator takes the first suggestion. Its phone is linked first, as the facilitator
/// would send it an invite code; the running campaign then offers it what is uncovered at once. Returns
/// whether a structure was invited.
async fn invite_the_suggested_structure(
    demo: &mut Demo<'_>,
    store: &Store,
    tender: &Tender,
    note: &str,
    run: &str,
) -> Result<bool> {
    let suggested = note
        .split("/inviter ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|siret| essaim_core::Siret::parse(siret).ok());
    let Some(siret) = suggested else { return Ok(false) };
    let Some(supplier) = store.supplier(&siret).await? else { return Ok(false) };
    let user = "199".to_owned();
    let code = format!("DEMO-{run}-INVITED");
    store.create_invite(&code, essaim_core::Role::Supplier, Some(&siret), None).await?;
    demo.names.insert(user.clone(), supplier.name.clone());
    if let Some(person) = &supplier.contact.name {
        demo.people.insert(user.clone(), person.clone());
    }
    demo.command(&user, &format!("/start {code}")).await?;
    demo.phones.take(); // its welcome message
    demo.action(FACILITATOR, &format!("envoie « /inviter {siret} {} »", tender.reference));
    demo.command(FACILITATOR, &format!("/inviter {siret} {}", tender.reference)).await?;
    Ok(true)
}

/// The middle of the range the engine asks for ("… un nombre entre 40 et 400 (h)."), as the simulated
/// structure would type it.
fn midpoint(question: &str) -> String {
    let range = question.split_once("entre ").and_then(|(_, rest)| rest.split_once(" et ")).and_then(|(min, rest)| {
        let max = rest.split_once(" (").map_or(rest, |(m, _)| m);
        Some((essaim_chat::command::parse_quantity(min)?, essaim_chat::command::parse_quantity(max)?))
    });
    let (min, max) = range.unwrap_or((0.0, 0.0));
    format!("{}", ((min + max) / 2.0).round())
}
