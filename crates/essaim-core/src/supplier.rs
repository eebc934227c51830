use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{DomainError, GeoPoint, Sector, Siret, SupplierKind, check_quantity};

/// Capacity per sector, in the sector's unit, over the period of the tenders being answered.
pub type Capacities = BTreeMap<Sector, f64>;

/// How to reach someone at the structure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// An address a mail can be sent to: one `@` with text on both sides, no space or control character
/// (a CR/LF would let a directory row or a tender write mail headers).
pub fn is_mail_address(address: &str) -> bool {
    let ok_chars = !address.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'));
    matches!(address.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.contains('@'))
        && ok_chars
}

/// An inclusive structure able to take micro-lots: an SIAE, a GEIQ or a structure employing disabled
/// workers (families in [`crate::KindFamily`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Supplier {
    pub siret: Siret,
    pub name: String,
    pub kind: SupplierKind,
    pub location: GeoPoint,
    /// INSEE code of the commune, when known (shown to buyers).
    pub commune: Option<String>,
    /// How far the structure sends its teams, in km.
    pub max_distance_km: f64,
    /// The smallest lot worth taking, in the sector's unit.
    pub min_lot: f64,
    pub capacities: Capacities,
    /// Share of hours worked by people in insertion or protected jobs; `None` → the default of its kind.
    pub insertion_rate: Option<f64>,
    pub contact: Contact,
    /// Its own price per unit, excluding VAT, by sector: a lot is priced at it, else at the line's
    /// reference price.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prices: BTreeMap<Sector, f64>,
    /// Its postal address, as the directory gives it (shown to buyers with its commune).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl Supplier {
    /// Builds a supplier after checking every number; errors name the field.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        siret: Siret,
        name: &str,
        kind: SupplierKind,
        location: GeoPoint,
        max_distance_km: f64,
        min_lot: f64,
        capacities: Capacities,
        insertion_rate: Option<f64>,
    ) -> Result<Self, DomainError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(DomainError::Empty { field: "name".into() });
        }
        check_quantity("max_distance_km", max_distance_km)?;
        check_quantity("min_lot", min_lot)?;
        for (sector, quantity) in &capacities {
            check_quantity(&format!("capacities.{sector}"), *quantity)?;
        }
        if let Some(rate) = insertion_rate
            && (!rate.is_finite() || !(0.0..=1.0).contains(&rate))
        {
            return Err(DomainError::OutOfRange { field: "insertion_rate".into(), value: rate, min: 0.0, max: 1.0 });
        }
        Ok(Self {
            siret,
            name: name.to_owned(),
            kind,
            location,
            commune: None,
            max_distance_km,
            min_lot,
            capacities,
            insertion_rate,
            contact: Contact::default(),
            prices: BTreeMap::new(),
            address: None,
        })
    }

    /// Its own price per unit in `sector`, excluding VAT, when it has one.
    pub fn price(&self, sector: &Sector) -> Option<f64> {
        self.prices.get(sector).copied()
    }

    pub fn capacity(&self, sector: &Sector) -> f64 {
        self.capacities.get(sector).copied().unwrap_or(0.0)
    }

    /// Whether a site is within the structure's travel radius.
    pub fn reaches(&self, site: &GeoPoint) -> bool {
        self.location.distance_km(site) <= self.max_distance_km
    }
}

/// Parses `nettoyage:120;espaces_verts:40` (also `|`, or `,` alone, between pairs, `=` instead of `:`,
/// and decimal commas when pairs are separated by `;` or `|`). Sector names are checked by `resolve`.
pub fn parse_capacities(
    field: &str,
    text: &str,
    mut resolve: impl FnMut(&str) -> Result<Sector, DomainError>,
) -> Result<Capacities, DomainError> {
    let mut capacities = Capacities::new();
    // `,` separates pairs only when no `;` or `|` does: then it may be a decimal comma.
    let separators: &[char] = if text.contains([';', '|']) { &[';', '|'] } else { &[','] };
    for pair in text.split(separators).map(str::trim).filter(|p| !p.is_empty()) {
        let (name, quantity) = pair.split_once([':', '=']).ok_or_else(|| {
            DomainError::invalid(field, format!("« {pair} » should look like sector:quantity (e.g. nettoyage:120)"))
        })?;
        let sector = resolve(name)?;
        let quantity: f64 = quantity.trim().replace(',', ".").parse().map_err(|_| {
            DomainError::invalid(field, format!("« {} » is not a number (in « {pair} »)", quantity.trim()))
        })?;
        check_quantity(&format!("{field}.{sector}"), quantity)?;
        if capacities.insert(sector.clone(), quantity).is_some() {
            return Err(DomainError::invalid(field, format!("sector {sector} is given twice")));
        }
    }
    Ok(capacities)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any_sector(name: &str) -> Result<Sector, DomainError> {
        Sector::parse("capacities", name)
    }

    #[test]
    fn capacities_accept_the_documented_syntaxes() {
        let c = parse_capacities("capacities", "nettoyage:120;espaces_verts:40,5", any_sector).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[&Sector::parse("s", "espaces_verts").unwrap()], 40.5);
        let c = parse_capacities("capacities", "nettoyage=10, logistique:2.5", any_sector).unwrap();
        assert_eq!(c[&Sector::parse("s", "logistique").unwrap()], 2.5);
    }

    #[test]
    fn capacities_name_what_is_wrong() {
        let err = parse_capacities("capacities", "nettoyage:-3", any_sector).unwrap_err();
        assert_eq!(err.field(), "capacities.nettoyage");
        let err = parse_capacities("capacities", "nettoyage", any_sector).unwrap_err();
        assert!(err.to_string().contains("sector:quantity"));
        let err = parse_capacities("capacities", "nettoyage:1;nettoyage:2", any_sector).unwrap_err();
        assert!(err.to_string().contains("twice"));
    }

    #[test]
    fn supplier_refuses_bad_numbers() {
        let siret = Siret::parse("73282932000074").unwrap();
        let here = GeoPoint::new(45.7, 4.8).unwrap();
        let err =
            Supplier::new(siret.clone(), "X", SupplierKind::Ei, here, -1.0, 0.0, Capacities::new(), None).unwrap_err();
        assert_eq!(err.field(), "max_distance_km");
        let err =
            Supplier::new(siret, "X", SupplierKind::Ei, here, 10.0, 0.0, Capacities::new(), Some(1.5)).unwrap_err();
        assert_eq!(err.field(), "insertion_rate");
    }
}
