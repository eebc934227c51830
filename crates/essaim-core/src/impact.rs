//! Social-impact figures of an allocation, computed from its micro-lots only, so that anyone holding the
//! lots can recompute them. Every figure documents its formula in `ImpactFigures`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{SupplierKind, round_quantity, unit_is_hours};

/// The constants behind the figures (from configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImpactSettings {
    /// Hours of one full-time equivalent over a year (1607 h in France).
    pub hours_per_etp: f64,
    /// A lot is "local" when its supplier is at most this far from the site.
    pub local_radius_km: f64,
    /// Hours worked per round trip to the site (one trip per working day).
    pub hours_per_trip: f64,
    /// kg of CO2 emitted per km driven.
    pub co2_kg_per_km: f64,
    /// Default insertion rate by kind, used when a supplier has none of its own.
    pub insertion_rate: BTreeMap<SupplierKind, f64>,
}

impl Default for ImpactSettings {
    fn default() -> Self {
        use SupplierKind::*;
        Self {
            hours_per_etp: 1607.0,
            local_radius_km: 30.0,
            hours_per_trip: 7.0,
            co2_kg_per_km: 0.2,
            insertion_rate: [
                (Ei, 0.6),
                (Etti, 0.8),
                (Ai, 0.9),
                (Aci, 0.9),
                (Eiti, 0.8),
                (Geiq, 0.7),
                (Esat, 1.0),
                (Ea, 0.55),
                (Eatt, 0.55),
                (Tih, 1.0),
            ]
            .into_iter()
            .collect(),
        }
    }
}

/// One micro-lot as the impact computation needs to see it.
#[derive(Debug, Clone, PartialEq)]
pub struct LotForImpact<'a> {
    pub supplier: &'a str,
    pub kind: SupplierKind,
    pub insertion_rate: Option<f64>,
    pub quantity: f64,
    pub unit: &'a str,
    pub distance_km: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SupplierFigures {
    pub kind: Option<SupplierKind>,
    pub lots: usize,
    pub units: f64,
    pub hours: f64,
    pub insertion_hours: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KindFigures {
    pub structures: usize,
    pub units: f64,
    pub hours: f64,
}

/// The impact of a set of micro-lots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImpactFigures {
    /// Σ quantity of every lot, whatever its unit.
    pub total_units: f64,
    /// Σ quantity of lots measured in hours.
    pub total_hours: f64,
    /// Σ hours × insertion rate of the supplier (its own, else the default of its kind).
    pub insertion_hours: f64,
    /// total_hours / hours_per_etp.
    pub etp: f64,
    /// insertion_hours / hours_per_etp.
    pub insertion_etp: f64,
    /// Σ quantity of lots whose supplier is within local_radius_km of the site / total_units (0 when empty).
    pub local_share: f64,
    /// Σ quantity × distance_km.
    pub unit_km: f64,
    /// Σ 2 × distance_km × trips, trips = hours / hours_per_trip for lots in hours, 1 per lot otherwise.
    pub km_travelled: f64,
    /// km_travelled / number of lots (0 when empty): the average round trip budget per lot.
    pub average_km_per_lot: f64,
    /// Quantity-weighted mean distance between supplier and site: unit_km / total_units.
    pub average_distance_km: f64,
    /// km_travelled × co2_kg_per_km.
    pub co2_kg: f64,
    /// Distinct suppliers with at least one lot.
    pub structures: usize,
    /// Of which SIAE (EI, ETTI, AI, ACI, EITI, GEIQ).
    pub siae_structures: usize,
    /// Of which protected / adapted sector (ESAT, EA).
    pub protected_structures: usize,
    pub by_kind: BTreeMap<SupplierKind, KindFigures>,
    pub by_supplier: BTreeMap<String, SupplierFigures>,
}

impl ImpactFigures {
    pub fn compute<'a>(lots: impl IntoIterator<Item = LotForImpact<'a>>, settings: &ImpactSettings) -> Self {
        let mut f = ImpactFigures::default();
        let mut local_units = 0.0;
        let mut lot_count = 0usize;
        let mut structures_by_kind: BTreeMap<SupplierKind, BTreeSet<&str>> = BTreeMap::new();
        for lot in lots {
            lot_count += 1;
            let hours = if unit_is_hours(lot.unit) { lot.quantity } else { 0.0 };
            let rate = lot.insertion_rate.or_else(|| settings.insertion_rate.get(&lot.kind).copied()).unwrap_or(0.0);
            let trips = if unit_is_hours(lot.unit) && settings.hours_per_trip > 0.0 {
                hours / settings.hours_per_trip
            } else {
                1.0
            };
            f.total_units += lot.quantity;
            f.total_hours += hours;
            f.insertion_hours += hours * rate;
            f.unit_km += lot.quantity * lot.distance_km;
            f.km_travelled += 2.0 * lot.distance_km * trips;
            if lot.distance_km <= settings.local_radius_km {
                local_units += lot.quantity;
            }
            let s = f.by_supplier.entry(lot.supplier.to_owned()).or_default();
            s.kind = Some(lot.kind);
            s.lots += 1;
            s.units += lot.quantity;
            s.hours += hours;
            s.insertion_hours += hours * rate;
            let k = f.by_kind.entry(lot.kind).or_default();
            k.units += lot.quantity;
            k.hours += hours;
            structures_by_kind.entry(lot.kind).or_default().insert(lot.supplier);
        }
        for (kind, suppliers) in &structures_by_kind {
            if let Some(k) = f.by_kind.get_mut(kind) {
                k.structures = suppliers.len();
            }
            if kind.is_disability_employment() {
                f.protected_structures += suppliers.len();
            } else if kind.is_siae() {
                f.siae_structures += suppliers.len();
            }
        }
        f.structures = f.by_supplier.len();
        if settings.hours_per_etp > 0.0 {
            f.etp = f.total_hours / settings.hours_per_etp;
            f.insertion_etp = f.insertion_hours / settings.hours_per_etp;
        }
        if f.total_units > 0.0 {
            f.local_share = local_units / f.total_units;
            f.average_distance_km = f.unit_km / f.total_units;
        }
        if lot_count > 0 {
            f.average_km_per_lot = f.km_travelled / lot_count as f64;
        }
        f.co2_kg = f.km_travelled * settings.co2_kg_per_km;
        f.rounded()
    }

    /// Figures rounded for reporting (quantities to 1e-6) so that output is stable across platforms.
    fn rounded(mut self) -> Self {
        for v in [
            &mut self.total_units,
            &mut self.total_hours,
            &mut self.insertion_hours,
            &mut self.etp,
            &mut self.insertion_etp,
            &mut self.local_share,
            &mut self.unit_km,
            &mut self.km_travelled,
            &mut self.average_km_per_lot,
            &mut self.average_distance_km,
            &mut self.co2_kg,
        ] {
            *v = round_quantity(*v);
        }
        for s in self.by_supplier.values_mut() {
            s.units = round_quantity(s.units);
            s.hours = round_quantity(s.hours);
            s.insertion_hours = round_quantity(s.insertion_hours);
        }
        for k in self.by_kind.values_mut() {
            k.units = round_quantity(k.units);
            k.hours = round_quantity(k.hours);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lot<'a>(supplier: &'a str, kind: SupplierKind, quantity: f64, distance_km: f64) -> LotForImpact<'a> {
        LotForImpact { supplier, kind, insertion_rate: None, quantity, unit: "h", distance_km }
    }

    #[test]
    fn figures_follow_their_documented_formulas() {
        let settings = ImpactSettings::default();
        let lots = vec![
            lot("A", SupplierKind::Ei, 700.0, 10.0),
            lot("B", SupplierKind::Esat, 140.0, 40.0),
            LotForImpact { insertion_rate: Some(0.5), ..lot("A", SupplierKind::Ei, 70.0, 5.0) },
        ];
        let f = ImpactFigures::compute(lots, &settings);
        assert_eq!(f.total_hours, 910.0);
        // 700 × 0.6 + 140 × 1.0 + 70 × 0.5
        assert_eq!(f.insertion_hours, 595.0);
        assert_eq!(f.etp, round_quantity(910.0 / 1607.0));
        // lots within 30 km: 700 + 70 of 910
        assert_eq!(f.local_share, round_quantity(770.0 / 910.0));
        assert_eq!(f.unit_km, 7000.0 + 5600.0 + 350.0);
        // 2 × 10 × 100 trips + 2 × 40 × 20 + 2 × 5 × 10
        assert_eq!(f.km_travelled, 2000.0 + 1600.0 + 100.0);
        assert_eq!(f.co2_kg, 740.0);
        assert_eq!((f.structures, f.siae_structures, f.protected_structures), (2, 1, 1));
        assert_eq!(f.by_supplier["A"].lots, 2);
        assert_eq!(f.by_kind[&SupplierKind::Ei].structures, 1);
    }

    #[test]
    fn units_other_than_hours_count_no_hours_and_one_trip() {
        let lots = vec![LotForImpact { unit: "m2", ..lot("A", SupplierKind::Aci, 500.0, 12.0) }];
        let f = ImpactFigures::compute(lots, &ImpactSettings::default());
        assert_eq!((f.total_units, f.total_hours, f.insertion_hours), (500.0, 0.0, 0.0));
        assert_eq!(f.km_travelled, 24.0);
    }

    #[test]
    fn no_lots_gives_zeros_not_nan() {
        let f = ImpactFigures::compute(Vec::new(), &ImpactSettings::default());
        assert_eq!(f, ImpactFigures::default());
    }
}
