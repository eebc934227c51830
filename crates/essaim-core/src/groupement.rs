use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{DomainError, Siret};

/// The short code of a groupement (`G-LYON`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupementCode(String);

impl GroupementCode {
    pub fn parse(field: &str, value: &str) -> Result<Self, DomainError> {
        let code = value.trim();
        if code.is_empty() {
            return Err(DomainError::Empty { field: field.to_owned() });
        }
        if code.len() > 64 || code.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(DomainError::invalid(
                field,
                format!("« {code} » is not a groupement code (no spaces, ≤ 64 chars)"),
            ));
        }
        Ok(Self(code.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GroupementCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Suppliers answering a tender together, with one lead (the mandataire, single point of contact).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Groupement {
    pub code: GroupementCode,
    pub name: String,
    pub lead: Siret,
    /// Members, lead included, in a stable order.
    pub members: Vec<Siret>,
}

impl Groupement {
    /// Builds a groupement; the lead must be one of the members and members are unique.
    pub fn new(code: GroupementCode, name: &str, lead: Siret, members: Vec<Siret>) -> Result<Self, DomainError> {
        let mut sorted = members.clone();
        sorted.sort();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return Err(DomainError::invalid("members", "a structure appears twice in the groupement"));
        }
        if !members.contains(&lead) {
            return Err(DomainError::invalid("lead", format!("the lead {lead} is not a member of {code}")));
        }
        let name = if name.trim().is_empty() { code.as_str() } else { name.trim() };
        Ok(Self { name: name.to_owned(), code, lead, members: sorted })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_must_be_a_member() {
        let a = Siret::parse("73282932000074").unwrap();
        let b = Siret::parse("35600000049837").unwrap();
        let code = GroupementCode::parse("groupement", "G-LYON").unwrap();
        assert!(Groupement::new(code.clone(), "", a.clone(), vec![b.clone()]).is_err());
        let g = Groupement::new(code.clone(), "", a.clone(), vec![b.clone(), a.clone()]).unwrap();
        assert_eq!(g.name, "G-LYON");
        assert_eq!(g.members, vec![b, a.clone()]);
        assert!(Groupement::new(code, "", a.clone(), vec![a.clone(), a]).is_err());
    }

    #[test]
    fn codes_have_no_spaces() {
        assert!(GroupementCode::parse("groupement", "G LYON").is_err());
        assert!(GroupementCode::parse("groupement", " ").is_err());
    }
}
