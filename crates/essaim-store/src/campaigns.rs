//! Campaigns (the workflow around one tender) as an event stream with a version, and
//! [`Store::apply`]: the one transaction in which the chat engine records a decision with everything
//! it causes (the update handled, the campaign events, the account linked, the messages to send).

use chrono::{DateTime, SubsecRound, Utc};
use essaim_core::{Role, Sector, Siret, TenderRef};
use serde_json::json;

use crate::chat::{ACCOUNTS_STREAM, AccountLink, INVITES_STREAM, InboxKey};
use crate::erasure::{ACCOUNT_FORGOTTEN, Forget, contains_pattern, redact};
use crate::events::{Event, supplier_stream};
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
        let used_by = changes.link.as_ref().map(|l| format!("{}:{}", l.platform, l.user_id));
        let applied = in_transaction!(self, |tx| {
            // 1. The update, once.
            if let Some(key) = &changes.inbox {
                let inserted = sqlx::query(
                    "INSERT INTO inbox (platform, update_id, received_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (platform, update_id) DO NOTHING",
                )
                .bind(&key.platform)
                .bind(&key.update_id)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    return Ok(Applied::Duplicate);
                }
            }

            // 2. The campaign, at the version the caller read.
            if let Some(campaign) = &changes.campaign {
                let reference = campaign.tender.as_str();
                let added = i64::try_from(campaign.events.len()).unwrap_or(i64::MAX);
                let version = campaign.expected_version.saturating_add(added);
                let moved = if campaign.expected_version == 0 {
                    let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenders WHERE reference = $1")
                        .bind(reference)
                        .fetch_one(&mut *tx)
                        .await?;
                    if known == 0 {
                        return Err(StoreError::UnknownTender { reference: reference.to_owned() });
                    }
                    // A campaign created without events stays at version 0: that one may be taken over.
                    sqlx::query(
                        "INSERT INTO campaigns (tender_ref, version, status, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (tender_ref) DO UPDATE SET \
                         version = excluded.version, status = excluded.status, updated_at = excluded.updated_at \
                         WHERE campaigns.version = 0",
                    )
                    .bind(reference)
                    .bind(version)
                    .bind(&campaign.status)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                } else {
                    sqlx::query(
                        "UPDATE campaigns SET version = $2, status = $3, updated_at = $4 \
                         WHERE tender_ref = $1 AND version = $5",
                    )
                    .bind(reference)
                    .bind(version)
                    .bind(&campaign.status)
                    .bind(at)
                    .bind(campaign.expected_version)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                };
                if moved == 0 {
                    return Ok(Applied::Conflict);
                }
                let mut bookings: Vec<&(String, i64)> = campaign.bookings.iter().collect();
                bookings.sort(); // one lock order for every writer (no deadlock between two bookings)
                for (siret, expected) in bookings {
                    let bumped = sqlx::query(
                        "UPDATE suppliers SET booking_version = booking_version + 1 \
                         WHERE siret = $1 AND booking_version = $2",
                    )
                    .bind(siret)
                    .bind(expected)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if bumped == 0 {
                        return Ok(Applied::Conflict);
                    }
                }
                crate::holdings::replace_holdings!(tx, reference, &campaign.holdings);
                sqlx::query("UPDATE campaigns SET holdings_version = $2 WHERE tender_ref = $1")
                    .bind(reference)
                    .bind(version)
                    .execute(&mut *tx)
                    .await?;
                let stream = campaign_stream(&campaign.tender);
                for event in &campaign.events {
                    insert_event!(&mut *tx, &stream, &event.kind, &event.payload);
                }
            }

            // 3. The invite, once and in time.
            if let Some(code) = &changes.consume_invite {
                let consumed = sqlx::query(
                    "UPDATE invites SET used_at = $2, used_by = $3 WHERE code = $1 AND used_at IS NULL \
                     AND (expires_at IS NULL OR expires_at > $2)",
                )
                .bind(code)
                .bind(at)
                .bind(used_by.as_deref())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if consumed == 0 {
                    return Ok(Applied::Conflict);
                }
                // The code itself stays out of the log: the invite's role and supplier tell which it was.
                let invite: (String, Option<String>) =
                    sqlx::query_as("SELECT role, supplier_siret FROM invites WHERE code = $1")
                        .bind(code)
                        .fetch_one(&mut *tx)
                        .await?;
                let payload = json!({ "role": invite.0, "supplier": invite.1, "used_by": used_by });
                insert_event!(&mut *tx, INVITES_STREAM, "invite_used", payload);
            }

            // 4. Accounts, invites, capacity, other events, messages.
            for invite in &changes.new_invites {
                if let Some(siret) = &invite.supplier {
                    let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM suppliers WHERE siret = $1")
                        .bind(siret.as_str())
                        .fetch_one(&mut *tx)
                        .await?;
                    if known == 0 {
                        return Err(StoreError::UnknownSupplier { siret: siret.to_string() });
                    }
                }
                let expires_at = invite.expires_at.map(|t| t.trunc_subsecs(6));
                sqlx::query(
                    "INSERT INTO invites (code, role, supplier_siret, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&invite.code)
                .bind(invite.role.as_str())
                .bind(invite.supplier.as_ref().map(Siret::as_str))
                .bind(at)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
                let payload = json!({
                    "role": invite.role,
                    "supplier": invite.supplier.as_ref().map(Siret::as_str),
                    "expires_at": expires_at,
                });
                insert_event!(&mut *tx, crate::chat::INVITES_STREAM, "invite_created", payload);
            }
            if let Some(link) = &changes.link {
                if let Some(siret) = &link.supplier {
                    let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM suppliers WHERE siret = $1")
                        .bind(siret.as_str())
                        .fetch_one(&mut *tx)
                        .await?;
                    if known == 0 {
                        return Err(StoreError::UnknownSupplier { siret: siret.to_string() });
                    }
                }
                sqlx::query(
                    "INSERT INTO chat_accounts (platform, user_id, chat_id, role, supplier_siret, language, \
                     display_name, awaiting, linked_at, updated_at, buyer_siret) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $8, $9) \
                     ON CONFLICT (platform, user_id) DO UPDATE SET chat_id = excluded.chat_id, \
                     role = excluded.role, supplier_siret = excluded.supplier_siret, \
                     buyer_siret = excluded.buyer_siret, \
                     language = excluded.language, display_name = excluded.display_name, awaiting = NULL, \
                     updated_at = excluded.updated_at",
                )
                .bind(&link.platform)
                .bind(&link.user_id)
                .bind(&link.chat_id)
                .bind(link.role.as_str())
                .bind(link.supplier.as_ref().map(Siret::as_str))
                .bind(link.language.as_deref())
                .bind(link.display_name.as_deref())
                .bind(at)
                .bind(link.buyer.as_ref().map(Siret::as_str))
                .execute(&mut *tx)
                .await?;
                let payload = json!({
                    "platform": link.platform,
                    "user_id": link.user_id,
                    "role": link.role,
                    "supplier": link.supplier.as_ref().map(Siret::as_str),
                });
                insert_event!(&mut *tx, ACCOUNTS_STREAM, "account_linked", payload);
            }

            if let Some((platform, user_id, awaiting)) = &changes.awaiting {
                let updated = sqlx::query(
                    "UPDATE chat_accounts SET awaiting = $3, updated_at = $4 WHERE platform = $1 AND user_id = $2",
                )
                .bind(platform)
                .bind(user_id)
                .bind(awaiting.as_deref())
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    return Ok(Applied::Conflict);
                }
            }

            if let Some(change) = &changes.capacity {
                let siret = change.supplier.as_str();
                touch_supplier!(&mut *tx, at, siret);
                let previous: Option<f64> =
                    sqlx::query_scalar("SELECT quantity FROM supplier_capacities WHERE siret = $1 AND sector = $2")
                        .bind(siret)
                        .bind(change.sector.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                sqlx::query(
                    "INSERT INTO supplier_capacities (siret, sector, quantity) VALUES ($1, $2, $3) \
                     ON CONFLICT (siret, sector) DO UPDATE SET quantity = excluded.quantity",
                )
                .bind(siret)
                .bind(change.sector.as_str())
                .bind(change.quantity)
                .execute(&mut *tx)
                .await?;
                let payload = json!({
                    "siret": siret,
                    "sector": change.sector.as_str(),
                    "quantity": change.quantity,
                    "previous": previous,
                });
                insert_event!(&mut *tx, supplier_stream(&change.supplier), "capacity_updated", payload);
            }

            if let Some(change) = &changes.price {
                let siret = change.supplier.as_str();
                touch_supplier!(&mut *tx, at, siret);
                let previous: Option<f64> =
                    sqlx::query_scalar("SELECT unit_price FROM supplier_prices WHERE siret = $1 AND sector = $2")
                        .bind(siret)
                        .bind(change.sector.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                match change.unit_price {
                    Some(price) => {
                        sqlx::query(
                            "INSERT INTO supplier_prices (siret, sector, unit_price) VALUES ($1, $2, $3) \
                             ON CONFLICT (siret, sector) DO UPDATE SET unit_price = excluded.unit_price",
                        )
                        .bind(siret)
                        .bind(change.sector.as_str())
                        .bind(price)
                        .execute(&mut *tx)
                        .await?;
                    }
                    None => {
                        sqlx::query("DELETE FROM supplier_prices WHERE siret = $1 AND sector = $2")
                            .bind(siret)
                            .bind(change.sector.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                let payload = json!({
                    "siret": siret,
                    "sector": change.sector.as_str(),
                    "unit_price": change.unit_price,
                    "previous": previous,
                });
                insert_event!(&mut *tx, supplier_stream(&change.supplier), "price_updated", payload);
            }

            for (stream, event) in &changes.events {
                insert_event!(&mut *tx, stream, &event.kind, &event.payload);
            }

            if let Some(forget) = &changes.forget {
                let account: Option<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT chat_id, role, supplier_siret, buyer_siret FROM chat_accounts \
                     WHERE platform = $1 AND user_id = $2",
                )
                .bind(&forget.platform)
                .bind(&forget.user_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((chat_id, role, supplier, buyer)) = account else { return Ok(Applied::Conflict) };
                sqlx::query("DELETE FROM chat_accounts WHERE platform = $1 AND user_id = $2")
                    .bind(&forget.platform)
                    .bind(&forget.user_id)
                    .execute(&mut *tx)
                    .await?;
                // What was queued or kept for the person's chat goes too, unless another account still
                // reads that chat (a group).
                let shared: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM chat_accounts WHERE platform = $1 AND chat_id = $2")
                        .bind(&forget.platform)
                        .bind(&chat_id)
                        .fetch_one(&mut *tx)
                        .await?;
                let messages = if shared == 0 {
                    sqlx::query("DELETE FROM outbox WHERE platform = $1 AND chat_id = $2")
                        .bind(&forget.platform)
                        .bind(&chat_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                } else {
                    0
                };
                let person = format!("{}:{}", forget.platform, forget.user_id);
                sqlx::query("UPDATE invites SET used_by = $2 WHERE used_by = $1")
                    .bind(&person)
                    .bind(format!("{}:{}", forget.platform, forget.pseudonym))
                    .execute(&mut *tx)
                    .await?;
                // The text search only narrows the rows; `redact` decides on the parsed payload.
                let candidates: Vec<(i64, String)> =
                    sqlx::query_as("SELECT seq, payload FROM events WHERE payload LIKE $1 ESCAPE '\\' ORDER BY seq")
                        .bind(contains_pattern(&forget.user_id))
                        .fetch_all(&mut *tx)
                        .await?;
                let mut redacted = Vec::new();
                for (seq, payload) in candidates {
                    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(&payload) else { continue };
                    if redact(&mut value, &forget.platform, &forget.user_id, &forget.pseudonym) {
                        sqlx::query("UPDATE events SET payload = $2, redactions = redactions + 1 WHERE seq = $1")
                            .bind(seq)
                            .bind(value.to_string())
                            .execute(&mut *tx)
                            .await?;
                        redacted.push(seq);
                    }
                }
                let payload = json!({
                    "platform": forget.platform,
                    "user_id": forget.pseudonym,
                    "role": role,
                    "supplier": supplier,
                    "buyer": buyer,
                    "redacted_events": redacted,
                    "messages_deleted": messages,
                });
                insert_event!(&mut *tx, ACCOUNTS_STREAM, ACCOUNT_FORGOTTEN, payload);
            }

            for message in &changes.outbox {
                sqlx::query(
                    "INSERT INTO outbox (key, platform, chat_id, payload, status, attempts, next_attempt_at, \
                     created_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5) ON CONFLICT (key) DO NOTHING",
                )
                .bind(&message.key)
                .bind(&message.platform)
                .bind(&message.chat_id)
                .bind(message.payload.to_string())
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            Applied::Done
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
