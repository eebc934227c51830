//! Bearer tokens: who is calling, and which tenders they may see.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use essaim_core::{Scope, Siret, Tender};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{ApiError, AppState};

/// A token from the configuration: its SHA-256 (hex), never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticToken {
    pub sha256: String,
    pub access: Access,
}

/// What a token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Every tender; may register tenders (a national facilitator: the configuration's tokens, and stored
    /// ones of scope `*`).
    Facilitator,
    /// A facilitator of a territory: the tenders within this scope only ([`Scope::covers`]), which it may
    /// register and steer.
    Territory(Scope),
    /// The tenders whose buyer has this SIRET, read only.
    Buyer(Siret),
}

impl Access {
    /// Whether this caller may see the tender. A tender without a buyer SIRET is a facilitator's only.
    pub fn may_see(&self, tender: &Tender) -> bool {
        match self {
            Self::Facilitator => true,
            Self::Territory(scope) => scope.covers(tender),
            Self::Buyer(siret) => tender.buyer.siret.as_ref() == Some(siret),
        }
    }

    /// Whether this caller is a facilitator (national or of a territory): registers tenders, steers campaigns.
    pub fn is_facilitator(&self) -> bool {
        matches!(self, Self::Facilitator | Self::Territory(_))
    }
}

/// The SHA-256 of a token, in lowercase hex: what the configuration and the database keep.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.trim().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A new token and its public id: `esm_` + 40 random characters (about 238 bits).
pub fn new_token() -> (String, String) {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let mut pick =
        |n: usize| -> String { (0..n).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect() };
    let id = format!("tok_{}", pick(10));
    let token = format!("esm_{}", pick(40));
    (id, token)
}

impl FromRequestParts<AppState> for Access {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            // The scheme is case-insensitive (RFC 9110 §11.1): `Bearer`, `bearer`, `BEARER`.
            .and_then(|v| v.split_once(' ').filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer")))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(ApiError::unauthorized)?;
        let hash = hash_token(token);
        // Compared in constant time, every configured token looked at, so that timing tells nothing.
        let mut found = None;
        for t in &state.config.tokens {
            if bool::from(t.sha256.as_bytes().ct_eq(hash.as_bytes())) {
                found = Some(t.access.clone());
            }
        }
        if let Some(access) = found {
            return Ok(access);
        }
        let Some(stored) = state.store.api_token_by_hash(&hash).await? else {
            tracing::info!("refused an unknown or revoked API token");
            return Err(ApiError::unauthorized());
        };
        match (stored.role.as_str(), stored.buyer) {
            ("facilitator", _) => match stored.scope {
                Some(Scope::National) => Ok(Access::Facilitator),
                Some(scope) => Ok(Access::Territory(scope)),
                // The store never returns a facilitator's token without its scope; refuse rather than widen.
                None => Err(ApiError::unauthorized()),
            },
            ("buyer", Some(siret)) => Ok(Access::Buyer(siret)),
            _ => Err(ApiError::unauthorized()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed_to_hex() {
        let (id, token) = new_token();
        let (_, other) = new_token();
        assert!(id.starts_with("tok_") && token.starts_with("esm_") && token.len() == 44);
        assert_ne!(token, other);
        let h = hash_token(&token);
        assert_eq!(h.len(), 64);
        assert!(h.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "SHA-256 of `abc` (FIPS 180-2 test vector)"
        );
    }
}
