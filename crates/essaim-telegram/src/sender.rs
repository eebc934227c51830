//! Engine messages out: [`TelegramSender`] implements [`essaim_chat::Sender`] over the Bot API.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use essaim_chat::{Button, Outgoing, Platform, SendOutcome, Sender};
use teloxide::payloads::{EditMessageTextSetters, SendDocumentSetters, SendMessageSetters};
use teloxide::prelude::Requester;
use teloxide::types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageId};
use teloxide::{ApiError, Bot, RequestError};
use tracing::Instrument;

use crate::redact;

/// Telegram's limit on a message text, in UTF-16 code units.
pub(crate) const TEXT_LIMIT: usize = 4096;
/// Telegram's limit on a document caption, in UTF-16 code units.
pub(crate) const CAPTION_LIMIT: usize = 1024;

/// Sends engine messages through the Bot API.
///
/// - text, with its buttons as an inline keyboard (`callback_data` = [`Button::data`]) ->
///   `sendMessage`; a text over 4096 characters goes as several messages cut at line ends, the
///   buttons under the last one;
/// - `edit_message_id` -> `editMessageText` with the new buttons (none removes the keyboard); a text
///   too long for one message is shortened with `…`; « message is not modified » counts as sent;
/// - `document` -> `sendDocument` (in-memory file named [`essaim_chat::Document::file_name`]; Telegram
///   infers the type from the name) with the text as caption and the buttons under it; a text over
///   the 1024-character caption limit is sent first as its own message(s), then the document alone
///   with the buttons. With `edit_message_id` as well, the edit comes first, then the document.
///
/// The [`SendOutcome::Sent`] message id is the message that carries the buttons (the edited one for
/// an edit). When a message takes several Bot API calls and one fails, the parts already delivered
/// are remembered under the outbox `key` (in memory) and skipped on the retry, so the user does not
/// see them twice.
///
/// Sends are paced to Telegram's limits: at most one message per second per chat, 30 per second
/// overall (edits are not paced); clones share the pacing, so use one sender (cloned) per bot. Errors: flood control -> [`SendOutcome::RetryAfter`]; network,
/// unreadable answers and 5xx -> [`SendOutcome::Transient`]; Bot API refusals (chat not found, bot
/// blocked, bad request…) -> [`SendOutcome::Permanent`] with Telegram's description.
#[derive(Clone)]
pub struct TelegramSender {
    inner: Arc<Inner>,
}

struct Inner {
    bot: Bot,
    /// Outbox key -> parts already delivered of a message that failed midway.
    progress: Mutex<HashMap<String, Progress>>,
    pacer: Pacer,
}

#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    done: usize,
    primary: Option<i32>,
}

impl TelegramSender {
    pub fn new(bot: Bot) -> Self {
        Self { inner: Arc::new(Inner { bot, progress: Mutex::new(HashMap::new()), pacer: Pacer::default() }) }
    }
}

impl std::fmt::Debug for TelegramSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramSender").field("api_url", &self.inner.bot.api_url().as_str()).finish_non_exhaustive()
    }
}

impl Sender for TelegramSender {
    fn send(&self, key: &str, message: &Outgoing) -> impl Future<Output = SendOutcome> + Send {
        let span = tracing::info_span!("telegram_send", key, chat_id = %message.chat_id);
        let inner = Arc::clone(&self.inner);
        let key = key.to_owned();
        let message = message.clone();
        async move {
            let outcome = inner.send(&key, &message).await;
            outcome.trace(essaim_chat::Platform::Telegram);
            outcome
        }
        .instrument(span)
    }
}

/// One Bot API call of a message.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text { text: String, keyboard: bool },
    Document { caption: Option<String>, keyboard: bool },
    Edit { message_id: i32, text: String },
}

impl Part {
    /// The part whose id is reported: it carries the buttons.
    fn is_primary(&self) -> bool {
        match self {
            Part::Text { keyboard, .. } | Part::Document { keyboard, .. } => *keyboard,
            Part::Edit { .. } => true,
        }
    }
}

/// The Bot API calls that deliver `message`, in order.
fn plan(message: &Outgoing) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    if let Some(raw) = &message.edit_message_id {
        let message_id =
            raw.trim().parse::<i32>().map_err(|_| format!("`{raw}` is not a Telegram message id: cannot edit it"))?;
        parts.push(Part::Edit { message_id, text: truncate(&message.text, TEXT_LIMIT) });
        if message.document.is_some() {
            parts.push(Part::Document { caption: None, keyboard: false });
        }
        return Ok(parts);
    }
    if message.document.is_some() {
        let caption = if message.text.trim().is_empty() {
            None
        } else if utf16_len(&message.text) <= CAPTION_LIMIT {
            Some(message.text.clone())
        } else {
            parts.extend(
                split_text(&message.text, TEXT_LIMIT).into_iter().map(|text| Part::Text { text, keyboard: false }),
            );
            None
        };
        parts.push(Part::Document { caption, keyboard: true });
        return Ok(parts);
    }
    let chunks = message_parts(&message.text);
    let last = chunks.len().saturating_sub(1);
    parts.extend(chunks.into_iter().enumerate().map(|(i, text)| Part::Text { text, keyboard: i == last }));
    Ok(parts)
}

impl Inner {
    async fn send(&self, key: &str, message: &Outgoing) -> SendOutcome {
        if message.platform != Platform::Telegram {
            return SendOutcome::Permanent(format!("a {} message was handed to the Telegram sender", message.platform));
        }
        let Ok(chat) = message.chat_id.trim().parse::<i64>() else {
            return SendOutcome::Permanent(format!("`{}` is not a Telegram chat id", message.chat_id));
        };
        let parts = match plan(message) {
            Ok(parts) => parts,
            Err(why) => return SendOutcome::Permanent(why),
        };
        let mut progress = self.progress(key);
        for (index, part) in parts.iter().enumerate().skip(progress.done) {
            match self.send_part(ChatId(chat), part, message).await {
                Ok(id) => {
                    progress.done = index + 1;
                    if part.is_primary() {
                        progress.primary = Some(id);
                    }
                }
                Err(outcome) => {
                    let keep = !matches!(outcome, SendOutcome::Permanent(_));
                    self.set_progress(key, (keep && progress.done > 0).then_some(progress));
                    return outcome;
                }
            }
        }
        self.set_progress(key, None);
        match progress.primary {
            Some(id) => SendOutcome::Sent { message_id: id.to_string() },
            None => SendOutcome::Permanent("nothing to send: the message is empty".into()),
        }
    }

    fn progress(&self, key: &str) -> Progress {
        if key.is_empty() {
            return Progress::default();
        }
        let map = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(key).copied().unwrap_or_default()
    }

    fn set_progress(&self, key: &str, progress: Option<Progress>) {
        if key.is_empty() {
            return;
        }
        let mut map = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        match progress {
            Some(progress) => {
                map.insert(key.to_owned(), progress);
            }
            None => {
                map.remove(key);
            }
        }
    }

    /// One Bot API call; `Ok` carries the id of the message sent or edited.
    async fn send_part(&self, chat: ChatId, part: &Part, message: &Outgoing) -> Result<i32, SendOutcome> {
        let bot = &self.bot;
        let fail = |err: RequestError| outcome_of(&err, bot.token());
        match part {
            Part::Text { text, keyboard } => {
                let _slot = self.pacer.acquire(chat.0).await;
                let mut request = bot.send_message(chat, text.as_str());
                if *keyboard && !message.buttons.is_empty() {
                    request = request.reply_markup(keyboard_of(&message.buttons));
                }
                request.await.map(|sent| sent.id.0).map_err(fail)
            }
            Part::Document { caption, keyboard } => {
                let Some(document) = &message.document else {
                    return Err(SendOutcome::Permanent("the document is missing".into()));
                };
                let file =
                    InputFile::memory(document.content.clone().into_bytes()).file_name(document.file_name.clone());
                let _slot = self.pacer.acquire(chat.0).await;
                let mut request = bot.send_document(chat, file);
                if let Some(caption) = caption {
                    request = request.caption(caption.as_str());
                }
                if *keyboard && !message.buttons.is_empty() {
                    request = request.reply_markup(keyboard_of(&message.buttons));
                }
                request.await.map(|sent| sent.id.0).map_err(fail)
            }
            Part::Edit { message_id, text } => {
                let request = bot
                    .edit_message_text(chat, MessageId(*message_id), text.as_str())
                    .reply_markup(keyboard_of(&message.buttons));
                match request.await {
                    Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(*message_id),
                    Err(err) => Err(fail(err)),
                }
            }
        }
    }
}

fn keyboard_of(rows: &[Vec<Button>]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(rows.iter().filter(|row| !row.is_empty()).map(|row| {
        row.iter()
            .map(|button| InlineKeyboardButton::callback(button.label.clone(), button.data.clone()))
            .collect::<Vec<_>>()
    }))
}

/// How a failed Bot API call is reported to the dispatcher.
pub(crate) fn outcome_of(err: &RequestError, token: &str) -> SendOutcome {
    match err {
        RequestError::RetryAfter(seconds) => SendOutcome::RetryAfter(seconds.duration()),
        RequestError::Network(_) | RequestError::Io(_) => SendOutcome::Transient(redact(err, token)),
        RequestError::InvalidJson { raw, .. } => {
            SendOutcome::Transient(format!("unexpected answer from Telegram: {}", redact(truncate(raw, 200), token)))
        }
        RequestError::MigrateToChatId(to) => SendOutcome::Permanent(format!(
            "the group became a supergroup with chat id {}: messages must go there",
            to.0
        )),
        RequestError::Api(api) => {
            let description = api_description(api);
            if let Some(rest) = description.strip_prefix("Too Many Requests") {
                let seconds = rest.rsplit(' ').next().and_then(|n| n.trim().parse::<u64>().ok());
                return match seconds {
                    Some(s) => SendOutcome::RetryAfter(Duration::from_secs(s)),
                    None => SendOutcome::Transient(description),
                };
            }
            const SERVER_ERRORS: [&str; 5] =
                ["Internal Server Error", "Bad Gateway", "Service Unavailable", "Gateway Timeout", "Internal"];
            if SERVER_ERRORS.iter().any(|p| description.starts_with(p)) {
                SendOutcome::Transient(description)
            } else {
                SendOutcome::Permanent(description)
            }
        }
    }
}

/// Telegram's own wording of an API error.
pub(crate) fn api_description(err: &ApiError) -> String {
    match err {
        ApiError::Unknown(description) => description.clone(),
        known => known.to_string(),
    }
}

pub(crate) fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// `text` cut to at most `max` UTF-16 units, ending with `…` when cut.
fn truncate(text: &str, max: usize) -> String {
    if utf16_len(text) <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut units = 1; // the ellipsis
    for c in text.chars() {
        units += c.len_utf16();
        if units > max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// The Telegram messages a text goes out as: itself when it fits in 4096 UTF-16 units, else chunks
/// cut at line ends. Public so that a test can check that every part of a long text arrived.
pub fn message_parts(text: &str) -> Vec<String> {
    split_text(text, TEXT_LIMIT)
}

/// `text` in chunks of at most `max` UTF-16 units (`max` >= 2), cut at line ends; a line longer than
/// `max` is cut at a space when there is one in its second half, else anywhere between characters.
/// Blank chunks are dropped; an empty text stays one empty chunk (Telegram then says why).
pub(crate) fn split_text(text: &str, max: usize) -> Vec<String> {
    if utf16_len(text) <= max {
        return vec![text.to_owned()];
    }
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    fn flush(current: &mut String, chunks: &mut Vec<String>) {
        let chunk = current.trim_end_matches('\n');
        if !chunk.trim().is_empty() {
            chunks.push(chunk.to_owned());
        }
        current.clear();
    }
    for line in text.split_inclusive('\n') {
        for piece in pieces(line, max) {
            let len = utf16_len(piece);
            if current_len + len > max {
                flush(&mut current, &mut chunks);
                current_len = 0;
            }
            current.push_str(piece);
            current_len += len;
        }
    }
    flush(&mut current, &mut chunks);
    if chunks.is_empty() {
        chunks.push(String::new());
    }
    chunks
}

/// `line` cut into slices of at most `max` UTF-16 units.
fn pieces(line: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while utf16_len(rest) > max {
        let (mut units, mut cut, mut space) = (0, 0, None);
        for (i, c) in rest.char_indices() {
            if units + c.len_utf16() > max {
                break;
            }
            units += c.len_utf16();
            cut = i + c.len_utf8();
            if c.is_whitespace() {
                space = Some(cut);
            }
        }
        let cut = match space {
            Some(at) if at > cut / 2 => at,
            _ => cut,
        };
        if cut == 0 {
            break; // max < 2 and a wide character: cannot cut further
        }
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    out.push(rest);
    out
}

/// Spaces sends out so that Telegram's flood limits are not hit: one message per second per chat
/// (counted from the end of the previous send), 30 per second overall.
#[derive(Default)]
struct Pacer {
    state: Mutex<PacerState>,
}

#[derive(Default)]
struct PacerState {
    chats: HashMap<i64, Slot>,
    recent: VecDeque<Instant>,
}

#[derive(Clone, Copy)]
enum Slot {
    Busy,
    FreeSince(Instant),
}

const PER_CHAT: Duration = Duration::from_secs(1);
const GLOBAL_MAX: usize = 30;
/// One second, plus a margin for request latency jitter.
const GLOBAL_WINDOW: Duration = Duration::from_millis(1050);

impl Pacer {
    async fn acquire(&self, chat: i64) -> PacerSlot<'_> {
        loop {
            let wait = {
                let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                while state.recent.front().is_some_and(|t| now.duration_since(*t) >= GLOBAL_WINDOW) {
                    state.recent.pop_front();
                }
                if state.chats.len() > 1024 {
                    state.chats.retain(|_, slot| match slot {
                        Slot::Busy => true,
                        Slot::FreeSince(t) => now.duration_since(*t) < PER_CHAT,
                    });
                }
                let chat_wait = match state.chats.get(&chat) {
                    Some(Slot::Busy) => Some(Duration::from_millis(20)),
                    Some(Slot::FreeSince(t)) => (*t + PER_CHAT).checked_duration_since(now),
                    None => None,
                };
                let global_wait = match state.recent.front() {
                    Some(first) if state.recent.len() >= GLOBAL_MAX => {
                        (*first + GLOBAL_WINDOW).checked_duration_since(now)
                    }
                    _ => None,
                };
                match chat_wait.max(global_wait) {
                    Some(wait) if !wait.is_zero() => wait,
                    _ => {
                        state.chats.insert(chat, Slot::Busy);
                        state.recent.push_back(now);
                        return PacerSlot { pacer: self, chat };
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// A send in progress to one chat; frees the chat (from now + 1 s) when dropped.
struct PacerSlot<'a> {
    pacer: &'a Pacer,
    chat: i64,
}

impl Drop for PacerSlot<'_> {
    fn drop(&mut self) {
        let mut state = self.pacer.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.chats.insert(self.chat, Slot::FreeSince(Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use essaim_chat::Document;

    #[test]
    fn short_text_is_one_chunk() {
        assert_eq!(split_text("Bonjour", 10), vec!["Bonjour"]);
        assert_eq!(split_text("", 10), vec![""]);
    }

    #[test]
    fn long_text_is_cut_at_line_ends() {
        let text = "ligne un\nligne deux\nligne trois\nligne quatre";
        let chunks = split_text(text, 20);
        assert_eq!(chunks, ["ligne un\nligne deux", "ligne trois", "ligne quatre"]);
        assert_eq!(chunks.join("\n"), text);
    }

    #[test]
    fn every_chunk_fits_and_nothing_is_lost() {
        let line = "Lot 3 — nettoyage des bureaux, 120 h à Villeurbanne 🧹 é\n";
        let text = line.repeat(300) + &"x".repeat(9000) + "\n" + &"mot ".repeat(3000);
        let chunks = split_text(&text, TEXT_LIMIT);
        assert!(chunks.len() > 3);
        assert!(chunks.iter().all(|c| utf16_len(c) <= TEXT_LIMIT && !c.is_empty()));
        let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        assert_eq!(squash(&chunks.concat()), squash(&text));
        // Short lines are never broken.
        assert!(chunks[0].ends_with("é"));
    }

    #[test]
    fn wide_characters_count_as_telegram_counts_them() {
        let text = "🧹".repeat(5); // 10 UTF-16 units
        let chunks = split_text(&text, 4);
        assert_eq!(chunks, ["🧹🧹", "🧹🧹", "🧹"]);
        assert_eq!(truncate(&text, 5), "🧹🧹…");
    }

    fn outgoing(text: &str) -> Outgoing {
        Outgoing::text(Platform::Telegram, "42", text)
    }

    #[test]
    fn plans() {
        let text = outgoing("hello");
        assert_eq!(plan(&text), Ok(vec![Part::Text { text: "hello".into(), keyboard: true }]));

        let mut doc = outgoing("Votre proposition");
        doc.document = Some(Document {
            file_name: "p.html".into(),
            mime_type: "text/html".into(),
            content: "<p>".into(),
            base64: false,
        });
        assert_eq!(plan(&doc), Ok(vec![Part::Document { caption: Some("Votre proposition".into()), keyboard: true }]));
        doc.text = "a\n".repeat(600);
        let parts = plan(&doc).expect("plan");
        assert_eq!(parts.len(), 2);
        assert!(matches!(parts[0], Part::Text { keyboard: false, .. }));
        assert!(matches!(parts[1], Part::Document { caption: None, keyboard: true }));

        let mut edit = outgoing("x");
        edit.edit_message_id = Some("7".into());
        assert_eq!(plan(&edit), Ok(vec![Part::Edit { message_id: 7, text: "x".into() }]));
        edit.edit_message_id = Some("seven".into());
        assert!(plan(&edit).is_err());
    }

    #[test]
    fn api_errors_are_classified() {
        let api = |d: &str| RequestError::Api(ApiError::Unknown(d.into()));
        assert_eq!(
            outcome_of(&api("Internal Server Error"), "t"),
            SendOutcome::Transient("Internal Server Error".into())
        );
        assert_eq!(
            outcome_of(&api("Too Many Requests: retry after 7"), "t"),
            SendOutcome::RetryAfter(Duration::from_secs(7))
        );
        assert_eq!(
            outcome_of(&RequestError::Api(ApiError::BotBlocked), "t"),
            SendOutcome::Permanent("Forbidden: bot was blocked by the user".into())
        );
        assert_eq!(
            outcome_of(&api("Bad Request: chat not found"), "t"),
            SendOutcome::Permanent("Bad Request: chat not found".into())
        );
    }
}
