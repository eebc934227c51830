//! Signed one-click links. A link carries the data of one offer button (`ok:7:T-2026-014`: the action,
//! the offer, the tender) and an expiry, signed with HMAC-SHA256 under a key only the service knows: whoever
//! holds the mail may answer that one offer, and nobody can make a link for another offer or action.
//!
//! Token: `base64url(data) "." expiry (Unix seconds) "." base64url(HMAC(key, "essaim-link-v1\n" data "\n"
//! expiry))`. Only URL-safe characters, so it sits in a path segment as is.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Shortest key accepted: the HMAC-SHA256 output size (RFC 2104 §3 recommends at least that much).
pub const MIN_KEY_BYTES: usize = 32;

/// What is signed before the data, so that a MAC made for something else under the same key is never a
/// valid link (and a later format can change the prefix).
const DOMAIN: &str = "essaim-link-v1";

/// The key links are signed with (from the environment, never from a file or a log).
#[derive(Clone)]
pub struct LinkKey(Vec<u8>);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(…)")
    }
}

/// Why a link is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a link of ours at all (cut when copied, mangled).
    #[error("the link is incomplete or damaged")]
    Malformed,
    /// Well formed, but the signature does not match: changed by hand or made by someone else.
    #[error("the link's signature does not match")]
    Forged,
    /// Signed by us, but past its expiry.
    #[error("the link expired on {0}")]
    Expired(DateTime<Utc>),
}

impl LinkKey {
    /// A key of at least [`MIN_KEY_BYTES`] bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, String> {
        let bytes = bytes.into();
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!("the link key must be at least {MIN_KEY_BYTES} bytes long (it has {})", bytes.len()));
        }
        Ok(Self(bytes))
    }

    fn mac(&self, data: &str, expires: i64) -> HmacSha256 {
        // new_from_slice accepts any key length for HMAC; the length was checked in `new`.
        let mut mac = HmacSha256::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
        mac.update(format!("{DOMAIN}\n{data}\n{expires}").as_bytes());
        mac
    }

    /// A token for `data`, valid until `expires`.
    pub fn sign(&self, data: &str, expires: DateTime<Utc>) -> String {
        let at = expires.timestamp();
        let tag = self.mac(data, at).finalize().into_bytes();
        format!("{}.{at}.{}", URL_SAFE_NO_PAD.encode(data), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The data of a token signed by this key and not expired at `now`. The signature is checked first
    /// (in constant time), so that an expired forgery reads as a forgery.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<String, LinkError> {
        let mut parts = token.split('.');
        let (Some(data), Some(at), Some(tag), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(LinkError::Malformed);
        };
        let data = URL_SAFE_NO_PAD.decode(data).ok().and_then(|d| String::from_utf8(d).ok());
        let tag = URL_SAFE_NO_PAD.decode(tag).ok();
        let (Some(data), Ok(at), Some(tag)) = (data, at.parse::<i64>(), tag) else {
            return Err(LinkError::Malformed);
        };
        self.mac(&data, at).verify_slice(&tag).map_err(|_| LinkError::Forged)?;
        let expires = DateTime::from_timestamp(at, 0).ok_or(LinkError::Malformed)?;
        if expires <= now {
            return Err(LinkError::Expired(expires));
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key(byte: u8) -> LinkKey {
        LinkKey::new(vec![byte; MIN_KEY_BYTES]).expect("long enough")
    }

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, 9, 0, 0).single().expect("valid date")
    }

    #[test]
    fn a_signed_link_gives_back_its_data_until_it_expires() {
        let token = key(1).sign("ok:7:T-2026-014", at(10));
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)), "{token}");
        assert_eq!(key(1).verify(&token, at(9)), Ok("ok:7:T-2026-014".to_owned()));
        assert_eq!(key(1).verify(&token, at(10)), Err(LinkError::Expired(at(10))));
    }

    #[test]
    fn changed_truncated_and_foreign_links_are_refused() {
        let token = key(1).sign("ok:7:T-2026-014", at(10));
        // Another key, another action, a later expiry: each breaks the signature.
        assert_eq!(key(2).verify(&token, at(9)), Err(LinkError::Forged));
        let (_, rest) = token.split_once('.').expect("three parts");
        let other_action = format!("{}.{rest}", URL_SAFE_NO_PAD.encode("no:7:T-2026-014"));
        assert_eq!(key(1).verify(&other_action, at(9)), Err(LinkError::Forged));
        let later = token.replace(&at(10).timestamp().to_string(), &at(20).timestamp().to_string());
        assert_eq!(key(1).verify(&later, at(9)), Err(LinkError::Forged));
        // An expired forgery reads as a forgery, not as « expired ».
        assert_eq!(key(2).verify(&token, at(11)), Err(LinkError::Forged));
        for cut in [&token[..token.len() - 3], &token[..10], "", "a.b", "a.b.c.d", "!!.1.xx"] {
            let refused = key(1).verify(cut, at(9));
            assert!(matches!(refused, Err(LinkError::Malformed | LinkError::Forged)), "{cut}: {refused:?}");
        }
    }

    #[test]
    fn a_short_key_is_refused() {
        assert!(LinkKey::new(vec![0; MIN_KEY_BYTES - 1]).is_err());
    }
}
