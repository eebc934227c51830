//! The append-only event log. Every repository method writes its event in the same transaction as
//! the state change it tells; no code path updates or deletes an event, and the database refuses it
//! (triggers in the migrations).

use chrono::{DateTime, Utc};
use essaim_core::{Siret, TenderRef};

use crate::{Store, StoreError};

/// The stream of directory imports.
pub const DIRECTORY_STREAM: &str = "directory";

/// The stream of one tender's life: `tender:T-2026-001`.
pub fn tender_stream(reference: &TenderRef) -> String {
    format!("tender:{reference}")
}

/// The stream of one supplier's changes: `supplier:73282932000074`.
pub fn supplier_stream(siret: &Siret) -> String {
    format!("supplier:{siret}")
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Position in the whole log; increases with every append.
    pub seq: i64,
    pub stream: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub recorded_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    stream: String,
    kind: String,
    payload: String,
    recorded_at: DateTime<Utc>,
}

impl Store {
    /// Appends an event to `stream` and returns its `seq`.
    #[tracing::instrument(skip(self, payload))]
    pub async fn append_event(&self, stream: &str, kind: &str, payload: &serde_json::Value) -> Result<i64, StoreError> {
        let seq = with_pool!(self, |pool| insert_event!(pool, stream, kind, payload));
        Ok(seq)
    }

    /// The events of one stream, oldest first (by `seq`).
    #[tracing::instrument(skip(self))]
    pub async fn events(&self, stream: &str) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<EventRow> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT seq, stream, kind, payload, recorded_at FROM events \
                 WHERE stream = $1 ORDER BY seq",
            )
            .bind(stream)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|row| {
                let payload = serde_json::from_str(&row.payload).map_err(|e| {
                    StoreError::corrupt(format!("event row (seq {}): payload is not JSON: {e}", row.seq))
                })?;
                Ok(Event { seq: row.seq, stream: row.stream, kind: row.kind, payload, recorded_at: row.recorded_at })
            })
            .collect()
    }
}

/// The stream of one mailbox's choices (`mailbox:direction@atelier.example`): the e-mail channel has no
/// account row, the address is the identity.
pub fn mailbox_stream(address: &str) -> String {
    format!("mailbox:{}", address.trim().to_lowercase())
}

/// The event kind of a mailbox's choice about non-essential mail.
pub const MAIL_PREFERENCE: &str = "mail_preference";

impl Store {
    /// Whether `address` still takes non-essential mail (reminders): yes until it says otherwise; the
    /// latest choice wins.
    #[tracing::instrument(skip(self))]
    pub async fn wants_reminder_mail(&self, address: &str) -> Result<bool, StoreError> {
        let events = self.events(&mailbox_stream(address)).await?;
        Ok(events
            .iter()
            .rev()
            .filter(|e| e.kind == MAIL_PREFERENCE)
            .find_map(|e| e.payload.get("reminders").and_then(serde_json::Value::as_bool))
            .unwrap_or(true))
    }

    /// Records a mailbox's choice about reminders (the event is the state). Returns whether it changed
    /// anything: the same choice twice is recorded once.
    #[tracing::instrument(skip(self))]
    pub async fn set_reminder_mail(&self, address: &str, wanted: bool) -> Result<bool, StoreError> {
        if self.wants_reminder_mail(address).await? == wanted {
            return Ok(false);
        }
        let payload = serde_json::json!({ "address": address.trim().to_lowercase(), "reminders": wanted });
        self.append_event(&mailbox_stream(address), MAIL_PREFERENCE, &payload).await?;
        Ok(true)
    }
}
