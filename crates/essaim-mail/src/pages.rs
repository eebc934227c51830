//! The small mobile-first pages a one-click link opens: `GET /reponse/{token}` shows the offer and one
//! form (confirm the acceptance, the reason of a refusal, the quantity of a partial acceptance);
//! `POST /reponse/{token}` records the answer through the conversation engine, like a button pressed in
//! a chat. A GET never changes anything: mail scanners and link previews open links before people do.
//!
//! A link works once: once its offer is answered, the page shows what was recorded. An expired, forged
//! or truncated link shows a page that says so and changes nothing.

use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use essaim_chat::campaigns::{self, Loaded};
use essaim_chat::command::{DeclineReason, MAX_REASON_CHARS, OfferAction, OfferButton};
use essaim_chat::texts::Texts;
use essaim_chat::{Engine, Incoming, IncomingKind, Platform};
use essaim_core::{Lang, Offer, OfferState, Siret};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::link::{LinkError, LinkKey};
use crate::render::{QUIET, escape};

/// Largest form accepted: a reason and a quantity fit in far less.
const MAX_FORM_BYTES: usize = 16 * 1024;

#[derive(Clone)]
struct PageState {
    engine: Engine,
    key: LinkKey,
}

/// The routes of the answer pages, merged by `essaim serve` beside the API and the bots' webhooks.
pub fn answer_router(engine: Engine, key: LinkKey) -> Router {
    Router::new()
        .route("/reponse/{token}", get(show).post(submit))
        .route("/courriel/{token}", get(show_quiet).post(submit_quiet))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .with_state(PageState { engine, key })
}

#[derive(Debug, Default, Deserialize)]
struct AnswerForm {
    quantity: Option<String>,
    reason: Option<String>,
    detail: Option<String>,
}

/// The reader's language: English when the browser prefers it, else French.
fn lang(headers: &HeaderMap) -> Lang {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let first = accept.split(',').next().unwrap_or("").trim().to_ascii_lowercase();
    if first.starts_with("en") { Lang::En } else { Lang::Fr }
}

fn say(lang: Lang, fr: &str, en: &str) -> String {
    match lang {
        Lang::Fr => fr.to_owned(),
        Lang::En => en.to_owned(),
    }
}

/// A checked link: the button it stands for and its campaign as stored now.
struct Opened {
    button: OfferButton,
    loaded: Loaded,
}

/// What went wrong opening a link, as a page.
fn refusal(lang: Lang, status: StatusCode, title: &str, body: &str) -> Response {
    page(lang, status, title, &format!("<p>{}</p>", escape(body)))
}

/// The page saying why a link cannot be used.
fn link_refused(state: &PageState, error: LinkError, lang: Lang) -> Response {
    match error {
        LinkError::Expired(at) => refusal(
            lang,
            StatusCode::GONE,
            &say(lang, "Lien expiré", "Link expired"),
            &format!(
                "{} {}. {}",
                say(lang, "Ce lien a expiré le", "This link expired on"),
                Texts::new(lang, state.engine.settings().time_zone).date(at),
                say(
                    lang,
                    "Rien n'a été enregistré. Si l'offre vous intéresse encore, contactez le facilitateur.",
                    "Nothing was recorded. If you are still interested, contact the facilitator."
                )
            ),
        ),
        LinkError::Forged | LinkError::Malformed => refusal(
            lang,
            StatusCode::BAD_REQUEST,
            &say(lang, "Lien non valide", "Invalid link"),
            &say(
                lang,
                "Ce lien est incomplet ou a été modifié : rien n'a été enregistré. Ouvrez le lien tel qu'il \
                 figure dans le courriel (sans le couper).",
                "This link is incomplete or was changed: nothing was recorded. Open the link exactly as it \
                 is in the e-mail.",
            ),
        ),
    }
}

async fn open(state: &PageState, token: &str, lang: Lang) -> Result<Opened, Response> {
    let data = state.key.verify(token, state.engine.now()).map_err(|e| link_refused(state, e, lang))?;
    let not_found = || {
        refusal(
            lang,
            StatusCode::NOT_FOUND,
            &say(lang, "Offre introuvable", "Offer not found"),
            &say(lang, "Cette offre n'existe plus.", "This offer no longer exists."),
        )
    };
    let Some(button) = OfferButton::parse(&data) else { return Err(not_found()) };
    let loaded = campaigns::load(state.engine.store(), &button.tender).await.map_err(|e| unavailable(lang, &e))?;
    let Some(loaded) = loaded else { return Err(not_found()) };
    if loaded.campaign.as_ref().and_then(|c| c.offers.get(&button.offer)).is_none() {
        return Err(not_found());
    }
    Ok(Opened { button, loaded })
}

fn unavailable(lang: Lang, error: &dyn std::fmt::Display) -> Response {
    tracing::error!(%error, "answer page: the store failed");
    refusal(
        lang,
        StatusCode::SERVICE_UNAVAILABLE,
        &say(lang, "Service indisponible", "Service unavailable"),
        &say(lang, "Réessayez dans un instant : rien n'a été enregistré.", "Try again shortly: nothing was recorded."),
    )
}

impl Opened {
    fn offer(&self) -> Option<&Offer> {
        self.loaded.campaign.as_ref().and_then(|c| c.offers.get(&self.button.offer))
    }

    fn unit(&self) -> &str {
        self.offer().and_then(|o| self.loaded.line(&o.terms.line)).map_or("h", |l| l.unit.as_str())
    }

    /// The offer can still be answered (a question can be asked about any offer of the campaign).
    fn answerable(&self) -> bool {
        if self.button.action == OfferAction::Ask {
            return self.offer().is_some();
        }
        self.offer().is_some_and(Offer::is_open) && self.loaded.campaign.as_ref().is_some_and(|c| c.is_running())
    }

    /// The offer as the chat shows it.
    fn summary(&self, texts: &Texts) -> String {
        let text = self
            .loaded
            .campaign
            .as_ref()
            .zip(self.offer())
            .and_then(|(c, o)| campaigns::offer_text(texts, &self.loaded, c, o, false));
        let text = text.unwrap_or_default();
        let paragraphs: Vec<String> =
            text.split("\n\n").map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>"))).collect();
        format!("<section class=\"offer\">{}</section>", paragraphs.join(""))
    }

    /// What is recorded for the offer, in one sentence.
    fn recorded(&self, texts: &Texts, lang: Lang) -> String {
        let unit = self.unit();
        match self.offer().map(|o| (&o.state, o.terms.quantity)) {
            Some((OfferState::Accepted { quantity, at, .. }, offered)) if *quantity + 1e-9 < offered => format!(
                "{} {} {} {} {} {} {}.",
                say(lang, "Vous avez accepté", "You accepted"),
                texts.qty(*quantity),
                unit,
                say(lang, "sur", "of"),
                texts.qty(offered),
                unit,
                say(lang, &format!("le {}", texts.date(*at)), &format!("on {}", texts.date(*at)))
            ),
            Some((OfferState::Accepted { quantity, at, .. }, _)) => format!(
                "{} {} {} {}.",
                say(lang, "Vous avez accepté", "You accepted"),
                texts.qty(*quantity),
                unit,
                say(lang, &format!("le {}", texts.date(*at)), &format!("on {}", texts.date(*at)))
            ),
            Some((OfferState::Declined { reason, at, .. }, _)) => {
                let why = reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
                format!("{}{why} {}.", say(lang, "Vous avez refusé cette offre", "You declined this offer"), {
                    say(lang, &format!("le {}", texts.date(*at)), &format!("on {}", texts.date(*at)))
                })
            }
            Some((OfferState::Expired { at }, _)) => format!(
                "{} {} : {}",
                say(lang, "Cette offre a expiré le", "This offer expired on"),
                texts.date(*at),
                say(lang, "le facilitateur a été prévenu.", "the facilitator was told.")
            ),
            Some((OfferState::Withdrawn { .. }, _)) => say(
                lang,
                "La campagne est close : cette offre n'est plus ouverte.",
                "The campaign is closed: this offer is no longer open.",
            ),
            Some((OfferState::Open, _)) => say(
                lang,
                "La campagne est close : cette offre n'est plus ouverte.",
                "The campaign is closed: this offer is no longer open.",
            ),
            None => String::new(),
        }
    }

    /// The one form of this link.
    fn form(&self, texts: &Texts, lang: Lang, error: Option<&str>) -> String {
        let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))).unwrap_or_default();
        let Some(offer) = self.offer() else { return String::new() };
        let unit = escape(self.unit());
        let fields = match self.button.action {
            OfferAction::Ask => format!(
                "<label for=\"detail\">{}</label><textarea id=\"detail\" name=\"detail\" maxlength=\"{MAX_REASON_CHARS}\" \
                 rows=\"4\" required></textarea><button type=\"submit\" id=\"confirm\">{}</button>",
                say(lang, "Votre question au facilitateur", "Your question to the facilitator"),
                say(lang, "Envoyer la question", "Send the question")
            ),
            OfferAction::Accept => format!(
                "<button type=\"submit\" id=\"confirm\">{} {} {unit}</button>",
                say(lang, "Confirmer : j'accepte", "Confirm: I accept"),
                texts.qty(offer.terms.quantity)
            ),
            OfferAction::Decline | OfferAction::Because(_) => {
                let reasons: String = DeclineReason::ALL
                    .iter()
                    .enumerate()
                    .map(|(i, reason)| {
                        let checked = if i == 0 { " checked" } else { "" };
                        format!(
                            "<label class=\"choice\"><input type=\"radio\" name=\"reason\" value=\"{}\"{checked}> {}</label>",
                            escape(reason.slug()),
                            escape(reason.label(lang))
                        )
                    })
                    .collect();
                format!(
                    "<fieldset><legend>{}</legend>{reasons}</fieldset>\
                     <label for=\"detail\">{}</label><textarea id=\"detail\" name=\"detail\" maxlength=\"{MAX_REASON_CHARS}\" rows=\"3\"></textarea>\
                     <button type=\"submit\" id=\"confirm\" class=\"decline\">{}</button>",
                    say(lang, "Pourquoi refusez-vous ?", "Why do you decline?"),
                    say(lang, "Précisions (facultatif)", "Details (optional)"),
                    say(lang, "Refuser l'offre", "Decline the offer")
                )
            }
            OfferAction::Part => format!(
                "<label for=\"quantity\">{} {} {} {} {unit}</label>\
                 <input id=\"quantity\" name=\"quantity\" inputmode=\"decimal\" autocomplete=\"off\" required>\
                 <button type=\"submit\" id=\"confirm\">{}</button>",
                say(lang, "Quantité que vous prenez, entre", "Quantity you take, between"),
                texts.qty(offer.terms.min_quantity),
                say(lang, "et", "and"),
                texts.qty(offer.terms.quantity),
                say(lang, "Accepter cette quantité", "Accept this quantity")
            ),
        };
        format!("{error}<form method=\"post\">{fields}</form>")
    }
}

async fn show(State(state): State<PageState>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let lang = lang(&headers);
    let opened = match open(&state, &token, lang).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    render_offer(&state, &opened, lang, StatusCode::OK, None, false)
}

fn render_offer(
    state: &PageState,
    opened: &Opened,
    lang: Lang,
    status: StatusCode,
    error: Option<&str>,
    just_recorded: bool,
) -> Response {
    let texts = Texts::new(lang, state.engine.settings().time_zone);
    let summary = opened.summary(&texts);
    if opened.answerable() {
        let title = match opened.button.action {
            OfferAction::Accept => say(lang, "Accepter l'offre", "Accept the offer"),
            OfferAction::Decline | OfferAction::Because(_) => say(lang, "Refuser l'offre", "Decline the offer"),
            OfferAction::Part => say(lang, "Accepter une partie", "Accept part of it"),
            OfferAction::Ask => say(lang, "Poser une question", "Ask a question"),
        };
        return page(lang, status, &title, &format!("{summary}{}", opened.form(&texts, lang, error)));
    }
    let title = if just_recorded {
        say(lang, "✅ Réponse enregistrée", "✅ Answer recorded")
    } else {
        say(lang, "Réponse déjà enregistrée", "Answer already recorded")
    };
    let note = say(
        lang,
        "Le facilitateur en est informé. Vous pouvez fermer cette page.",
        "The facilitator has been told. You may close this page.",
    );
    let recorded = escape(&opened.recorded(&texts, lang));
    page(lang, status, &title, &format!("<p class=\"recorded\" id=\"recorded\">{recorded}</p><p>{note}</p>{summary}"))
}

async fn submit(
    State(state): State<PageState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    form: Result<Form<AnswerForm>, FormRejection>,
) -> Response {
    let lang = lang(&headers);
    let opened = match open(&state, &token, lang).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    if !opened.answerable() {
        return render_offer(&state, &opened, lang, StatusCode::OK, None, false);
    }
    // A body too large or not a form records nothing (even on « Accepter », which needs no field).
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => {
            let status = rejection.status();
            let title = if status == StatusCode::PAYLOAD_TOO_LARGE {
                say(lang, "Formulaire trop volumineux", "Form too large")
            } else {
                say(lang, "Formulaire illisible", "Unreadable form")
            };
            let body = say(
                lang,
                "Rien n'a été enregistré. Revenez au lien du courriel.",
                "Nothing was recorded. Open the e-mail's link again.",
            );
            return refusal(lang, status, &title, &body);
        }
    };
    let Some(offer) = opened.offer() else { return render_offer(&state, &opened, lang, StatusCode::OK, None, false) };
    let data = opened.button.data();
    let (kind, value) = match opened.button.action {
        OfferAction::Ask => {
            let question: String = form.detail.as_deref().unwrap_or("").chars().take(MAX_REASON_CHARS).collect();
            if question.trim().is_empty() {
                let why = say(lang, "Écrivez votre question.", "Write your question.");
                return render_offer(&state, &opened, lang, StatusCode::UNPROCESSABLE_ENTITY, Some(&why), false);
            }
            (IncomingKind::Form { data: data.clone(), value: question.clone() }, question)
        }
        OfferAction::Accept => (IncomingKind::Button { data: data.clone(), message_id: None }, String::new()),
        OfferAction::Decline | OfferAction::Because(_) => {
            let reason = decline_reason(form.reason.as_deref(), form.detail.as_deref());
            (IncomingKind::Form { data: data.clone(), value: reason.clone() }, reason)
        }
        OfferAction::Part => {
            let quantity = form.quantity.unwrap_or_default().trim().chars().take(40).collect::<String>();
            (IncomingKind::Form { data: data.clone(), value: quantity.clone() }, quantity)
        }
    };
    // One update per link and value: the same form sent twice is recorded once, a corrected quantity
    // after a refused one is a new answer.
    let digest = Sha256::digest(format!("{token}\n{value}").as_bytes());
    let update_id: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    // The receipt goes where the offer went: the structure's directory address.
    let address = match Siret::parse(&offer.terms.supplier) {
        Ok(siret) => match state.engine.store().supplier(&siret).await {
            Ok(supplier) => supplier.and_then(|s| s.contact.email).unwrap_or_default(),
            Err(e) => return unavailable(lang, &e),
        },
        Err(_) => String::new(),
    };
    let incoming = Incoming {
        platform: Platform::Email,
        update_id,
        user_id: offer.terms.supplier.clone(),
        chat_id: address,
        user_name: None,
        language: Some(match lang {
            Lang::Fr => "fr".into(),
            Lang::En => "en".into(),
        }),
        chat: essaim_chat::ChatKind::Private,
        kind,
    };
    let handled = match state.engine.handle(&incoming).await {
        Ok(handled) => handled,
        Err(e) => return unavailable(lang, &e),
    };
    if opened.button.action == OfferAction::Ask {
        let done = say(
            lang,
            "Votre question est transmise au facilitateur : sa réponse vous arrivera par courriel.",
            "Your question went to the facilitator: the answer will come by e-mail.",
        );
        let title = say(lang, "✅ Question transmise", "✅ Question sent");
        return page(lang, StatusCode::OK, &title, &format!("<p class=\"recorded\" id=\"recorded\">{done}</p>"));
    }
    let reopened = match open(&state, &token, lang).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    if reopened.answerable() {
        // Not taken (a quantity out of bounds or not a number): say why, keep the form.
        let why = handled.notice.unwrap_or_else(|| {
            Texts::new(lang, state.engine.settings().time_zone)
                .quantity_out_of_range(offer.terms.min_quantity, offer.terms.quantity)
        });
        return render_offer(&state, &reopened, lang, StatusCode::UNPROCESSABLE_ENTITY, Some(&why), false);
    }
    render_offer(&state, &reopened, lang, StatusCode::OK, None, !handled.duplicate)
}

/// The mailbox a « stop reminders » link stands for, or the page saying why not.
fn quiet_address(state: &PageState, token: &str, lang: Lang) -> Result<String, Box<Response>> {
    let data = state.key.verify(token, state.engine.now()).map_err(|e| Box::new(link_refused(state, e, lang)))?;
    data.strip_prefix(QUIET).map(str::to_owned).ok_or_else(|| {
        Box::new(refusal(
            lang,
            StatusCode::NOT_FOUND,
            &say(lang, "Lien non valide", "Invalid link"),
            &say(lang, "Ce lien ne règle pas les courriels.", "This link does not set e-mail choices."),
        ))
    })
}

/// The mailbox's choice about reminders, and the one button that changes it.
fn quiet_page(lang: Lang, address: &str, wanted: bool, changed: bool) -> Response {
    let (title, state, button, value) = match (wanted, lang) {
        (true, Lang::Fr) => (
            "Relances par courriel",
            "Vous recevez les relances des offres restées sans réponse.",
            "Ne plus recevoir les relances",
            "0",
        ),
        (true, Lang::En) => {
            ("Reminder e-mails", "You receive reminders of unanswered offers.", "Stop reminder e-mails", "0")
        }
        (false, Lang::Fr) => (
            "Relances par courriel",
            "Vous ne recevez plus les relances. Les offres, les confirmations et les avis du facilitateur \
             continuent d'arriver : elles engagent votre structure.",
            "Recevoir à nouveau les relances",
            "1",
        ),
        (false, Lang::En) => (
            "Reminder e-mails",
            "You no longer receive reminders. Offers, receipts and the facilitator's notices still come: \
             they commit your structure.",
            "Receive reminders again",
            "1",
        ),
    };
    let done = if changed {
        format!("<p class=\"recorded\" id=\"recorded\">{}</p>", say(lang, "C'est noté.", "Noted."))
    } else {
        String::new()
    };
    page(
        lang,
        StatusCode::OK,
        title,
        &format!(
            "{done}<p>{}</p><p><strong>{}</strong></p><form method=\"post\"><input type=\"hidden\" \
             name=\"reminders\" value=\"{value}\"><button type=\"submit\" id=\"confirm\">{button}</button></form>",
            escape(state),
            escape(address)
        ),
    )
}

async fn show_quiet(State(state): State<PageState>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let lang = lang(&headers);
    let address = match quiet_address(&state, &token, lang) {
        Ok(address) => address,
        Err(page) => return *page,
    };
    match state.engine.store().wants_reminder_mail(&address).await {
        Ok(wanted) => quiet_page(lang, &address, wanted, false),
        Err(e) => unavailable(lang, &e),
    }
}

#[derive(Debug, Default, Deserialize)]
struct QuietForm {
    /// `1` to receive reminders again, `0` to stop them.
    reminders: Option<String>,
    /// A mail client's one-click request (RFC 8058 sends `List-Unsubscribe=One-Click`).
    #[serde(rename = "List-Unsubscribe")]
    one_click: Option<String>,
}

async fn submit_quiet(
    State(state): State<PageState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    form: Result<Form<QuietForm>, FormRejection>,
) -> Response {
    let lang = lang(&headers);
    let address = match quiet_address(&state, &token, lang) {
        Ok(address) => address,
        Err(page) => return *page,
    };
    let Ok(Form(form)) = form else {
        return refusal(
            lang,
            StatusCode::BAD_REQUEST,
            &say(lang, "Formulaire illisible", "Unreadable form"),
            &say(lang, "Rien n'a été enregistré.", "Nothing was recorded."),
        );
    };
    let wanted = form.one_click.is_none() && form.reminders.as_deref() == Some("1");
    match state.engine.store().set_reminder_mail(&address, wanted).await {
        Ok(_) => quiet_page(lang, &address, wanted, true),
        Err(e) => unavailable(lang, &e),
    }
}

/// The stored reason of a refusal: the chosen reason, and the details typed, on one line.
fn decline_reason(reason: Option<&str>, detail: Option<&str>) -> String {
    let chosen = reason.and_then(DeclineReason::from_slug).unwrap_or(DeclineReason::Other).slug();
    let detail: String = detail
        .unwrap_or("")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_REASON_CHARS)
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if detail.is_empty() { chosen.to_owned() } else { format!("{chosen} — {detail}") }
}

/// A whole page: readable on a phone, no script, nothing loaded from elsewhere.
fn page(lang: Lang, status: StatusCode, title: &str, body: &str) -> Response {
    let html_lang = match lang {
        Lang::Fr => "fr",
        Lang::En => "en",
    };
    let html = format!(
        "<!DOCTYPE html><html lang=\"{html_lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title} — essaim</title><style>{STYLE}</style></head>\
         <body><main><h1>{title}</h1>{body}</main></body></html>",
        title = escape(title)
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    response
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;font-size:17px;line-height:1.5;margin:0;color:#111;background:#f6f7f9}\
main{max-width:34em;margin:0 auto;padding:16px}h1{font-size:1.35em}\
.offer{background:#fff;border:1px solid #ddd;border-radius:8px;padding:4px 14px;margin-bottom:16px}\
form{display:flex;flex-direction:column;gap:10px}fieldset{border:1px solid #ddd;border-radius:8px}\
.choice{display:block;padding:6px 0}input,textarea{font-size:1em;padding:10px;border:1px solid #999;border-radius:6px}\
button{font-size:1.05em;padding:14px;border:0;border-radius:8px;background:#1d4ed8;color:#fff;font-weight:600}\
button.decline{background:#b91c1c}.error{background:#fef2f2;border:1px solid #fca5a5;padding:10px;border-radius:6px}\
.recorded{background:#ecfdf5;border:1px solid #6ee7b7;padding:10px;border-radius:6px}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_a_known_reason_and_one_clean_line_of_details() {
        assert_eq!(decline_reason(Some("prix"), None), "prix");
        assert_eq!(decline_reason(Some("forged"), Some("")), "autre");
        assert_eq!(decline_reason(Some("délai"), Some(" trop\r\ncourt ")), "délai — trop court");
        assert_eq!(decline_reason(None, Some(&"x".repeat(2000))).chars().count(), "autre — ".chars().count() + 500);
    }
}
