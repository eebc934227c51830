//! The notification outbox: messages written in the same transaction as the decision that causes
//! them (see [`Store::apply`](crate::Store::apply)), then delivered by a dispatcher that claims due
//! rows for a lease, sends them and records the outcome.
//!
//! Claiming never hands the same row to two callers: on PostgreSQL the rows are picked with
//! `FOR UPDATE SKIP LOCKED` (replicas skip each other's rows), on SQLite inside `BEGIN IMMEDIATE`
//! (one writer at a time). A claim takes at most one row per chat, the chat's oldest pending one,
//! so that the messages to one chat are delivered in the order they were queued even across
//! retries and replicas. A claim counts its lease from its own time and names its [`Claimant`], so that
//! a restarted dispatcher can take back at once what its dead predecessor held (see `claimant`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};

use crate::store::now;
use crate::{Claimant, Store, StoreError};

/// A message to queue. Queuing a `key` already in the outbox (whatever its status) does nothing:
/// this is how a decision taken twice (a retried job, a replayed update) sends once.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutgoing {
    pub key: String,
    pub platform: String,
    pub chat_id: String,
    /// The message, as the chat engine serialises it.
    pub payload: serde_json::Value,
}

/// Where a queued message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxStatus {
    /// To send (possibly claimed by a dispatcher right now, or waiting for its next attempt).
    Pending,
    Sent,
    /// Given up: a permanent error, or too many failed attempts.
    Failed,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(Self::Pending),
            "sent" => Some(Self::Sent),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

impl fmt::Display for OutboxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutboxStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| format!("unknown outbox status `{s}` (expected pending, sent or failed)"))
    }
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    pub id: i64,
    pub key: String,
    pub platform: String,
    pub chat_id: String,
    pub payload: serde_json::Value,
    pub status: OutboxStatus,
    /// Send attempts so far (a claim counts as one).
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    /// Until when a dispatcher holds the row; `None` when nobody does.
    pub claimed_until: Option<DateTime<Utc>>,
    /// The instance and the run of the dispatcher that holds (or last held) the row; `None` when it was
    /// never claimed, or by an unnamed claimant.
    pub claimed_instance: Option<String>,
    pub claimed_by: Option<String>,
    pub last_error: Option<String>,
    pub platform_message_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// When the last message sent to the same chat was delivered (whichever process sent it), so that
    /// the pace of a chat holds across replicas; `None` when nothing was sent to it yet.
    pub chat_last_sent_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: i64,
    key: String,
    platform: String,
    chat_id: String,
    payload: String,
    status: String,
    attempts: i64,
    next_attempt_at: DateTime<Utc>,
    claimed_until: Option<DateTime<Utc>>,
    claimed_instance: Option<String>,
    claimed_by: Option<String>,
    last_error: Option<String>,
    platform_message_id: Option<String>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    chat_last_sent_at: Option<DateTime<Utc>>,
}

/// The columns of an [`OutboxRow`] from `outbox o`, with the time the last message to its chat was sent:
/// a chat's messages are sent one after the other in id order, so that is its sent row of highest id
/// (found through the index `outbox_by_chat`).
macro_rules! outbox_columns {
    () => {
        concat!(
            "id, key, platform, chat_id, payload, status, attempts, next_attempt_at, claimed_until, ",
            "claimed_instance, claimed_by, last_error, platform_message_id, created_at, sent_at, ",
            "(SELECT s.sent_at FROM outbox s WHERE s.platform = outbox.platform AND s.chat_id = outbox.chat_id ",
            "AND s.status = 'sent' ORDER BY s.id DESC LIMIT 1) AS chat_last_sent_at"
        )
    };
}

/// The claim, with `$4` an optional platform filter and `$5`, `$6` the claimant's instance and
/// incarnation; `$lock` is empty on SQLite and `FOR UPDATE SKIP LOCKED` on PostgreSQL. A row is due when
/// its next attempt has come and nobody holds it, it is the head of its chat (no older pending row for
/// the same chat), and no wait a platform asked for (a 429, recorded by whichever replica got it in
/// `send_waits`, for the chat or the whole bot) still runs.
macro_rules! claim_outbox_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE outbox SET claimed_until = $2, attempts = attempts + 1, claimed_instance = $5, ",
            "claimed_by = $6 WHERE id IN (",
            "SELECT o.id FROM outbox o WHERE o.status = 'pending' AND o.next_attempt_at <= $1 ",
            "AND (o.claimed_until IS NULL OR o.claimed_until < $1) ",
            "AND (CAST($4 AS TEXT) IS NULL OR o.platform = $4) ",
            "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.platform = o.platform ",
            "AND e.chat_id = o.chat_id AND e.status = 'pending' AND e.id < o.id) ",
            "AND NOT EXISTS (SELECT 1 FROM send_waits w WHERE w.platform = o.platform ",
            "AND w.chat_id IN (o.chat_id, '') AND w.not_before > $1) ",
            "ORDER BY o.id LIMIT $3 ",
            $lock,
            ") RETURNING ",
            outbox_columns!()
        )
    };
}

impl Store {
    /// Claims up to `limit` due rows, oldest first, for `lease`: a row is due when it is pending,
    /// its `next_attempt_at` has come, nobody holds it (`claimed_until` empty or past) and no older
    /// row to the same chat is still pending, nor a wait the platform asked for
    /// ([`Store::hold_sends`]) for its chat or the whole bot. Each claimed row gets one more attempt and a lease
    /// until `lease` after the claim (after `now` if that is later). Two callers never get the same
    /// row. The claim is unnamed: only its lease ends it.
    #[tracing::instrument(skip(self))]
    pub async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        self.claim(None, None, now, limit, lease).await
    }

    /// [`Store::claim_outbox`] restricted to the rows of one platform (a dispatcher claims only what
    /// it can send; the rest stays for another replica).
    #[tracing::instrument(skip(self))]
    pub async fn claim_outbox_for(
        &self,
        platform: &str,
        now: DateTime<Utc>,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        self.claim(None, Some(platform), now, limit, lease).await
    }

    /// [`Store::claim_outbox_for`] in the name of `claimant`: the claimed rows record its instance and
    /// incarnation, so that a later run of the same instance can give them back at once
    /// ([`Store::release_claims_of_earlier_runs`]).
    #[tracing::instrument(skip(self))]
    pub async fn claim_outbox_as(
        &self,
        claimant: &Claimant,
        platform: &str,
        now: DateTime<Utc>,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        self.claim(Some(claimant), Some(platform), now, limit, lease).await
    }

    async fn claim(
        &self,
        claimant: Option<&Claimant>,
        platform: Option<&str>,
        now: DateTime<Utc>,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let now = now.trunc_subsecs(6);
        let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        // The lease runs from the claim itself, once the transaction has its lock (a SQLite writer may
        // wait for others), not from when the caller asked: else it could end before the caller sees it.
        let lease_until = move || {
            let start = now.max(crate::store::now());
            start.checked_add_signed(lease).unwrap_or(DateTime::<Utc>::MAX_UTC).trunc_subsecs(6)
        };
        let limit = limit.max(0);
        let instance = claimant.and_then(Claimant::instance);
        let incarnation = claimant.map(Claimant::incarnation);
        let rows: Vec<OutboxRow> = match &self.pool {
            crate::store::Pool::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let rows = sqlx::query_as(claim_outbox_sql!(""))
                    .bind(now)
                    .bind(lease_until())
                    .bind(limit)
                    .bind(platform)
                    .bind(instance)
                    .bind(incarnation)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows
            }
            crate::store::Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let rows = sqlx::query_as(claim_outbox_sql!("FOR UPDATE SKIP LOCKED"))
                    .bind(now)
                    .bind(lease_until())
                    .bind(limit)
                    .bind(platform)
                    .bind(instance)
                    .bind(incarnation)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows
            }
        };
        let mut messages = Vec::with_capacity(rows.len());
        for row in rows {
            let id = row.id;
            match message_from_row(row) {
                Ok(message) => messages.push(message),
                // A row changed outside essaim must not stop every other delivery: give it up.
                Err(e) => {
                    tracing::error!(id, error = %e, "unreadable outbox row given up");
                    self.outbox_failed(id, &e.to_string()).await?;
                }
            }
        }
        messages.sort_by_key(|m| m.id);
        Ok(messages)
    }

    /// Records that a message was delivered, with the platform's id of it.
    #[tracing::instrument(skip(self))]
    pub async fn outbox_sent(&self, id: i64, platform_message_id: Option<&str>) -> Result<(), StoreError> {
        let at = now();
        let changed = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE outbox SET status = 'sent', sent_at = $2, platform_message_id = $3, \
                 claimed_until = NULL WHERE id = $1 AND status <> 'sent'",
            )
            .bind(id)
            .bind(at)
            .bind(platform_message_id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        self.outbox_row_exists(id, changed).await
    }

    /// Reschedules a pending message at `next_attempt_at` after a failed attempt (`error`), and
    /// releases the claim.
    #[tracing::instrument(skip(self, error))]
    pub async fn outbox_retry(&self, id: i64, next_attempt_at: DateTime<Utc>, error: &str) -> Result<(), StoreError> {
        let next_attempt_at = next_attempt_at.trunc_subsecs(6);
        let changed = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE outbox SET next_attempt_at = $2, last_error = $3, claimed_until = NULL \
                 WHERE id = $1 AND status = 'pending'",
            )
            .bind(id)
            .bind(next_attempt_at)
            .bind(error)
            .execute(pool)
            .await?
            .rows_affected()
        });
        self.outbox_row_exists(id, changed).await
    }

    /// Gives a claimed message back without having tried it (the attempt the claim counted is
    /// undone), to be claimed again from `next_attempt_at`: for instance when the platform is
    /// paused for longer than the lease.
    #[tracing::instrument(skip(self))]
    pub async fn outbox_release(&self, id: i64, next_attempt_at: DateTime<Utc>) -> Result<(), StoreError> {
        let next_attempt_at = next_attempt_at.trunc_subsecs(6);
        let changed = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE outbox SET next_attempt_at = $2, claimed_until = NULL, \
                 attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END \
                 WHERE id = $1 AND status = 'pending'",
            )
            .bind(id)
            .bind(next_attempt_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        self.outbox_row_exists(id, changed).await
    }

    /// Gives up on a pending message for good, with the reason.
    #[tracing::instrument(skip(self, error))]
    pub async fn outbox_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
        let changed = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE outbox SET status = 'failed', last_error = $2, claimed_until = NULL \
                 WHERE id = $1 AND status = 'pending'",
            )
            .bind(id)
            .bind(error)
            .execute(pool)
            .await?
            .rows_affected()
        });
        self.outbox_row_exists(id, changed).await
    }

    /// When an update changed no row: fine if the row is there (already settled by another
    /// dispatcher), an error if there is no such row.
    async fn outbox_row_exists(&self, id: i64, changed: u64) -> Result<(), StoreError> {
        if changed > 0 {
            return Ok(());
        }
        let known: i64 = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE id = $1").bind(id).fetch_one(pool).await?
        });
        if known == 0 {
            return Err(StoreError::Database(sqlx::Error::RowNotFound));
        }
        Ok(())
    }

    /// Every outbox row, by id.
    #[tracing::instrument(skip(self))]
    pub async fn outbox(&self) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows: Vec<OutboxRow> = with_pool!(self, |pool| {
            sqlx::query_as(concat!("SELECT ", outbox_columns!(), " FROM outbox ORDER BY id")).fetch_all(pool).await?
        });
        rows.into_iter().map(message_from_row).collect()
    }

    /// When the next pending message becomes claimable (its next attempt, or the end of the lease
    /// that holds it), considering only the head of each chat; `None` when nothing is pending.
    #[tracing::instrument(skip(self))]
    pub async fn outbox_next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.next_due(None).await
    }

    /// [`Store::outbox_next_due`] for the rows of one platform.
    #[tracing::instrument(skip(self))]
    pub async fn outbox_next_due_for(&self, platform: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.next_due(Some(platform)).await
    }

    async fn next_due(&self, platform: Option<&str>) -> Result<Option<DateTime<Utc>>, StoreError> {
        let due: Option<DateTime<Utc>> = with_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT MIN(CASE WHEN o.claimed_until IS NOT NULL AND o.claimed_until > o.next_attempt_at \
                 THEN o.claimed_until ELSE o.next_attempt_at END) FROM outbox o \
                 WHERE o.status = 'pending' AND (CAST($1 AS TEXT) IS NULL OR o.platform = $1) \
                 AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.platform = o.platform \
                 AND e.chat_id = o.chat_id AND e.status = 'pending' AND e.id < o.id)",
            )
            .bind(platform)
            .fetch_one(pool)
            .await?
        });
        // A chat's own wait is its head row's next attempt already (set with the wait); the whole bot's
        // may end later than any of them.
        if let (Some(due), Some(platform)) = (due, platform)
            && let Some(held) = self.send_wait(platform, None, Utc::now()).await?
        {
            return Ok(Some(due.max(held)));
        }
        Ok(due)
    }

    /// The platform's id of a sent message (to edit it later), or `None` when the key is unknown or
    /// the message is not sent yet.
    #[tracing::instrument(skip(self))]
    pub async fn outbox_message_id(&self, key: &str) -> Result<Option<String>, StoreError> {
        let id: Option<Option<String>> = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT platform_message_id FROM outbox WHERE key = $1 AND status = 'sent'")
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(id.flatten())
    }
}

fn message_from_row(row: OutboxRow) -> Result<OutboxMessage, StoreError> {
    let payload = serde_json::from_str(&row.payload)
        .map_err(|e| StoreError::corrupt(format!("outbox row (id {}): payload is not JSON: {e}", row.id)))?;
    let status = OutboxStatus::parse(&row.status)
        .ok_or_else(|| StoreError::corrupt(format!("outbox row (id {}): unknown status « {} »", row.id, row.status)))?;
    Ok(OutboxMessage {
        id: row.id,
        key: row.key,
        platform: row.platform,
        chat_id: row.chat_id,
        payload,
        status,
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at,
        claimed_until: row.claimed_until,
        claimed_instance: row.claimed_instance,
        claimed_by: row.claimed_by,
        last_error: row.last_error,
        platform_message_id: row.platform_message_id,
        created_at: row.created_at,
        sent_at: row.sent_at,
        chat_last_sent_at: row.chat_last_sent_at,
    })
}

/// The stream of retention purges: how many rows each removed (never what they held).
pub const RETENTION_STREAM: &str = "retention";

impl Store {
    /// Deletes the inbox rows received before `inbox_before` and the outbox rows sent or failed before
    /// `outbox_before` (pending ones are never touched), with a `purged` event of the counts, in one
    /// transaction. Both hold personal data (chat ids, message texts) that the campaign log does not need:
    /// what was decided stays in the events. Returns (inbox rows, outbox rows) removed.
    #[tracing::instrument(skip(self))]
    pub async fn purge_delivered(
        &self,
        inbox_before: DateTime<Utc>,
        outbox_before: DateTime<Utc>,
    ) -> Result<(u64, u64), StoreError> {
        let removed = in_transaction!(self, |tx| {
            let inbox = sqlx::query("DELETE FROM inbox WHERE received_at < $1")
                .bind(inbox_before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let outbox = sqlx::query(
                "DELETE FROM outbox WHERE status IN ('sent', 'failed') AND COALESCE(sent_at, created_at) < $1",
            )
            .bind(outbox_before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inbox + outbox > 0 {
                let payload = serde_json::json!({
                    "inbox": inbox,
                    "outbox": outbox,
                    "inbox_before": inbox_before,
                    "outbox_before": outbox_before,
                });
                insert_event!(&mut *tx, RETENTION_STREAM, "purged", payload);
            }
            (inbox, outbox)
        });
        Ok(removed)
    }
}
