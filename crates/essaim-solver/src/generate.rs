//! Synthetic allocation instances for benchmarks and property tests: suppliers clustered around a few
//! cities of Auvergne-Rhône-Alpes, lines near those cities, with capacity, minimum lots and maximum
//! shares all binding somewhere. Deterministic for a given seed (a small built-in PRNG, no dependency).

use std::collections::BTreeMap;

use crate::rng::Rng;
use crate::{AllocationInput, LineInput, SupplierInput, Weights};

const CITIES: [(f64, f64); 8] = [
    (45.764, 4.8357),  // Lyon
    (45.1885, 5.7245), // Grenoble
    (45.4397, 4.3872), // Saint-Étienne
    (45.9895, 4.7186), // Villefranche-sur-Saône
    (46.2052, 5.2255), // Bourg-en-Bresse
    (45.5255, 4.8746), // Vienne
    (45.8992, 6.1294), // Annecy
    (45.5646, 5.9178), // Chambéry
];

const SECTORS: [&str; 11] = [
    "nettoyage",
    "espaces_verts",
    "logistique",
    "conditionnement",
    "sous_traitance",
    "restauration",
    "dechets",
    "textile",
    "btp",
    "conciergerie",
    "blanchisserie",
];

/// An instance of `suppliers` × `lines`, reproducible from `seed`.
pub fn instance(suppliers: usize, lines: usize, seed: u64) -> AllocationInput {
    let mut rng = Rng(seed ^ 0x5EED);
    let cities = (suppliers / 60).clamp(2, CITIES.len());
    let sectors = (lines / 2).clamp(3, SECTORS.len());
    let kinds = ["EI", "ETTI", "AI", "ACI", "EITI", "GEIQ", "ESAT", "EA"];
    let supplier_list = (0..suppliers)
        .map(|i| {
            let city = CITIES[rng.below(cities)];
            let mut capacity = BTreeMap::new();
            for _ in 0..1 + rng.below(3) {
                let sector = SECTORS[rng.below(sectors)];
                capacity.insert(sector.to_owned(), (rng.range(40.0, 600.0)).round());
            }
            SupplierInput {
                id: format!("S{}", i + 1),
                name: None,
                kind: Some(kinds[rng.below(kinds.len())].to_owned()),
                location: rng.near(city, 15.0),
                max_distance_km: rng.range(15.0, 60.0).round(),
                min_lot: (rng.range(10.0, 80.0) / 5.0).round() * 5.0,
                capacity,
                insertion_rate: None,
                recent_volume: None,
            }
        })
        .collect();
    let line_list = (0..lines)
        .map(|i| {
            let city = CITIES[rng.below(cities)];
            let quantity = (rng.range(80.0, 1200.0) / 10.0).round() * 10.0;
            let max_share = if rng.unit() < 0.6 { Some([0.3, 0.4, 0.5, 0.6, 0.75][rng.below(5)]) } else { None };
            LineInput {
                id: format!("L{}", i + 1),
                sector: SECTORS[rng.below(sectors)].to_owned(),
                quantity,
                unit: Some("h".to_owned()),
                site: rng.near(city, 10.0),
                max_share,
                // Every mode accepted: the base instance has no eligibility rule (the ladder of the
                // benchmarks before the procurement rules); `procurement_instance` adds them.
                participation: Some(vec!["execution".to_owned(), "mise_a_disposition".to_owned()]),
                ..LineInput::default()
            }
        })
        .collect();
    fresh(line_list, supplier_list)
}

/// The instance of [`instance`] with the procurement rules of docs/allocation.md on top: 15 % of the lines reserved
/// (handicap or insertion), half of them open to mise à disposition, 40 % with a social clause of 10–50 %
/// of their hours, an insertion rate and a recent volume per supplier, and the fairness weight set.
pub fn procurement_instance(suppliers: usize, lines: usize, seed: u64) -> AllocationInput {
    let mut input = instance(suppliers, lines, seed);
    let mut rng = Rng(seed ^ 0xC1A05E);
    for s in &mut input.suppliers {
        s.insertion_rate = Some((rng.range(0.3, 1.0) * 100.0).round() / 100.0);
        s.recent_volume = (rng.unit() < 0.7).then(|| rng.range(0.0, 3000.0).round());
    }
    for l in &mut input.lines {
        if rng.unit() < 0.15 {
            l.reserved = Some(if rng.unit() < 0.5 { "handicap" } else { "insertion" }.to_owned());
        }
        if rng.unit() < 0.5 {
            l.participation = None; // execution only
        }
        if rng.unit() < 0.4 {
            l.insertion_hours_min = Some((l.quantity * rng.range(0.1, 0.5)).round());
        }
    }
    if let Some(w) = &mut input.weights {
        w.per_unit_fairness = 2.0;
    }
    input
}

/// A dense metropolitan instance: every supplier within 12 km of central Lyon and willing to travel 30 to
/// 60 km, so every supplier reaches every line of its sectors; three sectors, hence three large
/// components; capacity about the demand of each sector (tight), minimum lots of 20 to 80 h and a
/// maximum share on most lines — a territory-wide allocation without a groupement.
pub fn metro_instance(suppliers: usize, lines: usize, seed: u64) -> AllocationInput {
    dense_instance(suppliers, lines, seed, &CITIES[..1], 12.0, (30.0, 60.0), 3, true)
}

/// A national instance with one giant component: suppliers and lines around the eight cities, one
/// sector, travel radii of 40 to 150 km that chain the cities together, capacities of 100 to 600 h (more
/// than the demand in all, scarce near some sites).
pub fn national_instance(suppliers: usize, lines: usize, seed: u64) -> AllocationInput {
    dense_instance(suppliers, lines, seed, &CITIES, 25.0, (40.0, 150.0), 1, false)
}

#[allow(clippy::too_many_arguments)] // one private builder for the two public shapes
fn dense_instance(
    suppliers: usize,
    lines: usize,
    seed: u64,
    cities: &[(f64, f64)],
    spread_km: f64,
    radius_km: (f64, f64),
    sectors: usize,
    tight: bool,
) -> AllocationInput {
    let mut rng = Rng(seed ^ 0xDE45E);
    let kinds = ["EI", "ACI", "EITI", "ESAT", "EA"];
    let line_list: Vec<LineInput> = (0..lines)
        .map(|i| {
            let city = cities[rng.below(cities.len())];
            LineInput {
                id: format!("L{}", i + 1),
                sector: SECTORS[i % sectors].to_owned(),
                quantity: (rng.range(150.0, 1500.0) / 10.0).round() * 10.0,
                unit: Some("h".to_owned()),
                site: rng.near(city, spread_km),
                max_share: (rng.unit() < 0.8).then(|| [0.25, 0.3, 0.4, 0.5][rng.below(4)]),
                ..LineInput::default()
            }
        })
        .collect();
    let mut demand = vec![0.0; sectors];
    for (i, l) in line_list.iter().enumerate() {
        demand[i % sectors] += l.quantity;
    }
    // Each supplier works in one sector, sometimes two; capacity shares the sector's demand about evenly.
    let home: Vec<usize> = (0..suppliers).map(|i| i % sectors).collect();
    let per_sector = (suppliers / sectors).max(1) as f64;
    let supplier_list = (0..suppliers)
        .map(|i| {
            let city = cities[rng.below(cities.len())];
            let mut capacity = BTreeMap::new();
            let k = home[i];
            let own = if tight { demand[k] / per_sector * rng.range(0.5, 1.5) } else { rng.range(100.0, 600.0) };
            capacity.insert(SECTORS[k].to_owned(), own.round().max(20.0));
            if sectors > 1 && rng.unit() < 0.3 {
                let other = (k + 1 + rng.below(sectors - 1)) % sectors;
                capacity.insert(
                    SECTORS[other].to_owned(),
                    (demand[other] / per_sector * rng.range(0.2, 0.6)).round().max(20.0),
                );
            }
            SupplierInput {
                id: format!("S{}", i + 1),
                name: None,
                kind: Some(kinds[rng.below(kinds.len())].to_owned()),
                location: rng.near(city, spread_km),
                max_distance_km: rng.range(radius_km.0, radius_km.1).round(),
                min_lot: (rng.range(20.0, 80.0) / 5.0).round() * 5.0,
                capacity,
                insertion_rate: None,
                recent_volume: None,
            }
        })
        .collect();
    fresh(line_list, supplier_list)
}

/// An instance of these lines and suppliers with the default weights, nothing fixed or excluded.
fn fresh(lines: Vec<LineInput>, suppliers: Vec<SupplierInput>) -> AllocationInput {
    AllocationInput { lines, suppliers, weights: Some(Weights::default()), fixed: Vec::new(), excluded: Vec::new() }
}
