//! Discord adapter of essaim: Discord interactions in ([`translate`], [`interactions_router`]),
//! engine messages out ([`DiscordSender`]), slash commands ([`commands`], [`register_commands`]).
//!
//! What this crate must not do: decide anything. It translates Discord <-> the platform-neutral
//! types of `essaim-chat` ([`essaim_chat::Incoming`], [`essaim_chat::Outgoing`]) and moves them
//! over Discord's REST API; every business rule lives in the conversation engine.
//!
//! With the `fake` feature, [`fake::FakeDiscord`] is a Discord REST server on loopback that tests
//! (of this crate and of the others) point the real serenity client at.

use std::fmt;
use std::sync::Arc;

use serenity::http::{Http, HttpBuilder};
use serenity::model::id::ApplicationId;

mod commands;
#[cfg(feature = "fake")]
pub mod fake;
#[cfg(feature = "fake")]
pub mod fake_gateway;
pub mod gateway;
mod interactions;
mod sender;
mod translate;

pub use commands::{commands, register_commands};
pub use interactions::{INTERACTIONS_PATH, InteractionsConfig, interactions_router};
pub use sender::DiscordSender;
pub use translate::translate;

/// Prefix of the `custom_id` of a button that asks for a quantity: pressing it opens a modal.
pub const QUANTITY_MARKER: &str = "q|";

/// How the adapter reaches Discord.
#[derive(Clone)]
pub struct DiscordConfig {
    /// The bot token (Developer Portal → Bot). Never logged.
    pub token: String,
    /// The application id (Developer Portal → General Information).
    pub application_id: u64,
    /// The application's Ed25519 public key, in hex (checks the signature of HTTP interactions).
    pub public_key: String,
    /// Base URL of the REST API (`https://discord.com` when `None`); a loopback fake in tests, e.g.
    /// `http://127.0.0.1:PORT`.
    pub api_url: Option<String>,
}

impl fmt::Debug for DiscordConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordConfig")
            .field("token", &"<redacted>")
            .field("application_id", &self.application_id)
            .field("public_key", &self.public_key)
            .field("api_url", &self.api_url)
            .finish()
    }
}

/// What can go wrong in the adapter itself (sending outcomes are [`essaim_chat::SendOutcome`]s).
#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    #[error("the Discord API URL `{url}` is not usable: {reason} (expected e.g. https://discord.com)")]
    InvalidApiUrl { url: String, reason: String },
    #[error("the Discord bot token is empty: set discord.token (Developer Portal → Bot → Token)")]
    MissingToken,
    #[error("the Discord application id is 0: set discord.application_id (Developer Portal → General Information)")]
    MissingApplicationId,
    #[error("Discord refused the request: {0}")]
    Api(String),
}

/// The REST client for `config`. It talks to `api_url` when one is configured, and serenity's own
/// rate limiter is disabled: it would sleep (and retry) for as long as Discord says, holding an
/// outbox lease; [`DiscordSender`] paces itself from the `X-RateLimit-*` headers and reports a 429
/// as [`essaim_chat::SendOutcome::RetryAfter`] instead. Other callers of this client get a 429 as
/// an error.
///
/// Never `{:?}` the returned `Http`.
pub fn http(config: &DiscordConfig) -> Result<Arc<Http>, DiscordError> {
    if config.token.trim().is_empty() {
        return Err(DiscordError::MissingToken);
    }
    if config.application_id == 0 {
        return Err(DiscordError::MissingApplicationId);
    }
    let mut builder = HttpBuilder::new(config.token.trim())
        .application_id(ApplicationId::new(config.application_id))
        .ratelimiter_disabled(true);
    if let Some(raw) = &config.api_url {
        builder = builder.proxy(parse_api_url(raw)?);
    }
    Ok(Arc::new(builder.build()))
}

/// `raw` as a serenity proxy base: scheme and host (and port), no trailing slash.
fn parse_api_url(raw: &str) -> Result<String, DiscordError> {
    let invalid = |reason: &str| DiscordError::InvalidApiUrl { url: raw.to_owned(), reason: reason.to_owned() };
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(invalid("it must be an http:// or https:// URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or a fragment"));
    }
    if !url.path().trim_end_matches('/').is_empty() {
        // serenity replaces `https://discord.com` in `https://discord.com/api/v10/...`.
        return Err(invalid("it must not have a path (the client appends /api/v10/...)"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> DiscordConfig {
        DiscordConfig {
            token: "MTIz.SECRET-TOKEN".into(),
            application_id: 42,
            public_key: "ab".repeat(32),
            api_url: None,
        }
    }

    #[test]
    fn debug_hides_the_token() {
        let shown = format!("{:?}", config());
        assert!(!shown.contains("SECRET-TOKEN"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn api_url_is_validated_and_normalised() {
        let mut config = config();
        config.api_url = Some("http://127.0.0.1:8082/".into());
        let http = http(&config).expect("valid URL");
        assert_eq!(http.proxy.as_deref(), Some("http://127.0.0.1:8082"));
        assert!(http.ratelimiter.is_none());
        assert_eq!(http.application_id(), Some(ApplicationId::new(42)));
        for wrong in ["not a url", "ftp://example.com", "http://h/?a=b", "http://h/api"] {
            config.api_url = Some(wrong.into());
            let err = super::http(&config).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(wrong), "{wrong}: {err}");
        }
    }

    #[test]
    fn empty_token_or_application_is_refused() {
        let mut empty = config();
        empty.token = " ".into();
        assert!(matches!(http(&empty), Err(DiscordError::MissingToken)));
        let mut no_app = config();
        no_app.application_id = 0;
        assert!(matches!(http(&no_app), Err(DiscordError::MissingApplicationId)));
    }
}
