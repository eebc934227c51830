//! Who a linked chat account speaks as.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// The role of a chat account, and of the one-time invite that links it: what the person may do. Stored
/// and serialised as `facilitator`, `supplier`, `buyer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Steers campaigns (launch, remind, close, send the bid).
    Facilitator,
    /// Speaks for one inclusive structure: answers its offers, declares its capacities and prices.
    Supplier,
    /// Speaks for one buyer: follows its own tenders and receives their proposals.
    Buyer,
}

impl Role {
    pub const ALL: [Role; 3] = [Self::Facilitator, Self::Supplier, Self::Buyer];

    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Facilitator => "facilitator",
            Self::Supplier => "supplier",
            Self::Buyer => "buyer",
        }
    }

    /// The role named exactly `value` (as stored); `field` names it in the error.
    pub fn parse(field: &str, value: &str) -> Result<Self, DomainError> {
        Self::ALL.into_iter().find(|r| r.as_str() == value).ok_or_else(|| DomainError::Invalid {
            field: field.to_owned(),
            message: format!("unknown role « {value} » (expected facilitator, supplier or buyer)"),
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_reads_back_from_its_name_and_an_unknown_one_is_named() {
        for role in Role::ALL {
            assert_eq!(Role::parse("role", role.as_str()), Ok(role));
            assert_eq!(serde_json::to_value(role).expect("serialises"), role.as_str());
        }
        let err = Role::parse("role", "admin").expect_err("unknown");
        assert_eq!(err.to_string(), "role: unknown role « admin » (expected facilitator, supplier or buyer)");
        // Stored names are exact: no case folding, no trimming.
        assert!(Role::parse("role", "Supplier").is_err());
    }
}
