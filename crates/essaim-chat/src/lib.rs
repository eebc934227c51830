//! The one conversation engine of essaim. Adapters (Telegram, Discord) translate their updates into
//! [`Incoming`] and hand them to the [`Engine`]; the engine checks who may do what, decides with the
//! domain (`essaim-core`) and the solver, and records the decision, the incoming update (inbox) and the
//! messages it causes (outbox) in one transaction; the [`Dispatcher`] delivers the outbox through the
//! [`Sender`] each adapter implements; the [`Scheduler`] expires offers, closes campaigns at their
//! deadline and sends reminders.
//!
//! What this crate must not do: know Telegram or Discord. No platform type appears here.

pub mod campaigns;
pub mod command;
pub mod dispatch;
pub mod engine;
pub mod message;
pub mod scheduler;
pub mod settings;
pub mod texts;

pub use command::Command;
pub use dispatch::{Dispatcher, FAILURE_NOTICE_PREFIX, Limits, SendOutcome, Sender};
pub use engine::{Engine, Handled};
pub use message::{Button, ButtonTone, ChatKind, Document, Incoming, IncomingKind, Outgoing, Platform};
pub use scheduler::{Retention, Scheduler};
pub use settings::{EngineSettings, ProposalDelivery};

/// Why the engine could not handle something. Nothing was recorded: the update may be delivered again.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] essaim_store::StoreError),
    #[error("allocation failed: {0}")]
    Solver(String),
    #[error("stored campaign is inconsistent: {0}")]
    Corrupt(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("the campaign kept changing while deciding; try again")]
    Busy,
}
