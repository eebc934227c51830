//! Social-impact figures of an allocation, computed from its micro-lots only, so that anyone holding the
//! lots can recompute them. Every figure documents its formula in `ImpactFigures`. Hours are weighted per
//! legal family and never added across families: insertion hours are the SIAE's only, a GEIQ's hours are
//! counted apart, and so are the hours worked by disabled workers in ESAT, EA, EATT and TIH.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{KindFamily, Lang, SupplierKind, round_quantity, unit_is_hours};

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
    /// Default share of a structure's hours worked by the people it exists for, by kind, used when a
    /// supplier has none of its own: people in insertion (SIAE), employees on a GEIQ's insertion and
    /// qualification path (GEIQ), disabled workers (ESAT, EA, EATT, TIH). Each family's weighted hours are
    /// reported apart ([`ImpactFigures`]).
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

/// The figures of one supplier: the same sums as [`ImpactFigures`], over its own lots. Of its three
/// weighted-hour figures, only the one of its family can be non-zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SupplierFigures {
    pub kind: Option<SupplierKind>,
    /// The kind's legal family: `iae` (an SIAE) or `disability` (ESAT, EA, EATT, TIH); `None` for a GEIQ,
    /// which is in neither.
    pub family: Option<KindFamily>,
    pub lots: usize,
    pub units: f64,
    pub hours: f64,
    /// Σ hours × rate when the supplier is an SIAE, else 0.
    pub insertion_hours: f64,
    /// Σ hours × rate when the supplier is a GEIQ, else 0.
    pub geiq_hours: f64,
    /// Σ hours × rate when the supplier employs disabled workers (ESAT, EA, EATT, TIH), else 0.
    pub disability_hours: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KindFigures {
    pub structures: usize,
    pub units: f64,
    pub hours: f64,
}

/// The impact of a set of micro-lots.
///
/// "Rate" below is the supplier's own `insertion_rate`, else the default of its kind
/// ([`ImpactSettings::insertion_rate`]): the share of its hours worked by the people the structure exists
/// for. The families do not mix (see [`crate::kind`]): the hours of an ESAT are not insertion hours, and a
/// GEIQ is never counted as an SIAE.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImpactFigures {
    /// Σ quantity of every lot, whatever its unit.
    pub total_units: f64,
    /// Σ quantity of lots measured in hours.
    pub total_hours: f64,
    /// Σ hours × rate over the lots of SIAE (IAE family: EI, ETTI, AI, ACI, EITI).
    pub insertion_hours: f64,
    /// Σ hours × rate over the lots of GEIQ, counted apart from the SIAE's insertion hours.
    pub geiq_hours: f64,
    /// Σ hours × rate over the lots of ESAT, EA, EATT and TIH: hours worked by disabled workers.
    pub disability_hours: f64,
    /// total_hours / hours_per_etp.
    pub etp: f64,
    /// insertion_hours / hours_per_etp (SIAE only).
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
    /// Distinct suppliers with at least one lot = siae_structures + geiq_structures + disability_structures.
    pub structures: usize,
    /// Of which SIAE (EI, ETTI, AI, ACI, EITI).
    pub siae_structures: usize,
    /// Of which GEIQ (neither an SIAE nor disability employment).
    pub geiq_structures: usize,
    /// Of which employing disabled workers (ESAT, EA, EATT, TIH): what the buyer buys from them may be
    /// deducted from its disability-employment contribution (OETH, code du travail L5212-10-1).
    pub disability_structures: usize,
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
            let weighted = hours * rate;
            let trips = if unit_is_hours(lot.unit) && settings.hours_per_trip > 0.0 {
                hours / settings.hours_per_trip
            } else {
                1.0
            };
            f.total_units += lot.quantity;
            f.total_hours += hours;
            f.unit_km += lot.quantity * lot.distance_km;
            f.km_travelled += 2.0 * lot.distance_km * trips;
            if lot.distance_km <= settings.local_radius_km {
                local_units += lot.quantity;
            }
            let s = f.by_supplier.entry(lot.supplier.to_owned()).or_default();
            s.kind = Some(lot.kind);
            s.family = lot.kind.family();
            s.lots += 1;
            s.units += lot.quantity;
            s.hours += hours;
            match lot.kind.family() {
                Some(KindFamily::Iae) => {
                    f.insertion_hours += weighted;
                    s.insertion_hours += weighted;
                }
                Some(KindFamily::Disability) => {
                    f.disability_hours += weighted;
                    s.disability_hours += weighted;
                }
                None => {
                    f.geiq_hours += weighted;
                    s.geiq_hours += weighted;
                }
            }
            let k = f.by_kind.entry(lot.kind).or_default();
            k.units += lot.quantity;
            k.hours += hours;
            structures_by_kind.entry(lot.kind).or_default().insert(lot.supplier);
        }
        for (kind, suppliers) in &structures_by_kind {
            if let Some(k) = f.by_kind.get_mut(kind) {
                k.structures = suppliers.len();
            }
            match kind.family() {
                Some(KindFamily::Iae) => f.siae_structures += suppliers.len(),
                Some(KindFamily::Disability) => f.disability_structures += suppliers.len(),
                None => f.geiq_structures += suppliers.len(),
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

    /// The structures and their families in words, leaving out a family with none:
    /// `17 structures : 9 SIAE, 1 GEIQ, 7 ESAT/EA` (no-break spaces before the colon and in each part). The disability part names the kinds present
    /// (`ESAT/EA`, `EA/TIH`…), so that it is true whatever the mix.
    pub fn structures_display(&self, lang: Lang) -> String {
        // French puts zero in the singular (« 0 structure »), English does not.
        let singular = self.structures == 1 || (self.structures == 0 && lang == Lang::Fr);
        let noun = if singular { "structure" } else { "structures" };
        let disability: Vec<&str> =
            self.by_kind.keys().filter(|k| k.is_disability_employment()).map(|k| k.code()).collect();
        let disability = disability.join("/");
        let parts: Vec<String> = [
            (self.siae_structures, "SIAE"),
            (self.geiq_structures, "GEIQ"),
            (self.disability_structures, disability.as_str()),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        // A no-break space between a count and its family, so that a narrow card breaks after a comma.
        .map(|(n, label)| format!("{n}\u{a0}{label}"))
        .collect();
        if parts.is_empty() {
            return format!("{} {noun}", self.structures);
        }
        match lang {
            Lang::Fr => format!("{} {noun}\u{a0}: {}", self.structures, parts.join(", ")),
            Lang::En => format!("{} {noun}: {}", self.structures, parts.join(", ")),
        }
    }

    /// Figures rounded for reporting (quantities to 1e-6) so that output is stable across platforms.
    fn rounded(mut self) -> Self {
        for v in [
            &mut self.total_units,
            &mut self.total_hours,
            &mut self.insertion_hours,
            &mut self.geiq_hours,
            &mut self.disability_hours,
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
            s.geiq_hours = round_quantity(s.geiq_hours);
            s.disability_hours = round_quantity(s.disability_hours);
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
    use SupplierKind::*;

    fn lot<'a>(supplier: &'a str, kind: SupplierKind, quantity: f64, distance_km: f64) -> LotForImpact<'a> {
        LotForImpact { supplier, kind, insertion_rate: None, quantity, unit: "h", distance_km }
    }

    #[test]
    fn figures_follow_their_documented_formulas() {
        let settings = ImpactSettings::default();
        let lots = vec![
            lot("A", Ei, 700.0, 10.0),
            lot("B", Esat, 140.0, 40.0),
            LotForImpact { insertion_rate: Some(0.5), ..lot("A", Ei, 70.0, 5.0) },
        ];
        let f = ImpactFigures::compute(lots, &settings);
        assert_eq!(f.total_hours, 910.0);
        // SIAE only: 700 × 0.6 + 70 × 0.5; the ESAT's 140 × 1.0 are hours worked by disabled workers.
        assert_eq!(f.insertion_hours, 455.0);
        assert_eq!(f.disability_hours, 140.0);
        assert_eq!(f.geiq_hours, 0.0);
        assert_eq!(f.etp, round_quantity(910.0 / 1607.0));
        assert_eq!(f.insertion_etp, round_quantity(455.0 / 1607.0));
        // lots within 30 km: 700 + 70 of 910
        assert_eq!(f.local_share, round_quantity(770.0 / 910.0));
        assert_eq!(f.unit_km, 7000.0 + 5600.0 + 350.0);
        // 2 × 10 × 100 trips + 2 × 40 × 20 + 2 × 5 × 10
        assert_eq!(f.km_travelled, 2000.0 + 1600.0 + 100.0);
        assert_eq!(f.co2_kg, 740.0);
        assert_eq!((f.structures, f.siae_structures, f.geiq_structures, f.disability_structures), (2, 1, 0, 1));
        assert_eq!(f.by_supplier["A"].lots, 2);
        assert_eq!(f.by_supplier["A"].family, Some(KindFamily::Iae));
        assert_eq!(f.by_supplier["B"].family, Some(KindFamily::Disability));
        assert_eq!(f.by_kind[&Ei].structures, 1);
    }

    #[test]
    fn esat_hours_are_not_insertion_hours() {
        let lots = vec![lot("E", Esat, 300.0, 5.0), lot("A", Ea, 100.0, 5.0), lot("T", Tih, 10.0, 5.0)];
        let f = ImpactFigures::compute(lots, &ImpactSettings::default());
        assert_eq!((f.insertion_hours, f.insertion_etp, f.geiq_hours), (0.0, 0.0, 0.0));
        // 300 × 1.0 + 100 × 0.55 + 10 × 1.0
        assert_eq!(f.disability_hours, 365.0);
        assert_eq!((f.siae_structures, f.disability_structures), (0, 3));
        assert_eq!(f.by_supplier["E"].insertion_hours, 0.0);
        assert_eq!(f.by_supplier["E"].disability_hours, 300.0);
    }

    #[test]
    fn a_geiq_is_not_counted_as_an_siae() {
        let lots = vec![lot("G", Geiq, 100.0, 5.0), lot("I", Ei, 100.0, 5.0)];
        let f = ImpactFigures::compute(lots, &ImpactSettings::default());
        assert_eq!((f.structures, f.siae_structures, f.geiq_structures, f.disability_structures), (2, 1, 1, 0));
        assert_eq!(f.insertion_hours, 60.0, "the EI's 100 × 0.6 only");
        assert_eq!(f.geiq_hours, 70.0);
        assert_eq!(f.by_supplier["G"].family, None);
        assert_eq!((f.by_supplier["G"].insertion_hours, f.by_supplier["G"].geiq_hours), (0.0, 70.0));
        assert_eq!(f.structures_display(Lang::Fr), "2 structures\u{a0}: 1\u{a0}SIAE, 1\u{a0}GEIQ");
        assert_eq!(f.structures_display(Lang::En), "2 structures: 1\u{a0}SIAE, 1\u{a0}GEIQ");
    }

    #[test]
    fn figures_recompute_from_the_lots() {
        let settings = ImpactSettings::default();
        // Every kind, some with a rate of their own, one supplier with two lots, one lot not in hours.
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
        let mut lots: Vec<LotForImpact<'_>> = SupplierKind::ALL
            .into_iter()
            .zip(names)
            .enumerate()
            .map(|(i, (kind, name))| LotForImpact {
                insertion_rate: (i % 3 == 0).then_some(0.25 + i as f64 / 40.0),
                ..lot(name, kind, 35.0 * (i + 1) as f64, 4.0 * i as f64)
            })
            .collect();
        lots.push(lot("a", Ei, 14.0, 2.0));
        lots.push(LotForImpact { unit: "kg", ..lot("g", Esat, 80.0, 12.0) });
        let f = ImpactFigures::compute(lots.clone(), &settings);

        let (mut insertion, mut geiq, mut disability) = (0.0, 0.0, 0.0);
        let mut structures: BTreeMap<Option<KindFamily>, BTreeSet<&str>> = BTreeMap::new();
        for l in &lots {
            let hours = if l.unit == "h" { l.quantity } else { 0.0 };
            let weighted = hours * l.insertion_rate.unwrap_or(settings.insertion_rate[&l.kind]);
            match l.kind {
                Ei | Etti | Ai | Aci | Eiti => insertion += weighted,
                Geiq => geiq += weighted,
                Esat | Ea | Eatt | Tih => disability += weighted,
            }
            structures.entry(l.kind.family()).or_default().insert(l.supplier);
        }
        let count = |family| structures.get(&family).map_or(0, BTreeSet::len);
        assert!((f.insertion_hours - insertion).abs() < 1e-6, "{} vs {insertion}", f.insertion_hours);
        assert!((f.geiq_hours - geiq).abs() < 1e-6);
        assert!((f.disability_hours - disability).abs() < 1e-6);
        assert!((f.insertion_etp - insertion / 1607.0).abs() < 1e-6);
        assert_eq!(f.siae_structures, count(Some(KindFamily::Iae)));
        assert_eq!((f.siae_structures, f.geiq_structures, f.disability_structures), (5, 1, 4));
        assert_eq!(f.structures, f.siae_structures + f.geiq_structures + f.disability_structures);
        // The per-supplier figures add up to the totals, each in its own family.
        let sum = |get: fn(&SupplierFigures) -> f64| f.by_supplier.values().map(get).sum::<f64>();
        assert!((sum(|s| s.insertion_hours) - f.insertion_hours).abs() < 1e-6);
        assert!((sum(|s| s.geiq_hours) - f.geiq_hours).abs() < 1e-6);
        assert!((sum(|s| s.disability_hours) - f.disability_hours).abs() < 1e-6);
        for s in f.by_supplier.values() {
            assert_eq!(s.family, s.kind.and_then(SupplierKind::family));
        }
        assert_eq!(
            f.structures_display(Lang::Fr),
            "10 structures\u{a0}: 5\u{a0}SIAE, 1\u{a0}GEIQ, 4\u{a0}ESAT/EA/EATT/TIH"
        );
    }

    #[test]
    fn the_structures_in_words_name_only_the_families_present() {
        let settings = ImpactSettings::default();
        let f = ImpactFigures::compute(vec![lot("E", Esat, 10.0, 1.0)], &settings);
        assert_eq!(f.structures_display(Lang::Fr), "1 structure\u{a0}: 1\u{a0}ESAT");
        let f = ImpactFigures::compute(
            vec![lot("A", Aci, 10.0, 1.0), lot("B", Ea, 10.0, 1.0), lot("C", Esat, 10.0, 1.0)],
            &settings,
        );
        assert_eq!(f.structures_display(Lang::En), "3 structures: 1\u{a0}SIAE, 2\u{a0}ESAT/EA");
        assert_eq!(ImpactFigures::default().structures_display(Lang::Fr), "0 structure");
        assert_eq!(ImpactFigures::default().structures_display(Lang::En), "0 structures");
    }

    #[test]
    fn units_other_than_hours_count_no_hours_and_one_trip() {
        let lots = vec![LotForImpact { unit: "m2", ..lot("A", Aci, 500.0, 12.0) }];
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
