//! Bearer tokens of the HTTP API. The store keeps a hash of each token, never the token: whoever reads
//! the database cannot call the API with what they read.

use chrono::{DateTime, Utc};
use essaim_core::{Role, Scope, Siret};
use serde_json::json;

use crate::store::now;
use crate::{Store, StoreError};

/// The stream of API tokens: `api_token_created`, `api_token_revoked` (ids and roles, never hashes).
pub const TOKENS_STREAM: &str = "api_tokens";

/// One API token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Public id, shown in listings and logs.
    pub id: String,
    /// `facilitator` or `buyer`.
    pub role: String,
    /// The buyer a `buyer` token speaks for.
    pub buyer: Option<Siret>,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The territory a `facilitator` token acts in (always `Some` for one); `None` for a buyer's.
    pub scope: Option<Scope>,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    role: String,
    buyer_siret: Option<String>,
    label: Option<String>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    scope: Option<String>,
}

impl TokenRow {
    fn into_token(self) -> Result<ApiToken, StoreError> {
        let buyer = self
            .buyer_siret
            .as_deref()
            .map(Siret::parse)
            .transpose()
            .map_err(|e| StoreError::corrupt(format!("api token {}: {e}", self.id)))?;
        let what = format!("api token {}", self.id);
        // Tokens are `facilitator` or `buyer` (the table checks it); only a facilitator's has a scope.
        let role = if self.role == "facilitator" { Role::Facilitator } else { Role::Buyer };
        let scope = crate::chat::parse_scope(&what, role, self.scope.as_deref())?;
        Ok(ApiToken {
            scope,
            id: self.id,
            role: self.role,
            buyer,
            label: self.label,
            created_at: self.created_at,
            revoked_at: self.revoked_at,
        })
    }
}

impl Store {
    /// Records a token by its hash. `role` is `facilitator` (national: see [`Store::create_facilitator_token`]
    /// for one scoped to a territory) or `buyer` (which needs `buyer`).
    #[tracing::instrument(skip(self, token_hash))]
    pub async fn create_api_token(
        &self,
        id: &str,
        token_hash: &str,
        role: &str,
        buyer: Option<&Siret>,
        label: Option<&str>,
    ) -> Result<(), StoreError> {
        self.insert_api_token(id, token_hash, role, buyer, label, None).await
    }

    /// Records a facilitator's token acting in `scope` by its hash.
    #[tracing::instrument(skip(self, token_hash), fields(scope = %scope))]
    pub async fn create_facilitator_token(
        &self,
        id: &str,
        token_hash: &str,
        scope: &Scope,
        label: Option<&str>,
    ) -> Result<(), StoreError> {
        self.insert_api_token(id, token_hash, "facilitator", None, label, Some(scope)).await
    }

    async fn insert_api_token(
        &self,
        id: &str,
        token_hash: &str,
        role: &str,
        buyer: Option<&Siret>,
        label: Option<&str>,
        scope: Option<&Scope>,
    ) -> Result<(), StoreError> {
        let at = now();
        let scope = if role == "facilitator" { crate::chat::stored_scope(Role::Facilitator, scope) } else { None };
        in_transaction!(self, |tx| {
            sqlx::query(
                "INSERT INTO api_tokens (id, token_hash, role, buyer_siret, label, created_at, scope) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(token_hash)
            .bind(role)
            .bind(buyer.map(Siret::as_str))
            .bind(label)
            .bind(at)
            .bind(scope.as_deref())
            .execute(&mut *tx)
            .await?;
            let payload = json!({
                "id": id, "role": role, "buyer": buyer.map(Siret::as_str), "label": label, "scope": scope,
            });
            insert_event!(&mut *tx, TOKENS_STREAM, "api_token_created", payload);
        });
        Ok(())
    }

    /// The live (not revoked) token with this hash.
    #[tracing::instrument(skip_all)]
    pub async fn api_token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>, StoreError> {
        let row: Option<TokenRow> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, role, buyer_siret, label, created_at, revoked_at, scope FROM api_tokens \
                 WHERE token_hash = $1 AND revoked_at IS NULL",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        });
        row.map(TokenRow::into_token).transpose()
    }

    /// Revokes a token by its id; `false` when no live token has it.
    #[tracing::instrument(skip(self))]
    pub async fn revoke_api_token(&self, id: &str) -> Result<bool, StoreError> {
        let at = now();
        let revoked = in_transaction!(self, |tx| {
            let n = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n > 0 {
                insert_event!(&mut *tx, TOKENS_STREAM, "api_token_revoked", json!({ "id": id }));
            }
            n > 0
        });
        Ok(revoked)
    }
}
