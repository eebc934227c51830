//! Campaigns (the workflow around one tender) as an event stream with a version, and
//! [`Store::apply`]: the one transaction in which the chat engine records a decision with everything
//! it causes (the update handled, the campaign events, the account linked, the messages to send).

mod apply;

use chrono::{DateTime, Utc};
use essaim_core::{Role, Sector, Siret, TenderRef};

use crate::chat::{AccountLink, InboxKey};
use crate::erasure::Forget;
use crate::events::Event;
use crate::outbox::NewOutgoing;
use crate::store::now;
use crate::{Store, StoreError};

/// The stream of one campaign's events: `campaign:T-2026-001`.
pub fn campaign_stream(tender: &TenderRef) -> String {
    format!("campaign:{tender}")
}

/// An event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: String,
    pub payload: serde_json::Value,
}

/// Events to append to a campaign's stream, provided nobody appended since the caller read it.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignAppend {
    pub tender: TenderRef,
    /// The version the caller decided on (`CampaignLog::version`; 0 for a campaign not started).
    pub expected_version: i64,
    /// The campaign's status after these events (the domain's word; the store does not interpret it).
    pub status: String,
    pub events: Vec<NewEvent>,
    /// What structures hold on this tender after these events (open and accepted offers): replaces the
    /// stored projection, in the same transaction.
    pub holdings: Vec<essaim_core::Holding>,
    /// The structures this decision offers new hours to, each with the booking version the decision read
    /// ([`crate::CapacityContext::booking_versions`]). If another decision booked one of them since, the
    /// append is a [`Applied::Conflict`]: two tenders never book the same hours on one read.
    pub bookings: Vec<(String, i64)>,
}

/// A supplier's capacity in one sector, as [`Store::set_capacity`] records it.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityChange {
    pub supplier: Siret,
    pub sector: Sector,
    pub quantity: f64,
}

/// A supplier's own price per unit in one sector (`/tarif`); `None` removes it.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceChange {
    pub supplier: Siret,
    pub sector: Sector,
    pub unit_price: Option<f64>,
}

/// Everything one decision changes, written by [`Store::apply`] in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changeset {
    /// The update that led to the decision: a second delivery of it changes nothing.
    pub inbox: Option<InboxKey>,
    pub campaign: Option<CampaignAppend>,
    /// Other events: `(stream, event)`.
    pub events: Vec<(String, NewEvent)>,
    /// Messages to send; a key already queued is not queued again.
    pub outbox: Vec<NewOutgoing>,
    /// Upsert on `(platform, user_id)`; clears what the account was awaiting.
    pub link: Option<AccountLink>,
    /// An invite code to use up: it must be unused and unexpired at commit.
    pub consume_invite: Option<String>,
    /// `(platform, user_id, awaiting)`: sets (`Some`) or clears (`None`) the button data of an offer
    /// waiting for a typed quantity. The account must exist.
    pub awaiting: Option<(String, String, Option<String>)>,
    pub capacity: Option<CapacityChange>,
    pub price: Option<PriceChange>,
    /// Invite codes to create (a groupement invited by mail: the codes and their mails in one write).
    pub new_invites: Vec<NewInvite>,
    /// A person who asked to be forgotten (see [`crate::erasure`]): the account must exist, else
    /// [`Applied::Conflict`].
    pub forget: Option<Forget>,
}

/// An invite code to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInvite {
    pub code: String,
    /// A supplier (with its `supplier`) or a facilitator; a buyer's invite is [`Store::create_buyer_invite`].
    pub role: Role,
    pub supplier: Option<Siret>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The territory of a facilitator's invite, passed on to the account it links; `None` for a facilitator
    /// is national (every tender), as were all invites before scopes. Ignored for other roles.
    pub scope: Option<essaim_core::Scope>,
}

/// What [`Store::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Everything was written.
    Done,
    /// The update was already handled: nothing was written.
    Duplicate,
    /// The state changed under the caller (campaign version moved, invite used or expired, account
    /// gone): nothing was written; re-read and decide again.
    Conflict,
}

/// A campaign's events and the version to expect when appending to it.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignLog {
    /// 0 when the campaign has not started.
    pub version: i64,
    pub events: Vec<Event>,
}

/// A campaign as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignSummary {
    pub tender: TenderRef,
    pub status: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct CampaignRow {
    tender_ref: String,
    version: i64,
    status: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    stream: String,
    kind: String,
    payload: String,
    recorded_at: DateTime<Utc>,
}

/// PostgreSQL error codes meaning "another transaction got in the way": serialization failure,
/// deadlock. The caller re-reads and decides again, as for a version conflict.
const RETRYABLE_POSTGRES_CODES: [&str; 2] = ["40001", "40P01"];

impl Store {
    /// Writes a whole decision in one transaction, all or nothing, in this order:
    /// 1. `inbox`: records the update; if it was already there → [`Applied::Duplicate`].
    /// 2. `campaign`: moves the campaign from `expected_version` to `expected_version + events`
    ///    (creates it when `expected_version` is 0), bumps the booking version of every supplier it books
    ///    (one that moved meanwhile → [`Applied::Conflict`]), replaces the campaign's holdings and appends
    ///    the events to its stream; if the version moved meanwhile → [`Applied::Conflict`]. The tender
    ///    must be registered ([`StoreError::UnknownTender`]).
    /// 3. `consume_invite`: marks the code used (by the linked account); if it is unknown, used or
    ///    expired → [`Applied::Conflict`]. Records `invite_used`.
    /// 4. `link` (records `account_linked`; the supplier must be in the directory), `awaiting` (the
    ///    account must exist, else [`Applied::Conflict`]), `capacity` (as [`Store::set_capacity`]),
    ///    `events`, `forget` (the account deleted with the messages of its chat, its identifiers in the log
    ///    replaced by the pseudonym, `account_forgotten` recorded), then `outbox` (a key already queued is
    ///    skipped: a reply to a forgotten person is queued after the erasure, so it still leaves).
    ///
    /// `Duplicate` and `Conflict` write nothing. On PostgreSQL, a deadlock or serialization failure
    /// with a concurrent writer is reported as `Conflict` too.
    #[tracing::instrument(
        skip(self, changes),
        fields(
            campaign = changes.campaign.as_ref().map(|c| c.tender.as_str()),
            events = changes.events.len(),
            outbox = changes.outbox.len(),
        )
    )]
    pub async fn apply(&self, changes: &Changeset) -> Result<Applied, StoreError> {
        match self.apply_once(changes).await {
            Err(StoreError::Database(sqlx::Error::Database(e)))
                if e.code().is_some_and(|code| RETRYABLE_POSTGRES_CODES.contains(&code.as_ref())) =>
            {
                tracing::debug!(error = %e, "concurrent writer: reported as a conflict");
                Ok(Applied::Conflict)
            }
            other => other,
        }
    }

    async fn apply_once(&self, changes: &Changeset) -> Result<Applied, StoreError> {
        let at = now();
        let applied = in_transaction!(self, |tx| {
            let applied = apply::write(&mut apply::Conn::from(&mut *tx), changes, at).await?;
            if applied != Applied::Done {
                // Not committed: dropping the transaction rolls back what the steps before wrote.
                return Ok(applied);
            }
            applied
        });
        Ok(applied)
    }

    /// A campaign's events (oldest first) and its version, read from one snapshot so that they
    /// agree; version 0 and no events for a campaign not started.
    #[tracing::instrument(skip(self), fields(tender = %tender))]
    pub async fn campaign_log(&self, tender: &TenderRef) -> Result<CampaignLog, StoreError> {
        let stream = campaign_stream(tender);
        let (version, rows) = in_snapshot!(self, |tx| {
            let version: Option<i64> = sqlx::query_scalar("SELECT version FROM campaigns WHERE tender_ref = $1")
                .bind(tender.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let rows: Vec<EventRow> = sqlx::query_as(
                "SELECT seq, stream, kind, payload, recorded_at FROM events WHERE stream = $1 ORDER BY seq",
            )
            .bind(&stream)
            .fetch_all(&mut *tx)
            .await?;
            (version.unwrap_or(0), rows)
        });
        let events = rows
            .into_iter()
            .map(|row| {
                let payload = serde_json::from_str(&row.payload).map_err(|e| {
                    StoreError::corrupt(format!("event row (seq {}): payload is not JSON: {e}", row.seq))
                })?;
                Ok(Event { seq: row.seq, stream: row.stream, kind: row.kind, payload, recorded_at: row.recorded_at })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(CampaignLog { version, events })
    }

    /// A campaign as it stands (its log replayed) and its version; `None` for a campaign not started.
    #[tracing::instrument(skip(self), fields(tender = %tender))]
    pub async fn campaign(&self, tender: &TenderRef) -> Result<(i64, Option<essaim_core::Campaign>), StoreError> {
        let log = self.campaign_log(tender).await?;
        let events = log
            .events
            .iter()
            .map(|e| {
                serde_json::from_value::<essaim_core::CampaignEvent>(e.payload.clone())
                    .map_err(|err| StoreError::corrupt(format!("campaign {tender}, event {}: {err}", e.seq)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let campaign = essaim_core::Campaign::replay(tender.clone(), &events)
            .map_err(|e| StoreError::corrupt(format!("campaign {tender}: {e}")))?;
        Ok((log.version, campaign))
    }

    /// Every campaign, by tender reference.
    #[tracing::instrument(skip(self))]
    pub async fn campaigns(&self) -> Result<Vec<CampaignSummary>, StoreError> {
        let rows: Vec<CampaignRow> = with_pool!(self, |pool| {
            sqlx::query_as("SELECT tender_ref, version, status, created_at, updated_at FROM campaigns")
                .fetch_all(pool)
                .await?
        });
        let mut campaigns = rows
            .into_iter()
            .map(|row| {
                Ok(CampaignSummary {
                    tender: TenderRef::parse("tender_ref", &row.tender_ref)
                        .map_err(|e| StoreError::corrupt(format!("campaign row (tender {}): {e}", row.tender_ref)))?,
                    status: row.status,
                    version: row.version,
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        campaigns.sort_by(|a, b| a.tender.cmp(&b.tender));
        Ok(campaigns)
    }
}
