//! Engine messages out: [`DiscordSender`] implements [`essaim_chat::Sender`] over Discord's REST API.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use essaim_chat::{Button, ButtonTone, Document, Outgoing, Platform, SendOutcome, Sender};
use reqwest::header::HeaderMap;
use serde_json::Value;
use serenity::all::ButtonStyle;
use serenity::builder::{CreateActionRow, CreateAttachment, CreateButton, CreateMessage, EditMessage};
use serenity::http::{Http, LightMethod, Multipart, MultipartUpload, Request, Route};
use serenity::model::channel::Nonce;
use serenity::model::id::{ChannelId, MessageId};
use tracing::Instrument;

use crate::QUANTITY_MARKER;

/// Discord's limit on a message's content, in characters.
pub(crate) const CONTENT_LIMIT: usize = 2000;
/// Longest wait the sender sleeps through itself to respect a rate-limit bucket; a longer one is
/// handed back to the dispatcher as [`SendOutcome::RetryAfter`].
const MAX_PACE: Duration = Duration::from_secs(5);
/// Longest one REST call may take before it counts as a network failure.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends engine messages through Discord's REST API.
///
/// - text with its buttons -> `POST /channels/{chat}/messages`, one action row per button row;
///   « Accepter » is green (success), « Refuser » red (danger), the others blurple (primary); a
///   button with [`Button::asks_quantity`] gets `custom_id` = `q|` + data, so that pressing it
///   opens a form. Each post carries a `nonce` derived from the outbox key with
///   `enforce_nonce: true`: a retry after a crash returns the message already posted instead of
///   posting twice (Discord keeps nonces a few minutes). A text over 2000 characters goes as
///   several messages cut at line ends (each with its own nonce), the buttons under the last one;
/// - `edit_message_id` -> `PATCH /channels/{chat}/messages/{id}` with the new text and buttons (no
///   buttons clears them);
/// - `document` -> attached to the message (multipart); with an edit, posted after it.
///
/// The rate limiter of serenity is not used (see [`crate::http`]): the sender reads the
/// `X-RateLimit-*` headers of each answer and waits for an exhausted bucket (up to 5 s, else
/// [`SendOutcome::RetryAfter`]). Errors: 429 -> [`SendOutcome::RetryAfter`] (Discord's
/// `retry_after`); network failures, timeouts and 5xx -> [`SendOutcome::Transient`]; other 4xx
/// (unknown channel, missing access, bad request) -> [`SendOutcome::Permanent`] with Discord's
/// message.
#[derive(Clone)]
pub struct DiscordSender {
    inner: Arc<Inner>,
}

struct Inner {
    http: Arc<Http>,
    client: reqwest::Client,
    /// Rate-limit bucket (method and channel) -> exhausted until then.
    buckets: Mutex<HashMap<String, Instant>>,
}

impl DiscordSender {
    pub fn new(http: Arc<Http>) -> Self {
        let client =
            reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build().unwrap_or_else(|_| reqwest::Client::new());
        Self { inner: Arc::new(Inner { http, client, buckets: Mutex::new(HashMap::new()) }) }
    }
}

impl fmt::Debug for DiscordSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordSender").field("api_url", &self.inner.http.proxy).finish_non_exhaustive()
    }
}

impl Sender for DiscordSender {
    fn send(&self, key: &str, message: &Outgoing) -> impl Future<Output = SendOutcome> + Send {
        let span = tracing::info_span!("discord_send", key, chat_id = %message.chat_id);
        let inner = Arc::clone(&self.inner);
        let key = key.to_owned();
        let message = message.clone();
        async move {
            let outcome = inner.send(&key, &message).await;
            outcome.trace(essaim_chat::Platform::Discord);
            outcome
        }
        .instrument(span)
    }
}

/// The `nonce` of part `part` of the outbox message `key`: base36 of a 64-bit FNV-1a hash (at
/// most 13 characters; Discord accepts 25), the same in every process and version.
pub fn nonce_for(key: &str, part: usize) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(key.as_bytes());
    if part > 0 {
        feed(format!("#{part}").as_bytes());
    }
    base36(hash)
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::with_capacity(13);
    loop {
        out.push(DIGITS[usize::try_from(n % 36).unwrap_or(0)]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The components of `rows`: one action row per (non-empty) row of buttons.
pub(crate) fn components_of(rows: &[Vec<Button>]) -> Vec<CreateActionRow> {
    rows.iter()
        .filter(|row| !row.is_empty())
        .map(|row| CreateActionRow::Buttons(row.iter().map(button_of).collect()))
        .collect()
}

fn attachment_of(document: &Document) -> CreateAttachment {
    CreateAttachment::bytes(document.content.clone().into_bytes(), document.file_name.clone())
}

fn button_of(button: &Button) -> CreateButton {
    let custom_id =
        if button.asks_quantity { format!("{QUANTITY_MARKER}{}", button.data) } else { button.data.clone() };
    let style = match button.tone() {
        ButtonTone::Positive => ButtonStyle::Success,
        ButtonTone::Negative => ButtonStyle::Danger,
        ButtonTone::Neutral => ButtonStyle::Primary,
    };
    CreateButton::new(custom_id).label(button.label.clone()).style(style)
}

impl Inner {
    async fn send(&self, key: &str, message: &Outgoing) -> SendOutcome {
        if message.platform != Platform::Discord {
            return SendOutcome::Permanent(format!("a {} message was handed to the Discord sender", message.platform));
        }
        let Some(channel) = parse_id(&message.chat_id).map(ChannelId::new) else {
            return SendOutcome::Permanent(format!("`{}` is not a Discord channel id", message.chat_id));
        };
        if let Some(raw) = &message.edit_message_id {
            let Some(message_id) = parse_id(raw).map(MessageId::new) else {
                return SendOutcome::Permanent(format!("`{raw}` is not a Discord message id: cannot edit it"));
            };
            if let Err(outcome) = self.edit(channel, message_id, message).await {
                return outcome;
            }
            if let Some(document) = &message.document {
                let post = CreateMessage::new().nonce(Nonce::String(nonce_for(key, 1))).enforce_nonce(true);
                if let Err(outcome) = self.post(channel, post, Some(attachment_of(document))).await {
                    return outcome;
                }
            }
            return SendOutcome::Sent { message_id: message_id.get().to_string() };
        }

        let chunks = split_content(&message.text, CONTENT_LIMIT);
        let last = chunks.len().saturating_sub(1);
        let mut sent = None;
        for (index, chunk) in chunks.into_iter().enumerate() {
            let mut post = CreateMessage::new().nonce(Nonce::String(nonce_for(key, index))).enforce_nonce(true);
            if !chunk.is_empty() {
                post = post.content(chunk);
            }
            let mut file = None;
            if index == last {
                post = post.components(components_of(&message.buttons));
                file = message.document.as_ref().map(attachment_of);
            }
            match self.post(channel, post, file).await {
                Ok(id) => sent = Some(id),
                Err(outcome) => return outcome,
            }
        }
        match sent {
            Some(id) => SendOutcome::Sent { message_id: id },
            None => SendOutcome::Permanent("nothing to send: the message is empty".into()),
        }
    }

    /// `POST /channels/{channel}/messages`; `Ok` carries the id of the message.
    async fn post(
        &self,
        channel: ChannelId,
        post: CreateMessage,
        file: Option<CreateAttachment>,
    ) -> Result<String, SendOutcome> {
        let route = Route::ChannelMessages { channel_id: channel };
        let request = request_with(Request::new(route, LightMethod::Post), post, file)?;
        let answer = self.call(format!("POST {channel}"), request).await?;
        message_id_of(&answer)
    }

    /// `PATCH /channels/{channel}/messages/{id}`: new text, new buttons (none clears them).
    async fn edit(&self, channel: ChannelId, id: MessageId, message: &Outgoing) -> Result<String, SendOutcome> {
        let edit = EditMessage::new()
            .content(truncate(&message.text, CONTENT_LIMIT))
            .components(components_of(&message.buttons));
        let body =
            serde_json::to_vec(&edit).map_err(|e| SendOutcome::Permanent(format!("cannot encode the edit: {e}")))?;
        let request = Request::new(Route::ChannelMessage { channel_id: channel, message_id: id }, LightMethod::Patch)
            .body(Some(body));
        let answer = self.call(format!("PATCH {channel}"), request).await?;
        message_id_of(&answer)
    }

    /// One REST call, paced by its rate-limit bucket; `Ok` carries the JSON answer.
    async fn call(&self, bucket: String, request: Request<'_>) -> Result<Value, SendOutcome> {
        if let Some(wait) = self.blocked(&bucket) {
            if wait > MAX_PACE {
                return Err(SendOutcome::RetryAfter(wait));
            }
            tracing::debug!(wait_ms = wait.as_millis(), "waiting for the rate-limit bucket");
            tokio::time::sleep(wait).await;
        }
        let built = request
            .build(&self.client, self.http.token(), self.http.proxy.as_deref())
            .map_err(|e| SendOutcome::Permanent(format!("cannot build the request: {e}")))?
            .build()
            .map_err(|e| SendOutcome::Permanent(format!("cannot build the request: {e}")))?;
        let response = self
            .client
            .execute(built)
            .await
            .map_err(|e| SendOutcome::Transient(format!("cannot reach Discord: {}", e.without_url())))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| SendOutcome::Transient(format!("Discord's answer was cut: {}", e.without_url())))?;
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        self.note_limits(&bucket, &headers);
        if status.is_success() {
            return Ok(json);
        }
        let message = json.get("message").and_then(Value::as_str).unwrap_or("").to_owned();
        let code = json.get("code").and_then(Value::as_i64);
        let what = match code {
            Some(code) => format!("Discord answered {} (code {code}): {message}", status.as_u16()),
            None => format!("Discord answered {}: {message}", status.as_u16()),
        };
        if status.as_u16() == 429 {
            let after = json
                .get("retry_after")
                .and_then(Value::as_f64)
                .or_else(|| header_f64(&headers, "retry-after"))
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .unwrap_or(Duration::from_secs(1));
            self.block(&bucket, after);
            return Err(SendOutcome::RetryAfter(after));
        }
        if status.is_server_error() { Err(SendOutcome::Transient(what)) } else { Err(SendOutcome::Permanent(what)) }
    }

    fn blocked(&self, bucket: &str) -> Option<Duration> {
        let buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let until = buckets.get(bucket)?;
        until.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
    }

    fn block(&self, bucket: &str, wait: Duration) {
        let until = Instant::now() + wait;
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        buckets.retain(|_, t| *t > now);
        let slot = buckets.entry(bucket.to_owned()).or_insert(until);
        *slot = (*slot).max(until);
    }

    /// An exhausted bucket (`X-RateLimit-Remaining: 0`) blocks it for `X-RateLimit-Reset-After`.
    fn note_limits(&self, bucket: &str, headers: &HeaderMap) {
        let remaining = header_f64(headers, "x-ratelimit-remaining");
        let reset_after = header_f64(headers, "x-ratelimit-reset-after");
        if let (Some(remaining), Some(reset_after)) = (remaining, reset_after)
            && remaining < 1.0
            && let Ok(wait) = Duration::try_from_secs_f64(reset_after)
        {
            self.block(bucket, wait);
        }
    }
}

/// The request carrying `post`: JSON, or multipart when a file goes with it (part `files[0]`,
/// which `attachments[0].id` = 0 in `payload_json` refers to).
fn request_with(
    request: Request<'_>,
    post: CreateMessage,
    file: Option<CreateAttachment>,
) -> Result<Request<'_>, SendOutcome> {
    let encode = |e: serde_json::Error| SendOutcome::Permanent(format!("cannot encode the message: {e}"));
    match file {
        None => Ok(request.body(Some(serde_json::to_vec(&post).map_err(encode)?))),
        Some(file) => {
            let post = post.add_file(file.clone());
            let payload_json = serde_json::to_string(&post).map_err(encode)?;
            let multipart = Multipart {
                upload: MultipartUpload::Attachments(vec![file]),
                fields: Vec::new(),
                payload_json: Some(payload_json),
            };
            Ok(request.multipart(Some(multipart)))
        }
    }
}

fn message_id_of(answer: &Value) -> Result<String, SendOutcome> {
    answer
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| SendOutcome::Transient("Discord's answer carries no message id".into()))
}

fn header_f64(headers: &HeaderMap, name: &str) -> Option<f64> {
    headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)
}

fn parse_id(raw: &str) -> Option<u64> {
    raw.trim().parse::<u64>().ok().filter(|id| *id != 0)
}

/// `text` cut to at most `max` characters, ending with `…` when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `text` in chunks of at most `max` characters, cut at line ends (a longer line is cut anywhere).
/// An empty text stays one empty chunk.
pub(crate) fn split_content(text: &str, max: usize) -> Vec<String> {
    if text.chars().count() <= max {
        return vec![text.to_owned()];
    }
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for line in text.split_inclusive('\n') {
        let mut rest: Vec<char> = line.chars().collect();
        while !rest.is_empty() {
            let room = max - current_len;
            if rest.len() > room && current_len > 0 {
                chunks.push(std::mem::take(&mut current));
                current_len = 0;
                continue;
            }
            let take = rest.len().min(max);
            current.extend(rest.drain(..take));
            current_len += take;
        }
    }
    chunks.push(current);
    chunks.into_iter().map(|c| c.trim_end_matches('\n').to_owned()).filter(|c| !c.trim().is_empty()).collect()
}
