//! E-mail, the third channel of the one conversation engine. A structure with no linked Telegram or
//! Discord account is reached at its directory contact address: offers, reminders and notices leave
//! through the same outbox as chat messages (same keys, retries and failure notices), by SMTP
//! ([`SmtpSender`]). Buttons become signed one-click links ([`link`]) to pages served by `essaim serve`
//! ([`answer_router`]), where the answer goes through the engine exactly like a button pressed in a chat.
//!
//! Nothing here decides: the engine does. This crate turns messages into mails and link clicks into
//! updates.

pub mod link;
mod pages;
mod render;
mod sender;

use std::sync::{Arc, Mutex, PoisonError};

use essaim_chat::{Outgoing, SendOutcome, Sender};
pub use lettre::message::Mailbox;

pub use link::{LinkError, LinkKey};
pub use pages::answer_router;
pub use render::{ComposeError, Links, compose, message_id, subject};
pub use sender::{Security, SmtpSender, SmtpSettings};

/// A mailbox in memory, for the demo: it keeps what would have been sent, composed exactly as the SMTP
/// sender composes it.
#[derive(Clone)]
pub struct MemoryMailbox {
    from: Mailbox,
    links: Links,
    clock: Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>,
    mails: Arc<Mutex<Vec<Delivered>>>,
}

/// One mail the memory mailbox received.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub to: String,
    pub subject: String,
    /// The text part as sent, with its links.
    pub text: String,
    /// The signed links, in the order of the buttons.
    pub links: Vec<(String, String)>,
    pub message_id: String,
    /// The names of the attached files.
    pub attachments: Vec<String>,
}

impl MemoryMailbox {
    pub fn new(
        from: Mailbox,
        links: Links,
        clock: impl Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync + 'static,
    ) -> Self {
        Self { from, links, clock: Arc::new(clock), mails: Arc::default() }
    }

    /// The mails received so far, oldest first; `take` empties the box.
    pub fn take(&self) -> Vec<Delivered> {
        std::mem::take(&mut *self.mails.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Sender for MemoryMailbox {
    async fn send(&self, key: &str, message: &Outgoing) -> SendOutcome {
        let now = (self.clock)();
        if let Err(e) = compose(key, message, &self.from, &self.links, now) {
            return SendOutcome::Permanent(e.to_string());
        }
        let buttons: Vec<(&essaim_chat::Button, String)> =
            message.buttons.iter().flatten().map(|b| (b, self.links.url(b, now))).collect();
        let text = render::plain(&message.text, &buttons, &self.links.quiet_url(&message.chat_id, now));
        let delivered = Delivered {
            to: message.chat_id.clone(),
            subject: subject(&message.text),
            text,
            links: buttons.iter().map(|(b, url)| (b.label.clone(), url.clone())).collect(),
            message_id: message_id(key, &self.from),
            attachments: message.document.iter().chain(&message.attachments).map(|d| d.file_name.clone()).collect(),
        };
        let id = delivered.message_id.clone();
        self.mails.lock().unwrap_or_else(PoisonError::into_inner).push(delivered);
        SendOutcome::Sent { message_id: id }
    }
}
