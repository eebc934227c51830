use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::{
    Cpv, DomainError, GeoPoint, GroupementCode, ParticipationMode, Reservation, Sector, Siret, check_quantity,
};

/// A tender's public reference (`T-2026-001`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenderRef(String);

impl TenderRef {
    pub fn parse(field: &str, value: &str) -> Result<Self, DomainError> {
        let r = value.trim();
        if r.is_empty() {
            return Err(DomainError::Empty { field: field.to_owned() });
        }
        if r.len() > 64 || r.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(DomainError::invalid(
                field,
                format!("« {r} » is not a tender reference (no spaces, ≤ 64 chars)"),
            ));
        }
        Ok(Self(r.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The reference as one segment of a URL path (RFC 3986 §3.3): unreserved characters as they are,
    /// every other byte of its UTF-8 percent-encoded — `BAR/SLASH-1` → `BAR%2FSLASH-1`, `ÉTÉ-2027` →
    /// `%C3%89T%C3%89-2027` — so that a `Location` header stays ASCII and leads back to this tender.
    pub fn path_segment(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        for byte in self.0.bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(byte));
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    }
}

impl fmt::Display for TenderRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The buyer of a tender.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Buyer {
    pub name: String,
    pub siret: Option<Siret>,
    /// Public or private employer: it decides which fund collects its disability-employment contribution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<BuyerKind>,
    /// Its annual OETH contribution before deductions (€), when it gives it: the deduction cap applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oeth_contribution: Option<f64>,
    /// Its direct employment rate of disabled workers (0–1), when it gives it: the cap is 75 % of the
    /// contribution from 3 %, else 50 %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_employment_rate: Option<f64>,
    /// The purchasing officer's address: the proposal is mailed there when the e-mail channel is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Buyer {
    pub fn named(name: &str, siret: Option<Siret>) -> Self {
        Self { name: name.to_owned(), siret, ..Self::default() }
    }
}

/// Whether the buyer is a public or a private employer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuyerKind {
    /// State, local authority, hospital…: its contribution goes to the FIPHFP.
    Public,
    /// A company: its contribution goes to the AGEFIPH (declared through the DSN).
    Private,
}

impl BuyerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_lowercase().as_str() {
            "public" | "publique" | "public_employer" => Some(Self::Public),
            "private" | "prive" | "privé" | "privee" | "privée" => Some(Self::Private),
            _ => None,
        }
    }

    /// The fund that collects the employer's disability-employment contribution.
    pub fn fund(self) -> &'static str {
        match self {
            Self::Public => "FIPHFP",
            Self::Private => "AGEFIPH",
        }
    }
}

/// When the work of a line takes place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Window {
    pub fn new(start: NaiveDate, end: NaiveDate, field: &str) -> Result<Self, DomainError> {
        if end < start {
            return Err(DomainError::invalid(field, format!("ends ({end}) before it starts ({start})")));
        }
        Ok(Self { start, end })
    }

    /// Whether two periods share at least one day (both ends are inclusive).
    pub fn overlaps(&self, other: &Window) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// Whether work in two optional periods may happen at the same time: a line without a window may
    /// take place at any time, so it overlaps everything.
    pub fn may_overlap(a: Option<&Window>, b: Option<&Window>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => a.overlaps(b),
            _ => true,
        }
    }
}

/// One line of a tender: a quantity of work of one sector at one site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenderLine {
    pub id: String,
    pub title: Option<String>,
    pub sector: Sector,
    pub quantity: f64,
    pub unit: String,
    pub site: GeoPoint,
    /// Largest share of the line one supplier may take (1.0 = no limit).
    pub max_share: f64,
    /// Price per unit, excluding VAT, when the buyer published one.
    pub unit_price: Option<f64>,
    pub window: Option<Window>,
    /// How structures may take part (never empty; execution only unless the buyer accepts placements).
    #[serde(default = "ParticipationMode::default_accepted")]
    pub participation: Vec<ParticipationMode>,
    /// The family the line is reserved to, if any (Code de la commande publique L2113-12 / L2113-13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved: Option<Reservation>,
    /// The social clause: hours of work by people in insertion the line must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insertion_hours_min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpv: Option<Cpv>,
    /// VAT rate of the line (0–1), when the buyer gives one; else the configuration's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_rate: Option<f64>,
    /// Where the work takes place, as the buyer writes it (the site's coordinates are still what distances
    /// are computed from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl TenderLine {
    /// Builds a line; `field` prefixes field names in errors (`lines[2]`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        field: &str,
        id: &str,
        sector: Sector,
        quantity: f64,
        unit: &str,
        site: GeoPoint,
        max_share: Option<f64>,
        unit_price: Option<f64>,
    ) -> Result<Self, DomainError> {
        let id = id.trim();
        if id.is_empty() {
            return Err(DomainError::Empty { field: format!("{field}.id") });
        }
        check_quantity(&format!("{field}.quantity"), quantity)?;
        let max_share = max_share.unwrap_or(1.0);
        if !max_share.is_finite() || max_share <= 0.0 || max_share > 1.0 {
            return Err(DomainError::OutOfRange {
                field: format!("{field}.max_share"),
                value: max_share,
                min: 0.0,
                max: 1.0,
            });
        }
        if let Some(price) = unit_price {
            check_quantity(&format!("{field}.unit_price"), price)?;
        }
        let unit = if unit.trim().is_empty() { "h" } else { unit.trim() };
        Ok(Self {
            id: id.to_owned(),
            title: None,
            sector,
            quantity,
            unit: unit.to_owned(),
            site,
            max_share,
            unit_price,
            window: None,
            participation: ParticipationMode::default_accepted(),
            reserved: None,
            insertion_hours_min: None,
            cpv: None,
            vat_rate: None,
            address: None,
        })
    }

    /// Sets the participation modes the line accepts (deduplicated, in a stable order; not empty).
    pub fn with_participation(mut self, field: &str, modes: &[ParticipationMode]) -> Result<Self, DomainError> {
        let mut modes = modes.to_vec();
        modes.sort();
        modes.dedup();
        if modes.is_empty() {
            return Err(DomainError::invalid(field, "must list at least one mode (execution, mise_a_disposition)"));
        }
        self.participation = modes;
        Ok(self)
    }

    /// Sets the social-clause hours; they cannot exceed the line's quantity.
    pub fn with_insertion_hours(mut self, field: &str, hours: Option<f64>) -> Result<Self, DomainError> {
        if let Some(h) = hours {
            check_quantity(field, h)?;
            if h > self.quantity + 1e-9 {
                return Err(DomainError::invalid(
                    field,
                    format!("{h} clause hours is more than the line's quantity ({} {})", self.quantity, self.unit),
                ));
            }
        }
        self.insertion_hours_min = hours.filter(|h| *h > 0.0);
        Ok(self)
    }

    /// Whether a structure of `kind` may take this line (its mode is accepted, and the reservation, if
    /// any, admits it).
    pub fn admits(&self, kind: crate::SupplierKind) -> bool {
        self.participation.contains(&kind.mode()) && self.reserved.is_none_or(|r| r.admits(kind))
    }

    /// Whether quantities of this line are hours of work (they then count for ETP and insertion hours).
    pub fn is_in_hours(&self) -> bool {
        unit_is_hours(&self.unit)
    }
}

/// `h`, `heure(s)`, `hour(s)`: the units that measure hours of work.
pub fn unit_is_hours(unit: &str) -> bool {
    matches!(unit.trim().to_lowercase().as_str(), "h" | "heure" | "heures" | "hour" | "hours")
}

/// A tender published by a buyer, answered by a groupement (or by every supplier in reach).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tender {
    pub reference: TenderRef,
    pub title: String,
    pub buyer: Buyer,
    pub deadline: Option<DateTime<FixedOffset>>,
    pub groupement: Option<GroupementCode>,
    /// How the groupement answers (conjoint or solidaire), when the tender requires one; else the
    /// configuration's default applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groupement_kind: Option<crate::GroupementKind>,
    /// The contract makes the mandataire of a conjoint groupement jointly liable for every member
    /// (Code de la commande publique R2142-24).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mandataire_solidaire: bool,
    pub lines: Vec<TenderLine>,
}

impl Tender {
    /// Builds a tender; it needs at least one line and line ids must be unique.
    pub fn new(
        reference: TenderRef,
        title: &str,
        buyer: Buyer,
        deadline: Option<DateTime<FixedOffset>>,
        groupement: Option<GroupementCode>,
        lines: Vec<TenderLine>,
    ) -> Result<Self, DomainError> {
        if lines.is_empty() {
            return Err(DomainError::invalid("lines", "a tender needs at least one line"));
        }
        let mut seen = BTreeSet::new();
        for (i, line) in lines.iter().enumerate() {
            if !seen.insert(line.id.as_str()) {
                return Err(DomainError::invalid(
                    format!("lines[{i}].id"),
                    format!("line id « {} » is used twice", line.id),
                ));
            }
        }
        if buyer.name.trim().is_empty() {
            return Err(DomainError::Empty { field: "buyer.name".into() });
        }
        Ok(Self {
            reference,
            title: title.trim().to_owned(),
            buyer,
            deadline,
            groupement,
            groupement_kind: None,
            mandataire_solidaire: false,
            lines,
        })
    }

    pub fn line(&self, id: &str) -> Option<&TenderLine> {
        self.lines.iter().find(|l| l.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_travels_in_a_url_path_as_one_segment() {
        let r = |s: &str| TenderRef::parse("ref", s).expect("valid reference");
        assert_eq!(r("T-2026-014").path_segment(), "T-2026-014");
        assert_eq!(r("BAR/SLASH-1").path_segment(), "BAR%2FSLASH-1");
        assert_eq!(r("ÉTÉ-2027").path_segment(), "%C3%89T%C3%89-2027");
        assert_eq!(r("A?b#c%").path_segment(), "A%3Fb%23c%25");
    }
}
