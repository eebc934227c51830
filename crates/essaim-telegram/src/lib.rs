//! Telegram adapter of essaim: Telegram updates in ([`translate`], [`run_polling`],
//! [`webhook_router`]), engine messages out ([`TelegramSender`]).
//!
//! What this crate must not do: decide anything. It translates Telegram <-> the platform-neutral
//! types of `essaim-chat` ([`essaim_chat::Incoming`], [`essaim_chat::Outgoing`]) and moves them
//! over the Bot API; every business rule lives in the conversation engine.
//!
//! With the `fake` feature, [`fake::FakeTelegram`] is a Bot API server on loopback that tests (of
//! this crate and of the others) point the real client at.

use std::fmt;
use std::time::Duration;

use teloxide::Bot;

#[cfg(feature = "fake")]
pub mod fake;
mod menu;
mod polling;
mod sender;
mod translate;
mod webhook;

pub use menu::{menu, set_menus};
pub use polling::{STAND_BY_RETRY, run_polling, run_polling_elected};
pub use sender::{TelegramSender, message_parts};
pub use translate::{Translated, translate};
pub use webhook::{MAX_UPDATE_BYTES, SECRET_HEADER, WEBHOOK_PATH, webhook_router};

/// How the adapter reaches Telegram.
#[derive(Clone)]
pub struct TelegramConfig {
    /// The bot token from @BotFather. Never logged.
    pub token: String,
    /// Base URL of the Bot API (`https://api.telegram.org` when `None`); a loopback fake in tests.
    pub api_url: Option<String>,
    /// How long one `getUpdates` call waits for updates (long polling).
    pub poll_timeout: Duration,
    /// The `secret_token` given to `setWebhook`; webhook mode refuses requests without it.
    pub webhook_secret: Option<String>,
}

impl TelegramConfig {
    /// A configuration for the real Telegram, long polling with a 30 s timeout.
    pub fn new(token: impl Into<String>) -> Self {
        Self { token: token.into(), api_url: None, poll_timeout: Duration::from_secs(30), webhook_secret: None }
    }
}

impl fmt::Debug for TelegramConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramConfig")
            .field("token", &"<redacted>")
            .field("api_url", &self.api_url)
            .field("poll_timeout", &self.poll_timeout)
            .field("webhook_secret", &self.webhook_secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What can go wrong in the adapter itself (sending outcomes are [`essaim_chat::SendOutcome`]s).
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    #[error("the Telegram API URL `{url}` is not usable: {reason} (expected e.g. https://api.telegram.org)")]
    InvalidApiUrl { url: String, reason: String },
    #[error("cannot set up the HTTP client for Telegram: {0}")]
    HttpClient(String),
    #[error("Telegram refused the bot token: check telegram.token (the token given by @BotFather)")]
    InvalidToken,
}

/// Extra time the HTTP client waits beyond the long-polling timeout before giving up a request.
const HTTP_MARGIN: Duration = Duration::from_secs(10);
/// teloxide's own default request timeout; kept when the polling timeout is shorter.
const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(17);

/// The Bot API client for `config`: its HTTP timeout outlasts `poll_timeout` (so long polls are not
/// cut short), and it talks to `api_url` when one is configured (a trailing `/` is dropped).
///
/// Never `{:?}` the returned `Bot`: teloxide's `Debug` shows the token.
pub fn bot(config: &TelegramConfig) -> Result<Bot, TelegramError> {
    let timeout = DEFAULT_HTTP_TIMEOUT.max(config.poll_timeout + HTTP_MARGIN);
    let client = teloxide::net::default_reqwest_settings()
        .timeout(timeout)
        .build()
        .map_err(|e| TelegramError::HttpClient(e.to_string()))?;
    let bot = Bot::with_client(config.token.clone(), client);
    match &config.api_url {
        None => Ok(bot),
        Some(raw) => Ok(bot.set_api_url(parse_api_url(raw)?)),
    }
}

fn parse_api_url(raw: &str) -> Result<url::Url, TelegramError> {
    let invalid = |reason: &str| TelegramError::InvalidApiUrl { url: raw.to_owned(), reason: reason.to_owned() };
    let mut url = url::Url::parse(raw.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(invalid("it must be an http:// or https:// URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or a fragment"));
    }
    // teloxide appends `/bot<token>/<method>` as path segments: a trailing slash would double.
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(if path.is_empty() { "/" } else { &path });
    Ok(url)
}

/// `message` without the bot token (reqwest errors quote the request URL, which contains it).
pub(crate) fn redact(message: impl fmt::Display, token: &str) -> String {
    let message = message.to_string();
    if token.is_empty() { message } else { message.replace(token, "<token>") }
}

/// Exponential backoff used while Telegram or the handler fails: 1 s, 2 s, 4 s … capped at 30 s.
pub(crate) fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.min(5)).min(Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_token_and_secret() {
        let mut config = TelegramConfig::new("123456:SECRET-TOKEN");
        config.webhook_secret = Some("hush-hush".into());
        let shown = format!("{config:?}");
        assert!(!shown.contains("SECRET-TOKEN"), "{shown}");
        assert!(!shown.contains("hush-hush"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn api_url_is_normalised_and_validated() {
        let mut config = TelegramConfig::new("1:T");
        config.api_url = Some("http://127.0.0.1:8081/tg/".into());
        let client = bot(&config).expect("valid URL");
        assert_eq!(client.api_url().as_str(), "http://127.0.0.1:8081/tg");

        config.api_url = Some("http://127.0.0.1:8081/".into());
        let client = bot(&config).expect("valid URL");
        assert_eq!(client.api_url().as_str(), "http://127.0.0.1:8081/");

        for wrong in ["not a url", "ftp://example.com/", "mailto:x@y.z", "http://h/?a=b"] {
            config.api_url = Some(wrong.into());
            let err = bot(&config).expect_err(wrong);
            assert!(err.to_string().contains(wrong), "{err}");
        }
    }

    #[test]
    fn default_api_url_is_telegram() {
        let client = bot(&TelegramConfig::new("1:T")).expect("client");
        assert_eq!(client.api_url().as_str(), "https://api.telegram.org/");
    }

    #[test]
    fn redact_removes_the_token() {
        let text = "error sending request for url (https://api.telegram.org/bot1:ABC/getMe)";
        assert_eq!(redact(text, "1:ABC"), "error sending request for url (https://api.telegram.org/bot<token>/getMe)");
    }

    #[test]
    fn backoff_doubles_then_caps() {
        let secs: Vec<u64> = (0..8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
