//! Synthetic allocation instances for benchmarks and property tests: suppliers clustered around a few
//! cities of Auvergne-Rhône-Alpes, lines near those cities, with capacity, minimum lots and maximum
//! shares all binding somewhere. Deterministic for a given seed (a small built-in PRNG, no dependency).

use std::collections::BTreeMap;

use crate::{AllocationInput, LineInput, Site, SupplierInput, Weights};

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

/// splitmix64: tiny, good enough for test data, identical on every platform.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// A point scattered around a city (about `km` kilometres of spread).
    fn near(&mut self, city: (f64, f64), km: f64) -> Site {
        let dlat = self.range(-1.0, 1.0) * km / 111.0;
        let dlon = self.range(-1.0, 1.0) * km / (111.0 * city.0.to_radians().cos());
        Site { lat: round4(city.0 + dlat), lon: round4(city.1 + dlon) }
    }
}

fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

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
    AllocationInput {
        lines: line_list,
        suppliers: supplier_list,
        weights: Some(Weights::default()),
        fixed: Vec::new(),
        excluded: Vec::new(),
    }
}

/// The instance of [`instance`] with the procurement rules of DESIGN §3 on top: 15 % of the lines reserved
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
