//! Persistence of essaim: the directory of inclusive structures (suppliers, capacities, groupements), tenders and their
//! lines, allocation runs with their micro-lots and shortfalls, and an append-only event log, on
//! SQLite (the embedded default) or PostgreSQL (shared state for several replicas), chosen by the URL.
//!
//! What this crate must not do: decide anything. There are no business rules here: the domain
//! (`essaim-core`) validates and decides, the store records. The only refusals are the ones a ledger
//! owes its users: no silent overwrite of a tender, no reference to a supplier, groupement or tender
//! that does not exist, no rewriting of history (events are append-only, enforced by the database).
//! Every state change is written in one transaction together with the event that tells it.
//!
//! # One SQL text, two typed drivers
//! The store holds an enum of typed pools (`SqlitePool` / `PgPool`) rather than `sqlx::Any`. Every
//! query is written once, with `$1`-style placeholders that both SQLite and PostgreSQL accept, inside a
//! small macro (`with_pool!`, `in_transaction!`) that compiles the same body once per driver. We
//! chose this over `sqlx::Any` because it keeps native types on both sides (`TIMESTAMPTZ` and `DATE` on
//! PostgreSQL, `DateTime<Utc>` / `NaiveDate` in Rust), native connect options on SQLite (WAL,
//! `synchronous=FULL`, foreign keys, busy timeout, create-if-missing), and lets a backend-specific
//! statement (`BEGIN IMMEDIATE` on SQLite, later `FOR UPDATE SKIP LOCKED` on PostgreSQL) sit in its own
//! arm without a runtime string switch. Both arms are type-checked by the compiler on every build.
//!
//! Floats are stored as `REAL` / `DOUBLE PRECISION` and round-trip exactly. A tender's deadline is
//! stored as RFC 3339 text on both backends so that the offset the buyer wrote is kept.

#[macro_use]
mod macros;

mod access;
mod allocations;
mod campaigns;
mod chat;
mod claimant;
mod directory;
mod erasure;
mod error;
mod events;
mod gauges;
mod holdings;
mod jobs;
mod leader;
mod outbox;
mod proposals;
mod send_waits;
mod sent;
mod store;
mod tenders;
mod transfer;

#[cfg(feature = "testing")]
pub mod testing;

pub use access::{ApiToken, TOKENS_STREAM};
pub use allocations::AllocationRecord;
pub use campaigns::{
    Applied, CampaignAppend, CampaignLog, CampaignSummary, CapacityChange, Changeset, NewEvent, NewInvite, PriceChange,
    campaign_stream,
};
pub use chat::{ACCOUNTS_STREAM, AccountLink, ChatAccount, INVITES_STREAM, InboxKey, Invite};
pub use claimant::{Claimant, DispatcherLock};
pub use directory::{ImportSummary, UnknownCapacity};
pub use erasure::{ACCOUNT_FORGOTTEN, Forget, redact};
pub use error::StoreError;
pub use events::{DIRECTORY_STREAM, Event, MAIL_PREFERENCE, mailbox_stream, supplier_stream, tender_stream};
pub use holdings::CapacityContext;
pub use leader::Leadership;
pub use outbox::{NewOutgoing, OutboxMessage, OutboxStatus, RETENTION_STREAM};
pub use proposals::ProposalSources;
pub use sent::SentMessage;
pub use store::{Backend, Store};
pub use tenders::TenderSummary;
pub use transfer::{EXPORT_FORMAT_VERSION, TransferSummary};
