//! The steps of [`Store::apply`](crate::Store::apply), in its order, each a short function on the
//! connection of its one transaction. A step that finds the state changed under the caller answers
//! `false`; [`write`] then stops with [`Applied::Conflict`] and the transaction is dropped, which rolls
//! back what earlier steps wrote.

use chrono::{DateTime, SubsecRound, Utc};
use essaim_core::Siret;
use serde_json::json;
use sqlx::{PgConnection, SqliteConnection};

use super::{Applied, CampaignAppend, CapacityChange, Changeset, NewEvent, NewInvite, PriceChange, campaign_stream};
use crate::StoreError;
use crate::chat::{ACCOUNTS_STREAM, AccountLink, INVITES_STREAM, InboxKey};
use crate::erasure::{ACCOUNT_FORGOTTEN, Forget, contains_pattern, redact};
use crate::events::supplier_stream;
use crate::outbox::NewOutgoing;

/// The connection of the write transaction, on either driver.
pub(super) enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl<'c> From<&'c mut SqliteConnection> for Conn<'c> {
    fn from(conn: &'c mut SqliteConnection) -> Self {
        Self::Sqlite(conn)
    }
}

impl<'c> From<&'c mut PgConnection> for Conn<'c> {
    fn from(conn: &'c mut PgConnection) -> Self {
        Self::Postgres(conn)
    }
}

/// Evaluates `$body` with `$tx` bound to the typed connection of `$conn` (a `&mut Conn`): the body is
/// written once and compiled for each driver, as `with_pool!` does for a pool.
macro_rules! on_conn {
    ($conn:expr, |$tx:ident| $body:expr) => {
        match $conn {
            Conn::Sqlite(conn) => {
                let $tx: &mut SqliteConnection = &mut **conn;
                $body
            }
            Conn::Postgres(conn) => {
                let $tx: &mut PgConnection = &mut **conn;
                $body
            }
        }
    };
}

/// Writes `changes` through `conn` in the order [`Store::apply`](crate::Store::apply) documents; anything
/// but [`Applied::Done`] means the caller must not commit.
pub(super) async fn write(conn: &mut Conn<'_>, changes: &Changeset, at: DateTime<Utc>) -> Result<Applied, StoreError> {
    // 1. The update, once.
    if let Some(key) = &changes.inbox
        && !record_update(conn, key, at).await?
    {
        return Ok(Applied::Duplicate);
    }
    // 2. The campaign, at the version the caller read.
    if let Some(campaign) = &changes.campaign
        && !append_campaign(conn, campaign, at).await?
    {
        return Ok(Applied::Conflict);
    }
    // 3. The invite, once and in time.
    let used_by = changes.link.as_ref().map(|l| format!("{}:{}", l.platform, l.user_id));
    if let Some(code) = &changes.consume_invite
        && !consume_invite(conn, code, used_by.as_deref(), at).await?
    {
        return Ok(Applied::Conflict);
    }
    // 4. Accounts, invites, capacity, other events, messages.
    for invite in &changes.new_invites {
        create_invite(conn, invite, at).await?;
    }
    if let Some(link) = &changes.link {
        link_account(conn, link, at).await?;
    }
    if let Some((platform, user_id, awaiting)) = &changes.awaiting
        && !set_awaiting(conn, platform, user_id, awaiting.as_deref(), at).await?
    {
        return Ok(Applied::Conflict);
    }
    if let Some(change) = &changes.capacity {
        set_capacity(conn, change, at).await?;
    }
    if let Some(change) = &changes.price {
        set_price(conn, change, at).await?;
    }
    for (stream, event) in &changes.events {
        append_event(conn, stream, event).await?;
    }
    if let Some(forget) = &changes.forget
        && !forget_account(conn, forget).await?
    {
        return Ok(Applied::Conflict);
    }
    for message in &changes.outbox {
        queue_message(conn, message, at).await?;
    }
    Ok(Applied::Done)
}

/// Records the update in the inbox; `false` when it was already there.
async fn record_update(conn: &mut Conn<'_>, key: &InboxKey, at: DateTime<Utc>) -> Result<bool, StoreError> {
    let inserted = on_conn!(conn, |tx| {
        sqlx::query(
            "INSERT INTO inbox (platform, update_id, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT (platform, update_id) DO NOTHING",
        )
        .bind(&key.platform)
        .bind(&key.update_id)
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
    });
    Ok(inserted > 0)
}

/// Moves the campaign to its new version, books its suppliers, replaces its holdings and appends its
/// events; `false` when the campaign's version or a booking moved since the caller read them.
async fn append_campaign(
    conn: &mut Conn<'_>,
    campaign: &CampaignAppend,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let added = i64::try_from(campaign.events.len()).unwrap_or(i64::MAX);
    let version = campaign.expected_version.saturating_add(added);
    if !move_campaign(conn, campaign, version, at).await? || !book(conn, &campaign.bookings).await? {
        return Ok(false);
    }
    let reference = campaign.tender.as_str();
    let stream = campaign_stream(&campaign.tender);
    on_conn!(conn, |tx| {
        crate::holdings::replace_holdings!(tx, reference, &campaign.holdings);
        sqlx::query("UPDATE campaigns SET holdings_version = $2 WHERE tender_ref = $1")
            .bind(reference)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        for event in &campaign.events {
            insert_event!(&mut *tx, &stream, &event.kind, &event.payload);
        }
    });
    Ok(true)
}

/// Creates the campaign (`expected_version` 0: its tender must be registered) or updates it from the
/// version the caller read to `version`; `false` when that version moved.
async fn move_campaign(
    conn: &mut Conn<'_>,
    campaign: &CampaignAppend,
    version: i64,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let reference = campaign.tender.as_str();
    let moved = on_conn!(conn, |tx| {
        if campaign.expected_version == 0 {
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
        }
    });
    Ok(moved > 0)
}

/// Bumps the booking version of every supplier the decision books; `false` when one moved since the
/// decision read it.
async fn book(conn: &mut Conn<'_>, bookings: &[(String, i64)]) -> Result<bool, StoreError> {
    let mut bookings: Vec<&(String, i64)> = bookings.iter().collect();
    bookings.sort(); // one lock order for every writer (no deadlock between two bookings)
    for (siret, expected) in bookings {
        let bumped = on_conn!(conn, |tx| {
            sqlx::query(
                "UPDATE suppliers SET booking_version = booking_version + 1 \
                 WHERE siret = $1 AND booking_version = $2",
            )
            .bind(siret)
            .bind(expected)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        if bumped == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Marks the code used by `used_by` and records `invite_used`; `false` when it is unknown, used or
/// expired.
async fn consume_invite(
    conn: &mut Conn<'_>,
    code: &str,
    used_by: Option<&str>,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    on_conn!(conn, |tx| {
        let consumed = sqlx::query(
            "UPDATE invites SET used_at = $2, used_by = $3 WHERE code = $1 AND used_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(code)
        .bind(at)
        .bind(used_by)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if consumed == 0 {
            return Ok(false);
        }
        // The code itself stays out of the log: the invite's role and supplier tell which it was.
        let invite: (String, Option<String>) =
            sqlx::query_as("SELECT role, supplier_siret FROM invites WHERE code = $1")
                .bind(code)
                .fetch_one(&mut *tx)
                .await?;
        let payload = json!({ "role": invite.0, "supplier": invite.1, "used_by": used_by });
        insert_event!(&mut *tx, INVITES_STREAM, "invite_used", payload);
    });
    Ok(true)
}

/// [`StoreError::UnknownSupplier`] unless `siret` is in the directory.
async fn check_supplier(conn: &mut Conn<'_>, siret: &Siret) -> Result<(), StoreError> {
    let known: i64 = on_conn!(conn, |tx| {
        sqlx::query_scalar("SELECT COUNT(*) FROM suppliers WHERE siret = $1")
            .bind(siret.as_str())
            .fetch_one(&mut *tx)
            .await?
    });
    if known == 0 {
        return Err(StoreError::UnknownSupplier { siret: siret.to_string() });
    }
    Ok(())
}

/// Creates an invite code and records `invite_created` (without the code).
async fn create_invite(conn: &mut Conn<'_>, invite: &NewInvite, at: DateTime<Utc>) -> Result<(), StoreError> {
    if let Some(siret) = &invite.supplier {
        check_supplier(conn, siret).await?;
    }
    let expires_at = invite.expires_at.map(|t| t.trunc_subsecs(6));
    on_conn!(conn, |tx| {
        sqlx::query(
            "INSERT INTO invites (code, role, supplier_siret, created_at, expires_at, scope) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&invite.code)
        .bind(invite.role.as_str())
        .bind(invite.supplier.as_ref().map(Siret::as_str))
        .bind(at)
        .bind(expires_at)
        .bind(crate::chat::stored_scope(invite.role, invite.scope.as_ref()))
        .execute(&mut *tx)
        .await?;
        let payload = json!({
            "role": invite.role,
            "supplier": invite.supplier.as_ref().map(Siret::as_str),
            "expires_at": expires_at,
            "scope": crate::chat::stored_scope(invite.role, invite.scope.as_ref()),
        });
        insert_event!(&mut *tx, INVITES_STREAM, "invite_created", payload);
    });
    Ok(())
}

/// Links (or links again) a chat account, clearing what it awaited, and records `account_linked`.
async fn link_account(conn: &mut Conn<'_>, link: &AccountLink, at: DateTime<Utc>) -> Result<(), StoreError> {
    if let Some(siret) = &link.supplier {
        check_supplier(conn, siret).await?;
    }
    on_conn!(conn, |tx| {
        sqlx::query(
            "INSERT INTO chat_accounts (platform, user_id, chat_id, role, supplier_siret, language, \
             display_name, awaiting, linked_at, updated_at, buyer_siret, scope) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $8, $9, $10) \
             ON CONFLICT (platform, user_id) DO UPDATE SET chat_id = excluded.chat_id, \
             role = excluded.role, supplier_siret = excluded.supplier_siret, scope = excluded.scope, \
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
        .bind(crate::chat::stored_scope(link.role, link.scope.as_ref()))
        .execute(&mut *tx)
        .await?;
        let payload = json!({
            "platform": link.platform,
            "user_id": link.user_id,
            "role": link.role,
            "supplier": link.supplier.as_ref().map(Siret::as_str),
            "scope": crate::chat::stored_scope(link.role, link.scope.as_ref()),
        });
        insert_event!(&mut *tx, ACCOUNTS_STREAM, "account_linked", payload);
    });
    Ok(())
}

/// Sets or clears the button data an account awaits a typed answer for; `false` when there is no such
/// account.
async fn set_awaiting(
    conn: &mut Conn<'_>,
    platform: &str,
    user_id: &str,
    awaiting: Option<&str>,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let updated = on_conn!(conn, |tx| {
        sqlx::query("UPDATE chat_accounts SET awaiting = $3, updated_at = $4 WHERE platform = $1 AND user_id = $2")
            .bind(platform)
            .bind(user_id)
            .bind(awaiting)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
    });
    Ok(updated > 0)
}

/// A supplier's capacity in a sector, as [`Store::set_capacity`](crate::Store::set_capacity) records it.
async fn set_capacity(conn: &mut Conn<'_>, change: &CapacityChange, at: DateTime<Utc>) -> Result<(), StoreError> {
    let siret = change.supplier.as_str();
    on_conn!(conn, |tx| {
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
    });
    Ok(())
}

/// A supplier's own price in a sector (`None` removes it), with `price_updated`.
async fn set_price(conn: &mut Conn<'_>, change: &PriceChange, at: DateTime<Utc>) -> Result<(), StoreError> {
    let siret = change.supplier.as_str();
    on_conn!(conn, |tx| {
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
    });
    Ok(())
}

async fn append_event(conn: &mut Conn<'_>, stream: &str, event: &NewEvent) -> Result<(), StoreError> {
    on_conn!(conn, |tx| {
        insert_event!(&mut *tx, stream, &event.kind, &event.payload);
    });
    Ok(())
}

/// Forgets a person (see [`crate::erasure`]): deletes the account and what was kept for its chat,
/// replaces its identifiers by the pseudonym in invites and events, records `account_forgotten`; `false`
/// when there is no such account.
async fn forget_account(conn: &mut Conn<'_>, forget: &Forget) -> Result<bool, StoreError> {
    let account: Option<(String, String, Option<String>, Option<String>)> = on_conn!(conn, |tx| {
        sqlx::query_as(
            "SELECT chat_id, role, supplier_siret, buyer_siret FROM chat_accounts WHERE platform = $1 AND user_id = $2",
        )
        .bind(&forget.platform)
        .bind(&forget.user_id)
        .fetch_optional(&mut *tx)
        .await?
    });
    let Some((chat_id, role, supplier, buyer)) = account else { return Ok(false) };
    let messages = delete_account(conn, forget, &chat_id).await?;
    let redacted = pseudonymise(conn, forget).await?;
    let payload = json!({
        "platform": forget.platform,
        "user_id": forget.pseudonym,
        "role": role,
        "supplier": supplier,
        "buyer": buyer,
        "redacted_events": redacted,
        "messages_deleted": messages,
    });
    on_conn!(conn, |tx| {
        insert_event!(&mut *tx, ACCOUNTS_STREAM, ACCOUNT_FORGOTTEN, payload);
    });
    Ok(true)
}

/// Deletes the account, and what was queued or kept for its chat unless another account still reads that
/// chat (a group); how many messages went.
async fn delete_account(conn: &mut Conn<'_>, forget: &Forget, chat_id: &str) -> Result<u64, StoreError> {
    let messages = on_conn!(conn, |tx| {
        sqlx::query("DELETE FROM chat_accounts WHERE platform = $1 AND user_id = $2")
            .bind(&forget.platform)
            .bind(&forget.user_id)
            .execute(&mut *tx)
            .await?;
        let shared: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chat_accounts WHERE platform = $1 AND chat_id = $2")
            .bind(&forget.platform)
            .bind(chat_id)
            .fetch_one(&mut *tx)
            .await?;
        if shared == 0 {
            sqlx::query("DELETE FROM outbox WHERE platform = $1 AND chat_id = $2")
                .bind(&forget.platform)
                .bind(chat_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        } else {
            0
        }
    });
    Ok(messages)
}

/// Replaces the person by the pseudonym in the invites they used and in every event naming them; the
/// events rewritten, by `seq`.
async fn pseudonymise(conn: &mut Conn<'_>, forget: &Forget) -> Result<Vec<i64>, StoreError> {
    let person = format!("{}:{}", forget.platform, forget.user_id);
    let redacted = on_conn!(conn, |tx| {
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
        redacted
    });
    Ok(redacted)
}

/// Queues a message; a key already queued is left as it is.
async fn queue_message(conn: &mut Conn<'_>, message: &NewOutgoing, at: DateTime<Utc>) -> Result<(), StoreError> {
    on_conn!(conn, |tx| {
        sqlx::query(
            "INSERT INTO outbox (key, platform, chat_id, payload, status, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5) ON CONFLICT (key) DO NOTHING",
        )
        .bind(&message.key)
        .bind(&message.platform)
        .bind(&message.chat_id)
        .bind(message.payload.to_string())
        .bind(at)
        .execute(&mut *tx)
        .await?;
    });
    Ok(())
}
