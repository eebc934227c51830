//! Sending by SMTP: the dispatcher's [`Sender`] for the e-mail platform. Same outbox, same retries and
//! failure notices as the bots; an SMTP 4xx is transient, a 5xx permanent.

use std::time::Duration;

use chrono::Utc;
use essaim_chat::{Outgoing, Platform, SendOutcome, Sender};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tracing::Instrument;

use crate::render::{self, ComposeError, Links};

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain connection upgraded with STARTTLS (submission, port 587): required, never skipped.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: a relay on the same host, and the tests. Refused with credentials.
    Plain,
}

impl std::str::FromStr for Security {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "starttls" => Ok(Self::StartTls),
            "tls" => Ok(Self::Tls),
            "plain" => Ok(Self::Plain),
            other => Err(format!("« {other} » is not an SMTP security (starttls, tls or plain)")),
        }
    }
}

/// Where and how to send.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// User name and password, from the environment only.
    pub credentials: Option<(String, String)>,
    pub from: Mailbox,
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password; the user name is not a secret but stays out of logs too.
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("credentials", &self.credentials.as_ref().map(|_| "…"))
            .field("from", &self.from.to_string())
            .finish()
    }
}

/// Sends the outbox's e-mail messages through one SMTP server (a pool of connections).
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    links: Links,
}

impl SmtpSender {
    pub fn new(settings: &SmtpSettings, links: Links) -> Result<Self, String> {
        let builder = match settings.security {
            Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
                .map_err(|e| format!("SMTP server {}: {e}", settings.host))?,
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host)
                .map_err(|e| format!("SMTP server {}: {e}", settings.host))?,
            Security::Plain => {
                if settings.credentials.is_some() {
                    return Err("SMTP credentials over a plain connection would travel in clear: use \
                                starttls or tls"
                        .into());
                }
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            }
        };
        let mut builder = builder.port(settings.port).timeout(Some(settings.timeout));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self { transport: builder.build(), from: settings.from.clone(), links })
    }
}

impl Sender for SmtpSender {
    async fn send(&self, key: &str, message: &Outgoing) -> SendOutcome {
        let span = tracing::info_span!("smtp send", key);
        async {
            if message.platform != Platform::Email {
                return SendOutcome::Permanent(format!("a {} message reached the e-mail sender", message.platform));
            }
            let mail = match render::compose(key, message, &self.from, &self.links, Utc::now()) {
                Ok(mail) => mail,
                Err(e @ (ComposeError::Address(_) | ComposeError::Build(_))) => {
                    return SendOutcome::Permanent(e.to_string());
                }
            };
            let id = render::message_id(key, &self.from);
            let outcome = match self.transport.send(mail).await {
                Ok(_) => SendOutcome::Sent { message_id: id },
                Err(e) if e.is_permanent() => SendOutcome::Permanent(format!("SMTP: {e}")),
                // 4xx, a refused or cut connection, a timeout: the server may take it later.
                Err(e) => SendOutcome::Transient(format!("SMTP: {e}")),
            };
            outcome.trace(Platform::Email);
            outcome
        }
        .instrument(span)
        .await
    }
}
