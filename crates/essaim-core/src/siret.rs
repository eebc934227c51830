use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A SIRET: 14 digits identifying an establishment, checked with the Luhn key.
///
/// La Poste's establishments (SIREN 356000000) do not follow Luhn: their SIRET is valid when the sum
/// of its digits is a multiple of 5 (INSEE rule), so they are accepted on that rule instead.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Siret(String);

const LA_POSTE_SIREN: &str = "356000000";

impl Siret {
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        Self::parse_field("siret", value)
    }

    /// Parses a SIRET, tolerating the usual spaces ("123 456 789 00012"); `field` names it in errors.
    pub fn parse_field(field: &str, value: &str) -> Result<Self, DomainError> {
        let digits: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        let fail = |reason| DomainError::InvalidSiret { field: field.to_owned(), value: value.to_owned(), reason };
        if digits.is_empty() {
            return Err(fail("it is empty"));
        }
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(fail("it must contain digits only"));
        }
        if digits.len() != 14 {
            return Err(fail("it must have exactly 14 digits"));
        }
        let valid = if digits.starts_with(LA_POSTE_SIREN) {
            digits.bytes().map(|b| u32::from(b - b'0')).sum::<u32>().is_multiple_of(5)
        } else {
            luhn_valid(&digits)
        };
        if !valid {
            return Err(fail("its check digit is wrong (Luhn key); check for a typo"));
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SIREN: the company part (first 9 digits).
    pub fn siren(&self) -> &str {
        &self.0[..9]
    }
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

impl fmt::Display for Siret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Siret {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Siret> for String {
    fn from(value: Siret) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_sirets_with_or_without_spaces() {
        // 732 829 320 00074 is a well-known valid SIRET used in INSEE examples.
        assert_eq!(Siret::parse("73282932000074").unwrap().as_str(), "73282932000074");
        assert_eq!(Siret::parse("732 829 320 00074").unwrap().siren(), "732829320");
    }

    #[test]
    fn refuses_wrong_key_length_and_letters() {
        let err = Siret::parse("73282932000075").unwrap_err();
        assert!(err.to_string().contains("Luhn"), "{err}");
        assert!(Siret::parse("7328293200007").unwrap_err().to_string().contains("14 digits"));
        assert!(Siret::parse("7328293200007A").unwrap_err().to_string().contains("digits only"));
        assert!(Siret::parse("").is_err());
    }

    #[test]
    fn la_poste_establishments_use_the_sum_of_digits_rule() {
        // 356 000 000 49837: digits sum to 45, a multiple of 5, although the Luhn key fails.
        assert!(Siret::parse("35600000049837").is_ok());
        assert!(Siret::parse("35600000049838").is_err());
    }

    #[test]
    fn names_the_field_in_errors() {
        let err = Siret::parse_field("buyer.siret", "123").unwrap_err();
        assert_eq!(err.field(), "buyer.siret");
    }
}
