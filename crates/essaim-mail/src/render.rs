//! An outgoing message of the engine as an e-mail: multipart text + HTML, the buttons as signed links,
//! documents as attachments, and a `Message-ID` derived from the outbox key so that a mail sent again
//! after a crash is recognisably the same mail.

use chrono::{DateTime, Utc};
use essaim_chat::{Button, Document, Outgoing};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};
use sha2::{Digest, Sha256};

use crate::link::LinkKey;

/// Longest subject, in characters (mail clients cut around 60–80 anyway).
const SUBJECT_CHARS: usize = 120;

/// How buttons become links.
#[derive(Debug, Clone)]
pub struct Links {
    pub key: LinkKey,
    /// Base URL of `essaim serve` as the recipients reach it (`https://essaim.example.org`).
    pub base_url: String,
    /// How long a link works.
    pub valid_for: chrono::Duration,
}

impl Links {
    /// The signed address a button leads to.
    pub fn url(&self, button: &Button, now: DateTime<Utc>) -> String {
        let token = self.key.sign(&button.data, now + self.valid_for);
        format!("{}/reponse/{token}", self.base_url.trim_end_matches('/'))
    }
}

/// How long a « stop reminders » link works: long, a mail is read months later.
const QUIET_LINK_DAYS: i64 = 366;

/// The prefix of the data a « stop reminders » link signs, before the address.
pub(crate) const QUIET: &str = "quiet:";

impl Links {
    /// The signed address where `address` stops (or resumes) non-essential mail: the `List-Unsubscribe`
    /// header (RFC 2369, one click by RFC 8058) and the mail's footer.
    pub fn quiet_url(&self, address: &str, now: DateTime<Utc>) -> String {
        let token = self.key.sign(&format!("{QUIET}{}", address.trim()), now + chrono::Duration::days(QUIET_LINK_DAYS));
        format!("{}/courriel/{token}", self.base_url.trim_end_matches('/'))
    }
}

/// Why a message cannot be made into a mail. Permanent: sending again will not help.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("« {0} » is not an e-mail address")]
    Address(String),
    #[error("the mail could not be built: {0}")]
    Build(String),
}

/// The `Message-ID` of the mail for outbox row `key`: the same key always gives the same id.
pub fn message_id(key: &str, from: &Mailbox) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("<{hex}.essaim@{}>", from.email.domain())
}

/// The subject: the message's first line without its leading pictogram, on one line, cut at
/// [`SUBJECT_CHARS`]. Control characters (a CR/LF in a tender title) become spaces: no header can be
/// injected through the text.
pub fn subject(text: &str) -> String {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("essaim");
    let clean: String = first.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let trimmed = clean.trim_start_matches(|c: char| !c.is_alphanumeric()).trim();
    let mut subject: String = trimmed.chars().take(SUBJECT_CHARS).collect();
    if trimmed.chars().count() > SUBJECT_CHARS {
        subject.push('…');
    }
    if subject.is_empty() { "essaim".to_owned() } else { subject }
}

/// Builds the mail for outbox row `key`. An edit (a message the engine would replace in a chat) becomes
/// a new mail in the same thread: a mail cannot be changed once delivered.
pub fn compose(
    key: &str,
    message: &Outgoing,
    from: &Mailbox,
    links: &Links,
    now: DateTime<Utc>,
) -> Result<Message, ComposeError> {
    let to: Address = message.chat_id.trim().parse().map_err(|_| ComposeError::Address(message.chat_id.clone()))?;
    let buttons: Vec<(&Button, String)> = message.buttons.iter().flatten().map(|b| (b, links.url(b, now))).collect();
    let mut builder = Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, to))
        .subject(subject(&message.text))
        .message_id(Some(message_id(key, from)))
        .date(now.into());
    // Mail clients show « Se désabonner » from these and may post to the link in one click (RFC 8058).
    let quiet = links.quiet_url(&message.chat_id, now);
    builder = builder
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), format!("<{quiet}>")))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".into(),
        ));
    if let Some(earlier) = &message.edit_message_id {
        builder = builder.in_reply_to(earlier.clone()).references(earlier.clone());
    }
    let body = MultiPart::alternative_plain_html(
        plain(&message.text, &buttons, &quiet),
        html(&message.text, &buttons, &quiet),
    );
    let files: Vec<&Document> = message.document.iter().chain(&message.attachments).collect();
    let mail = if files.is_empty() {
        builder.multipart(body)
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for file in files {
            mixed = mixed.singlepart(attachment(file)?);
        }
        builder.multipart(mixed)
    };
    mail.map_err(|e| ComposeError::Build(e.to_string()))
}

/// One attached file: text as it is, a spreadsheet decoded from its base64.
fn attachment(file: &Document) -> Result<SinglePart, ComposeError> {
    let content_type = ContentType::parse(&file.mime_type)
        .map_err(|e| ComposeError::Build(format!("document type « {} »: {e}", file.mime_type)))?;
    let body: Vec<u8> = if file.base64 {
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &file.content)
            .map_err(|e| ComposeError::Build(format!("document {}: not base64: {e}", file.file_name)))?
    } else {
        file.content.clone().into_bytes()
    };
    Ok(Attachment::new(file.file_name.clone()).body(body, content_type))
}

/// The footer's words: the recipient's language is not known to the mail, so the link in both, short.
const FOOTER_WHY: &str = "Vous recevez ce courriel comme contact de votre structure dans l'annuaire du réseau.";
const FOOTER_STOP_FR: &str = "Ne plus recevoir les relances";
const FOOTER_STOP_EN: &str = "Stop reminder e-mails";

/// The text part: the message, then each link on its own line under its label, then the footer.
pub(crate) fn plain(text: &str, buttons: &[(&Button, String)], quiet: &str) -> String {
    let mut out = text.to_owned();
    for (button, url) in buttons {
        out.push_str(&format!("\n\n{} :\n{url}", button.label));
    }
    out.push_str(&format!("\n\n-- \n{FOOTER_WHY}\n{FOOTER_STOP_FR} / {FOOTER_STOP_EN} :\n{quiet}\n"));
    out
}

/// The HTML part: the same text, escaped, and the links as large buttons (a thumb on a phone).
fn html(text: &str, buttons: &[(&Button, String)], quiet: &str) -> String {
    let paragraphs: String = text
        .split("\n\n")
        .map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>")))
        .collect::<Vec<_>>()
        .join("\n");
    let links: String = buttons
        .iter()
        .map(|(b, url)| {
            format!(
                "<a href=\"{}\" style=\"display:inline-block;margin:0 8px 8px 0;padding:12px 18px;\
                 border-radius:6px;background:#1d4ed8;color:#fff;text-decoration:none;font-weight:600\">{}</a>",
                escape(url),
                escape(&b.label)
            )
        })
        .collect();
    format!(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"></head>\
         <body style=\"font-family:system-ui,sans-serif;font-size:16px;line-height:1.5;color:#111;max-width:36em\">\
         {paragraphs}<p>{links}</p>\
         <p style=\"font-size:13px;color:#555\">{FOOTER_WHY} <a href=\"{quiet}\" style=\"color:#555\">\
         {FOOTER_STOP_FR}</a> / <a href=\"{quiet}\" style=\"color:#555\">{FOOTER_STOP_EN}</a></p></body></html>",
        quiet = escape(quiet),
    )
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use essaim_chat::{Document, Platform};

    fn links() -> Links {
        Links {
            key: LinkKey::new(vec![7; 32]).expect("long enough"),
            base_url: "https://essaim.example.org/".into(),
            valid_for: chrono::Duration::days(14),
        }
    }

    fn from() -> Mailbox {
        "essaim <noreply@essaim.example.org>".parse().expect("valid mailbox")
    }

    fn offer() -> Outgoing {
        let mut m =
            Outgoing::text(Platform::Email, "contact@ei-exemple.fr", "📋 Nouvelle offre — T-1\nNettoyage : 120 h");
        m.buttons = vec![vec![Button { label: "Accepter".into(), data: "ok:3:T-1".into(), asks_quantity: false }]];
        m
    }

    #[test]
    fn the_same_outbox_key_gives_the_same_message_id() {
        assert_eq!(message_id("offer:T-1:3:telegram", &from()), message_id("offer:T-1:3:telegram", &from()));
        assert_ne!(message_id("offer:T-1:3", &from()), message_id("offer:T-1:4", &from()));
        assert!(message_id("k", &from()).ends_with(".essaim@essaim.example.org>"));
    }

    #[test]
    fn subjects_are_one_clean_line_whatever_the_text_holds() {
        assert_eq!(subject("📋 Nouvelle offre — T-1\nsuite"), "Nouvelle offre — T-1");
        assert_eq!(subject("Titre\r\nBcc: victim@example.org"), "Titre");
        assert_eq!(subject("A\rBcc: x@y.z"), "A Bcc: x@y.z");
        assert_eq!(subject(""), "essaim");
        assert_eq!(subject(&"é".repeat(300)).chars().count(), SUBJECT_CHARS + 1);
    }

    #[test]
    fn an_offer_mail_is_multipart_with_its_signed_link_in_both_parts() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("valid");
        let mail = compose("offer:T-1:3", &offer(), &from(), &links(), now).expect("composed");
        let raw = String::from_utf8(mail.formatted()).expect("utf-8");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains(&message_id("offer:T-1:3", &from())), "{raw}");
        let url = links().url(&offer().buttons[0][0], now);
        assert!(url.starts_with("https://essaim.example.org/reponse/"), "{url}");
        // The URL appears once in the text part and once in the HTML part (quoted-printable may wrap it,
        // so compare without soft line breaks).
        let unwrapped = raw.replace("=\r\n", "");
        assert!(unwrapped.matches(url.as_str()).count() >= 1, "{unwrapped}");
    }

    #[test]
    fn a_crlf_in_a_name_or_address_makes_no_header() {
        let mut m = offer();
        m.text = "Offre pour ACME\r\nBcc: victim@example.org\r\n\r\nCorps".into();
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("valid");
        let raw =
            String::from_utf8(compose("k", &m, &from(), &links(), now).expect("composed").formatted()).expect("utf-8");
        let headers = raw.split("\r\n\r\n").next().unwrap_or_default();
        assert!(!headers.lines().any(|l| l.starts_with("Bcc:")), "{headers}");
        m.chat_id = "a@b.fr\r\nBcc: victim@example.org".into();
        assert!(matches!(compose("k", &m, &from(), &links(), now), Err(ComposeError::Address(_))));
    }

    #[test]
    fn a_document_travels_as_an_attachment() {
        let mut m = offer();
        m.document = Some(Document {
            file_name: "proposition-T-1.html".into(),
            mime_type: "text/html".into(),
            content: "<html>bid</html>".into(),
            base64: false,
        });
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("valid");
        let raw =
            String::from_utf8(compose("k", &m, &from(), &links(), now).expect("composed").formatted()).expect("utf-8");
        assert!(raw.contains("multipart/mixed") && raw.contains("proposition-T-1.html"), "{raw}");
    }
}
