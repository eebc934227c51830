//! Who a linked chat account speaks as, and over which territory a facilitator acts (its [`Scope`]).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::{DomainError, GeoPoint, GroupementCode, Tender, territory};

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

/// The territory a facilitator (chat account or API token) acts in: everywhere (`*`, a national
/// administrator), or some groupements and départements (`G-LYON,dep:69`).
///
/// A tender is within a scope when its groupement is one of the scope's groupements, or when one of its
/// lines' sites lies in one of the scope's départements (the département of the nearest commune that has a
/// position of its own, see [`departement_of`]). "One of its sites": a tender that spans two territories is
/// followed by the facilitators of both, since structures of both may work on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every tender.
    National,
    /// The tenders of these groupements and those with a site in these départements; never both empty.
    Within { groupements: BTreeSet<GroupementCode>, departements: BTreeSet<String> },
}

impl Scope {
    /// Reads `*` or a comma-separated list of groupement codes and `dep:CODE` (`G-LYON,dep:69,dep:2A`).
    /// `field` names it in the error. An unknown département code is refused.
    pub fn parse(field: &str, value: &str) -> Result<Self, DomainError> {
        let value = value.trim();
        if value == "*" {
            return Ok(Self::National);
        }
        let mut groupements = BTreeSet::new();
        let mut departements = BTreeSet::new();
        for item in value.split(',').map(str::trim) {
            if item.is_empty() {
                continue;
            }
            if item == "*" {
                return Err(DomainError::invalid(field, "« * » (national) cannot be combined with a territory"));
            }
            match item.strip_prefix("dep:").or_else(|| item.strip_prefix("DEP:")) {
                Some(code) => {
                    let code = code.trim().to_ascii_uppercase();
                    if !known_departements().contains(code.as_str()) {
                        return Err(DomainError::invalid(field, format!("unknown département « {code} »")));
                    }
                    departements.insert(code);
                }
                None => {
                    groupements.insert(GroupementCode::parse(field, item)?);
                }
            }
        }
        if groupements.is_empty() && departements.is_empty() {
            return Err(DomainError::invalid(
                field,
                "a scope is « * » or groupement codes and départements (G-LYON,dep:69)",
            ));
        }
        Ok(Self::Within { groupements, departements })
    }

    pub fn is_national(&self) -> bool {
        matches!(self, Self::National)
    }

    /// Whether the tender is within this scope (see the type's documentation for the rule).
    pub fn covers(&self, tender: &Tender) -> bool {
        match self {
            Self::National => true,
            Self::Within { groupements, departements } => {
                tender.groupement.as_ref().is_some_and(|g| groupements.contains(g))
                    || (!departements.is_empty()
                        && tender.lines.iter().filter_map(|l| departement_of(l.site)).any(|d| departements.contains(d)))
            }
        }
    }

    /// Whether a tender of this groupement is within scope by its groupement alone (no sites known).
    pub fn covers_groupement(&self, groupement: &GroupementCode) -> bool {
        match self {
            Self::National => true,
            Self::Within { groupements, .. } => groupements.contains(groupement),
        }
    }
}

impl fmt::Display for Scope {
    /// The stored form, which [`Scope::parse`] reads back: `*`, or `G-LYON,dep:69`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::National => f.write_str("*"),
            Self::Within { groupements, departements } => {
                let items: Vec<String> = groupements
                    .iter()
                    .map(|g| g.as_str().to_owned())
                    .chain(departements.iter().map(|d| format!("dep:{d}")))
                    .collect();
                f.write_str(&items.join(","))
            }
        }
    }
}

fn known_departements() -> &'static BTreeSet<&'static str> {
    static KNOWN: OnceLock<BTreeSet<&'static str>> = OnceLock::new();
    KNOWN.get_or_init(|| territory::communes().iter().map(|c| c.departement).collect())
}

/// Grid cell side, in degrees: small enough that a cell holds a few dozen communes, large enough that the
/// nearest commune of a point in France is in its cell or a neighbour.
const CELL_DEG: f64 = 0.25;

fn cell(lat: f64, lon: f64) -> (i32, i32) {
    ((lat / CELL_DEG).floor() as i32, (lon / CELL_DEG).floor() as i32)
}

/// The positions of the communes in each grid cell, with their département.
type Grid = HashMap<(i32, i32), Vec<(GeoPoint, &'static str)>>;

/// Communes with a position of their own, by grid cell (built once, on first use).
fn grid() -> &'static Grid {
    static GRID: OnceLock<Grid> = OnceLock::new();
    GRID.get_or_init(|| {
        let mut grid = Grid::new();
        for c in territory::communes() {
            // A chef-lieu stand-in would draw sites of its département towards the wrong commune.
            if let (Some(p), false) = (c.position, c.position_is_fallback) {
                grid.entry(cell(p.lat, p.lon)).or_default().push((p, c.departement));
            }
        }
        grid
    })
}

/// The département of a site: that of the nearest commune (by the position the national table gives it:
/// town hall, else centroid) within about 25 km, `None` farther from any commune (at sea, abroad). Near a
/// département's border the nearest town hall may lie across it; a tender with sites on a border is then
/// seen from both sides, which is the safe error for a facilitator following a territory.
pub fn departement_of(site: GeoPoint) -> Option<&'static str> {
    let (y, x) = cell(site.lat, site.lon);
    let cos = site.lat.to_radians().cos();
    let mut best: Option<(f64, &'static str)> = None;
    for dy in -1..=1 {
        for dx in -1..=1 {
            for (p, dep) in grid().get(&(y + dy, x + dx)).into_iter().flatten() {
                // Equirectangular distance: exact enough to rank towns a few km apart.
                let d = (p.lat - site.lat).powi(2) + ((p.lon - site.lon) * cos).powi(2);
                if best.is_none_or(|(b, _)| d < b) {
                    best = Some((d, dep));
                }
            }
        }
    }
    best.map(|(_, dep)| dep)
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

    fn lyon() -> GeoPoint {
        GeoPoint::new(45.7640, 4.8357).unwrap()
    }

    #[test]
    fn a_scope_reads_back_from_its_stored_form_and_bad_ones_are_named() {
        assert_eq!(Scope::parse("scope", " * "), Ok(Scope::National));
        let scope = Scope::parse("scope", "G-LYON, dep:69,dep:2a").unwrap();
        assert_eq!(scope.to_string(), "G-LYON,dep:2A,dep:69");
        assert_eq!(Scope::parse("scope", &scope.to_string()), Ok(scope));
        let err = Scope::parse("scope", "dep:00").unwrap_err();
        assert_eq!(err.to_string(), "scope: unknown département « 00 »");
        assert!(Scope::parse("scope", "").is_err());
        assert!(Scope::parse("scope", "*,G-LYON").is_err());
        assert!(Scope::parse("scope", "G LYON").is_err());
    }

    #[test]
    fn a_site_lies_in_the_departement_of_its_nearest_commune() {
        assert_eq!(departement_of(lyon()), Some("69"));
        assert_eq!(departement_of(GeoPoint::new(48.1173, -1.6778).unwrap()), Some("35")); // Rennes
        assert_eq!(departement_of(GeoPoint::new(43.2965, 5.3698).unwrap()), Some("13")); // Marseille
        assert_eq!(departement_of(GeoPoint::new(-21.1151, 55.5364).unwrap()), Some("974")); // Saint-Denis
        assert_eq!(departement_of(GeoPoint::new(41.9192, 8.7386).unwrap()), Some("2A")); // Ajaccio
        // Villeurbanne (69) against Vaulx-en-Velin (69) and Décines: still the Rhône, not the Ain nearby.
        assert_eq!(departement_of(GeoPoint::new(45.7719, 4.8902).unwrap()), Some("69"));
        // Open sea, far from any commune.
        assert_eq!(departement_of(GeoPoint::new(46.0, -10.0).unwrap()), None);
    }
}
