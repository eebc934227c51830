//! Chat accounts (who a chat user is for essaim), one-time invite codes, and the inbox of updates
//! already handled. Linking an account, consuming an invite and recording an update are written by
//! [`Store::apply`](crate::Store::apply) together with the decision they belong to.

use chrono::{DateTime, SubsecRound, Utc};
use essaim_core::{Role, Scope, Siret};
use serde_json::json;

use crate::store::now;
use crate::{Store, StoreError};

/// The stream of invite codes: `invite_created`, `invite_used`.
pub const INVITES_STREAM: &str = "invites";

/// The stream of chat accounts: `account_linked`.
pub const ACCOUNTS_STREAM: &str = "accounts";

/// One update received from a platform (Telegram `update_id`, Discord interaction id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InboxKey {
    /// `telegram`, `discord`.
    pub platform: String,
    pub update_id: String,
}

/// Links a chat user to essaim (upsert on `(platform, user_id)`; clears what the account was awaiting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountLink {
    pub platform: String,
    pub user_id: String,
    /// Where to write to this user.
    pub chat_id: String,
    pub role: Role,
    /// The structure a `supplier` account speaks for; must be in the directory.
    pub supplier: Option<Siret>,
    /// The buyer a `buyer` account speaks for (the SIRET its tenders name).
    pub buyer: Option<Siret>,
    pub language: Option<String>,
    pub display_name: Option<String>,
    /// The territory of a facilitator (from its invite); `None` for a facilitator is national. Ignored for
    /// other roles.
    pub scope: Option<Scope>,
}

/// A linked chat account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatAccount {
    pub platform: String,
    pub user_id: String,
    pub chat_id: String,
    pub role: Role,
    pub supplier: Option<Siret>,
    pub buyer: Option<Siret>,
    pub language: Option<String>,
    pub display_name: Option<String>,
    /// Button data of an offer waiting for a typed quantity.
    pub awaiting: Option<String>,
    /// When the account was first linked.
    pub linked_at: DateTime<Utc>,
    /// The territory a facilitator acts in (always `Some` for a facilitator); `None` for other roles.
    pub scope: Option<Scope>,
}

/// A one-time invite code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub code: String,
    pub role: Role,
    pub supplier: Option<Siret>,
    pub buyer: Option<Siret>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub used_at: Option<DateTime<Utc>>,
    /// `platform:user_id` of the account that used it.
    pub used_by: Option<String>,
    /// The territory of a facilitator's invite (always `Some` for a facilitator); `None` for other roles.
    pub scope: Option<Scope>,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    platform: String,
    user_id: String,
    chat_id: String,
    role: String,
    supplier_siret: Option<String>,
    buyer_siret: Option<String>,
    language: Option<String>,
    display_name: Option<String>,
    awaiting: Option<String>,
    linked_at: DateTime<Utc>,
    scope: Option<String>,
}

#[derive(sqlx::FromRow)]
struct InviteRow {
    code: String,
    role: String,
    supplier_siret: Option<String>,
    buyer_siret: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    used_at: Option<DateTime<Utc>>,
    used_by: Option<String>,
    scope: Option<String>,
}

/// `SELECT … FROM chat_accounts` followed by a clause, as one `&'static str`.
macro_rules! select_accounts {
    ($clause:literal) => {
        concat!(
            "SELECT platform, user_id, chat_id, role, supplier_siret, buyer_siret, language, display_name, ",
            "awaiting, linked_at, scope FROM chat_accounts ",
            $clause
        )
    };
}

impl Store {
    /// The account of one chat user, or `None` when not linked.
    #[tracing::instrument(skip(self))]
    pub async fn account(&self, platform: &str, user_id: &str) -> Result<Option<ChatAccount>, StoreError> {
        let row: Option<AccountRow> = with_pool!(self, |pool| {
            sqlx::query_as(select_accounts!("WHERE platform = $1 AND user_id = $2"))
                .bind(platform)
                .bind(user_id)
                .fetch_optional(pool)
                .await?
        });
        row.map(account_from_row).transpose()
    }

    /// The accounts speaking for one supplier, by platform then user id.
    #[tracing::instrument(skip(self), fields(siret = %siret))]
    pub async fn accounts_for_supplier(&self, siret: &Siret) -> Result<Vec<ChatAccount>, StoreError> {
        let rows: Vec<AccountRow> = with_pool!(self, |pool| {
            sqlx::query_as(select_accounts!("WHERE supplier_siret = $1")).bind(siret.as_str()).fetch_all(pool).await?
        });
        accounts_from_rows(rows)
    }

    /// The accounts speaking for one buyer, by platform then user id.
    #[tracing::instrument(skip(self), fields(siret = %siret))]
    pub async fn accounts_for_buyer(&self, siret: &Siret) -> Result<Vec<ChatAccount>, StoreError> {
        let rows: Vec<AccountRow> = with_pool!(self, |pool| {
            sqlx::query_as(select_accounts!("WHERE role = 'buyer' AND buyer_siret = $1"))
                .bind(siret.as_str())
                .fetch_all(pool)
                .await?
        });
        accounts_from_rows(rows)
    }

    /// Registers a one-time invite code for a buyer's chat account, speaking for the buyer with this
    /// SIRET (the one its tenders name), and an `invite_created` event without the code.
    #[tracing::instrument(skip(self, code), fields(buyer = %buyer))]
    pub async fn create_buyer_invite(
        &self,
        code: &str,
        buyer: &Siret,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let at = now();
        let expires_at = expires_at.map(|t| t.trunc_subsecs(6));
        in_transaction!(self, |tx| {
            sqlx::query(
                "INSERT INTO invites (code, role, buyer_siret, created_at, expires_at) \
                 VALUES ($1, 'buyer', $2, $3, $4)",
            )
            .bind(code)
            .bind(buyer.as_str())
            .bind(at)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            let payload = json!({ "role": "buyer", "buyer": buyer.as_str(), "expires_at": expires_at });
            insert_event!(&mut *tx, INVITES_STREAM, "invite_created", payload);
        });
        Ok(())
    }

    /// The accounts with one role, by platform then user id.
    #[tracing::instrument(skip(self))]
    pub async fn accounts_with_role(&self, role: Role) -> Result<Vec<ChatAccount>, StoreError> {
        let rows: Vec<AccountRow> = with_pool!(self, |pool| {
            sqlx::query_as(select_accounts!("WHERE role = $1")).bind(role.as_str()).fetch_all(pool).await?
        });
        accounts_from_rows(rows)
    }

    /// Registers a one-time invite code for `role` (and the supplier a `supplier` invite speaks for)
    /// and an `invite_created` event on [`INVITES_STREAM`] (without the code itself, which is a
    /// secret until used). The supplier must be in the directory ([`StoreError::UnknownSupplier`]).
    #[tracing::instrument(skip(self, code), fields(supplier = supplier.map(Siret::as_str)))]
    pub async fn create_invite(
        &self,
        code: &str,
        role: Role,
        supplier: Option<&Siret>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        // One code path with the invites of a whole groupement, written with their mails.
        let invite =
            crate::NewInvite { code: code.to_owned(), role, supplier: supplier.cloned(), expires_at, scope: None };
        self.apply(&crate::Changeset { new_invites: vec![invite], ..crate::Changeset::default() }).await.map(|_| ())
    }

    /// Registers a one-time invite code for a facilitator acting in `scope` (the account it links inherits
    /// it), and its `invite_created` event with the scope and without the code.
    #[tracing::instrument(skip(self, code), fields(scope = %scope))]
    pub async fn create_facilitator_invite(
        &self,
        code: &str,
        scope: &Scope,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let invite = crate::NewInvite {
            code: code.to_owned(),
            role: Role::Facilitator,
            supplier: None,
            expires_at,
            scope: Some(scope.clone()),
        };
        self.apply(&crate::Changeset { new_invites: vec![invite], ..crate::Changeset::default() }).await.map(|_| ())
    }

    /// One invite code, used or not, or `None` when unknown.
    #[tracing::instrument(skip(self, code))]
    pub async fn invite(&self, code: &str) -> Result<Option<Invite>, StoreError> {
        let row: Option<InviteRow> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT code, role, supplier_siret, buyer_siret, created_at, expires_at, used_at, used_by, \
                 scope FROM invites WHERE code = $1",
            )
            .bind(code)
            .fetch_optional(pool)
            .await?
        });
        let Some(row) = row else {
            return Ok(None);
        };
        let supplier = parse_siret("invite row", row.supplier_siret.as_deref())?;
        let buyer = parse_siret("invite row", row.buyer_siret.as_deref())?;
        let role = parse_role("invite row", &row.role)?;
        let scope = parse_scope(&format!("invite row ({role})"), role, row.scope.as_deref())?;
        Ok(Some(Invite {
            role,
            scope,
            code: row.code,
            supplier,
            buyer,
            created_at: row.created_at,
            expires_at: row.expires_at,
            used_at: row.used_at,
            used_by: row.used_by,
        }))
    }

    /// Whether this update was already handled (is in the inbox).
    #[tracing::instrument(skip(self))]
    pub async fn is_duplicate(&self, key: &InboxKey) -> Result<bool, StoreError> {
        let known: i64 = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE platform = $1 AND update_id = $2")
                .bind(&key.platform)
                .bind(&key.update_id)
                .fetch_one(pool)
                .await?
        });
        Ok(known > 0)
    }
}

fn parse_siret(what: &str, siret: Option<&str>) -> Result<Option<Siret>, StoreError> {
    siret
        .map(|s| Siret::parse_field("supplier_siret", s))
        .transpose()
        .map_err(|e| StoreError::corrupt(format!("{what}: {e}")))
}

/// A stored role, decoded once here: everything after the store matches on [`Role`].
fn parse_role(what: &str, role: &str) -> Result<Role, StoreError> {
    Role::parse("role", role).map_err(|e| StoreError::corrupt(format!("{what}: {e}")))
}

/// The scope column of a facilitator's row: its scope, national when none was given; NULL for other roles.
pub(crate) fn stored_scope(role: Role, scope: Option<&Scope>) -> Option<String> {
    (role == Role::Facilitator).then(|| scope.unwrap_or(&Scope::National).to_string())
}

/// A stored scope. A facilitator's row without one is corrupt, never read as « everywhere »: the migration
/// that brought scopes gave every existing facilitator its national scope.
pub(crate) fn parse_scope(what: &str, role: Role, scope: Option<&str>) -> Result<Option<Scope>, StoreError> {
    match (role, scope) {
        (Role::Facilitator, None) => Err(StoreError::corrupt(format!("{what}: a facilitator without a scope"))),
        (Role::Facilitator, Some(s)) => {
            Scope::parse("scope", s).map(Some).map_err(|e| StoreError::corrupt(format!("{what}: {e}")))
        }
        _ => Ok(None),
    }
}

fn account_from_row(row: AccountRow) -> Result<ChatAccount, StoreError> {
    let what = format!("chat account row ({} user {})", row.platform, row.user_id);
    let supplier = parse_siret(&what, row.supplier_siret.as_deref())?;
    let buyer = parse_siret(&what, row.buyer_siret.as_deref())?;
    let role = parse_role(&what, &row.role)?;
    let scope = parse_scope(&what, role, row.scope.as_deref())?;
    Ok(ChatAccount {
        scope,
        platform: row.platform,
        user_id: row.user_id,
        chat_id: row.chat_id,
        role,
        supplier,
        buyer,
        language: row.language,
        display_name: row.display_name,
        awaiting: row.awaiting,
        linked_at: row.linked_at,
    })
}

fn accounts_from_rows(rows: Vec<AccountRow>) -> Result<Vec<ChatAccount>, StoreError> {
    let mut accounts = rows.into_iter().map(account_from_row).collect::<Result<Vec<_>, _>>()?;
    // Sorted here rather than in SQL so that both backends agree (text collation differs).
    accounts.sort_by(|a, b| (&a.platform, &a.user_id).cmp(&(&b.platform, &b.user_id)));
    Ok(accounts)
}
