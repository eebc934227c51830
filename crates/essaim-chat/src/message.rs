//! Platform-neutral messages: what an adapter hands to the engine, and what the engine asks an
//! adapter to send. Adapters translate these to and from Telegram or Discord; nothing here knows
//! either platform's API.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The chat platform a message comes from or goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Telegram,
    Discord,
    /// E-mail: the "chat" is the structure's address; answers come back through signed links to
    /// pages served by `essaim serve` (the `essaim-mail` crate).
    Email,
    /// A facilitator at a desk: the command line (`essaim campaign …`) and the HTTP API. Its replies are
    /// returned to the caller, never queued.
    Desk,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Telegram => "telegram",
            Self::Discord => "discord",
            Self::Email => "email",
            Self::Desk => "desk",
        }
    }

    /// As people name it in a sentence.
    pub fn label(self) -> &'static str {
        match self {
            Self::Telegram => "Telegram",
            Self::Discord => "Discord",
            Self::Email => "e-mail",
            Self::Desk => "desk",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "telegram" => Ok(Self::Telegram),
            "discord" => Ok(Self::Discord),
            "email" => Ok(Self::Email),
            "desk" => Ok(Self::Desk),
            other => Err(format!("unknown chat platform `{other}` (expected telegram, discord or email)")),
        }
    }
}

/// One update received from a platform, already translated by its adapter.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub platform: Platform,
    /// The platform's own id of this delivery (Telegram `update_id`, Discord interaction id): a second
    /// delivery with the same id changes nothing.
    pub update_id: String,
    /// Who acted (Telegram user id, Discord user id).
    pub user_id: String,
    /// Where to answer (Telegram chat id, Discord channel id).
    pub chat_id: String,
    /// Display name, for the facilitator's view; never used to authorise.
    pub user_name: Option<String>,
    /// The user's interface language as the platform reports it (`fr`, `en-GB`…).
    pub language: Option<String>,
    /// Who else reads `chat_id`: in a shared chat the engine answers nothing personal there, and links
    /// no account to it.
    pub chat: ChatKind,
    pub kind: IncomingKind,
}

/// Who reads the chat an update comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChatKind {
    /// The user and the bot only: a Telegram private chat, a Discord DM (and a mail, a desk).
    #[default]
    Private,
    /// Others too: a Telegram group, a Discord server channel. What the engine answers the user goes to
    /// their private chat when they have linked one, else into the notice when `private_notice` (the
    /// front shows it to the user alone: a Discord interaction's ephemeral answer, the toast of a
    /// Telegram button), else in the chat (a command typed in a Telegram group: the bot has no other
    /// way to reach someone without an account).
    Shared { private_notice: bool },
}

/// What the user did.
#[derive(Debug, Clone, PartialEq)]
pub enum IncomingKind {
    /// A command, without its slash or `@botname` suffix (`start`, `aide`…), and its arguments.
    Command { name: String, args: Vec<String> },
    /// Free text (for instance a quantity after « Accepter une partie »).
    Text(String),
    /// A button press: the button's `data`, and the message that carried it when known (so that the
    /// engine can edit it).
    Button { data: String, message_id: Option<String> },
    /// A quantity entered in a form (Discord modal for « Accepter une partie »): the button data of
    /// the offer and the text typed.
    Form { data: String, value: String },
    /// A shared location.
    Location { latitude: f64, longitude: f64 },
    /// A press on a button that asks for a value (`asks_quantity`), on a front that asks in a form
    /// (Discord's modal): may the form open? The engine says yes ([`crate::Handled::form`]) or why not
    /// (the notice: the offer is closed, not this user's…). Nothing is recorded; the form's submission is
    /// a [`IncomingKind::Form`].
    OpenForm { data: String },
}

/// One button under a message. `data` comes back in [`IncomingKind::Button`] when pressed; it is at
/// most 64 bytes (Telegram's limit for callback data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub label: String,
    pub data: String,
    /// The button asks for a quantity (Discord opens a form for it; Telegram asks in the chat).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub asks_quantity: bool,
}

/// What pressing a button does, for fronts that colour buttons (Discord: green, red, neutral). Read from
/// the action in `data`, never from the label, so that it holds in every language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonTone {
    /// Commits to something: accept an offer.
    Positive,
    /// Refuses or erases: decline an offer, forget an account.
    Negative,
    Neutral,
}

impl Button {
    pub fn tone(&self) -> ButtonTone {
        match self.data.split(':').next() {
            Some("ok") => ButtonTone::Positive,
            Some("no" | "fy") => ButtonTone::Negative,
            _ => ButtonTone::Neutral,
        }
    }
}

/// A document attached to a message (the buyer's proposal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub file_name: String,
    pub mime_type: String,
    /// The text itself, or base64 when `base64` (a spreadsheet).
    pub content: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub base64: bool,
}

/// A message the engine wants delivered. Stored as JSON in the outbox, so field names are stable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outgoing {
    pub platform: Platform,
    pub chat_id: String,
    /// Plain text (no markup): adapters send it as is.
    pub text: String,
    /// Rows of buttons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Vec<Button>>,
    /// Replace the text (and buttons) of this earlier message instead of sending a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Document>,
    /// More files, for the channels that carry several (a mail: the proposal's spreadsheet).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Document>,
}

impl Outgoing {
    /// A message of plain text. What people wrote travels in it (names, questions, reasons), so invisible
    /// bidirectional controls are dropped here, once for every message of every channel.
    pub fn text(platform: Platform, chat_id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            platform,
            chat_id: chat_id.into(),
            text: essaim_core::without_hidden_controls(text.into()),
            buttons: Vec::new(),
            edit_message_id: None,
            document: None,
            attachments: Vec::new(),
        }
    }

    /// Replaces the earlier message `message_id` when there is one (a pressed button's message: it loses
    /// its buttons), else is sent as a new message.
    pub fn replacing(mut self, message_id: Option<&str>) -> Self {
        self.edit_message_id = message_id.map(str::to_owned);
        self
    }

    pub fn with_buttons(mut self, buttons: Vec<Vec<Button>>) -> Self {
        self.buttons = buttons;
        self
    }
}
