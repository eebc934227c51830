//! Property tests of `allocate` on small random instances mixing every rule of docs/allocation.md (kinds and
//! participation modes, reserved lines, clause hours, fairness, fixed lots topped up, exclusions): every
//! constraint holds, the reported objective is the recomputed one, the exact model never does worse than
//! the greedy baseline, runs are reproducible, and on tiny instances the optimum equals an independent brute
//! force (every set of open pairs, the remaining LP solved on its own).

mod common;

use std::collections::{BTreeMap, HashMap};

use essaim_solver::{
    AllocationInput, AllocationResult, ExcludedPair, FixedLot, LineInput, Site, Status, SupplierInput, Weights,
    allocate, greedy_allocate,
};
use good_lp::{Expression, ProblemVariables, Solution, SolverModel, Variable, constraint, variable};
use proptest::prelude::*;
use proptest::sample::Index;

use common::{check_result, eligible, fairness, haversine_km, recompute_objective};

const SECTORS: [&str; 3] = ["nettoyage", "espaces_verts", "logistique"];

fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

/// A point in a box of about 100 km × 100 km around Lyon.
fn site() -> impl Strategy<Value = Site> {
    (45.3f64..46.2, 4.2f64..5.47).prop_map(|(lat, lon)| Site { lat: round4(lat), lon: round4(lon) })
}

/// (participation, reserved, clause as a share of the quantity)
type LineRules = (Option<Vec<String>>, Option<String>, Option<f64>);
type LineSpec = (usize, u32, Site, Option<f64>, LineRules);
/// (kind, insertion rate, recent volume)
type SupplierRules = (Option<String>, Option<f64>, Option<f64>);
type SupplierSpec = (Site, u32, f64, Vec<Option<u32>>, SupplierRules);
type PairSpec = (Index, Index);

const KINDS: [&str; 10] = ["EI", "ETTI", "AI", "ACI", "EITI", "GEIQ", "ESAT", "EA", "EATT", "TIH"];

fn line_rules() -> impl Strategy<Value = LineRules> {
    let modes = |list: &[&str]| Some(list.iter().map(|m| (*m).to_owned()).collect::<Vec<_>>());
    (
        prop::sample::select(vec![
            None,
            None,
            modes(&["execution"]),
            modes(&["execution", "mise_a_disposition"]),
            modes(&["mise_a_disposition"]),
        ]),
        prop::sample::select(vec![None, None, None, Some("handicap".to_owned()), Some("insertion".to_owned())]),
        prop::option::weighted(0.4, prop::sample::select(vec![0.1, 0.3, 0.5, 0.9, 1.0])),
    )
}

fn line_spec(sectors: usize) -> impl Strategy<Value = LineSpec> {
    (
        0..sectors,
        0u32..=300,
        site(),
        prop_oneof![Just(None), Just(Some(0.3)), Just(Some(0.5)), Just(Some(0.75)), Just(Some(1.0))],
        line_rules(),
    )
}

fn supplier_rules() -> impl Strategy<Value = SupplierRules> {
    (
        prop::option::weighted(0.85, prop::sample::select(KINDS.to_vec()).prop_map(str::to_owned)),
        prop::sample::select(vec![None, Some(0.0), Some(0.3), Some(0.65), Some(1.0)]),
        prop::option::weighted(0.5, prop::sample::select(vec![0.0, 100.0, 800.0, 2500.0])),
    )
}

fn supplier_spec(sectors: usize) -> impl Strategy<Value = SupplierSpec> {
    (
        site(),
        20u32..=120,
        prop::sample::select(vec![0.0, 0.0, 5.0, 10.0, 20.0, 40.0, 12.5]),
        prop::collection::vec(prop::option::weighted(0.8, prop_oneof![1 => Just(0u32), 8 => 1u32..=400]), sectors),
        supplier_rules(),
    )
}

fn weights() -> impl Strategy<Value = Option<Weights>> {
    prop_oneof![
        2 => Just(None),
        2 => (
            0.5f64..2.0,
            0u32..=100,
            prop::sample::select(vec![100.0, 10_000.0]),
            prop::sample::select(vec![10.0, 1000.0]),
            prop::sample::select(vec![0.0, 2.0, 60.0]),
        )
            .prop_map(|(a, f, p, q, phi)| Some(Weights {
                per_unit_km: round4(a),
                per_lot: f64::from(f),
                per_unit_shortfall: p,
                per_clause_hour_shortfall: q,
                per_unit_fairness: phi,
            })),
    ]
}

/// Builds a consistent input: fixed lots within capacity and line quantity, excluded pairs not fixed.
fn build(
    lines: Vec<LineSpec>,
    suppliers: Vec<SupplierSpec>,
    fixed: Vec<(Index, Index, f64)>,
    excluded: Vec<PairSpec>,
    weights: Option<Weights>,
) -> AllocationInput {
    let lines: Vec<LineInput> = lines
        .into_iter()
        .enumerate()
        .map(|(i, (sector, quantity, site, max_share, (participation, reserved, clause)))| LineInput {
            id: format!("L{}", i + 1),
            sector: SECTORS[sector].to_owned(),
            quantity: f64::from(quantity),
            site,
            max_share,
            participation,
            reserved,
            insertion_hours_min: clause.map(|share| (share * f64::from(quantity)).floor()),
            ..LineInput::default()
        })
        .collect();
    let suppliers: Vec<SupplierInput> = suppliers
        .into_iter()
        .enumerate()
        .map(|(i, (location, reach, min_lot, capacity, (kind, insertion_rate, recent_volume)))| SupplierInput {
            id: format!("S{}", i + 1),
            name: None,
            kind,
            location,
            max_distance_km: f64::from(reach),
            min_lot,
            capacity: capacity
                .into_iter()
                .enumerate()
                .filter_map(|(k, c)| c.map(|c| (SECTORS[k].to_owned(), f64::from(c))))
                .collect(),
            insertion_rate,
            recent_volume,
        })
        .collect();
    let mut fixed_lots: Vec<FixedLot> = Vec::new();
    let mut on_line: HashMap<usize, f64> = HashMap::new();
    let mut booked: HashMap<(usize, String), f64> = HashMap::new();
    for (li, si, fraction) in fixed {
        let (l, s) = (li.index(lines.len()), si.index(suppliers.len()));
        let (line, supplier) = (&lines[l], &suppliers[s]);
        if fixed_lots.iter().any(|f| f.line == line.id && f.supplier == supplier.id) {
            continue;
        }
        let capacity = supplier.capacity.get(&line.sector).copied().unwrap_or(0.0);
        let left_line = line.quantity - on_line.get(&l).copied().unwrap_or(0.0);
        let left_capacity = capacity - booked.get(&(s, line.sector.clone())).copied().unwrap_or(0.0);
        let quantity = (fraction * left_line.min(left_capacity)).floor();
        if capacity <= 0.0 || quantity < 1.0 {
            continue;
        }
        *on_line.entry(l).or_default() += quantity;
        *booked.entry((s, line.sector.clone())).or_default() += quantity;
        fixed_lots.push(FixedLot { line: line.id.clone(), supplier: supplier.id.clone(), quantity });
    }
    let mut excluded_pairs: Vec<ExcludedPair> = Vec::new();
    for (li, si) in excluded {
        let pair = ExcludedPair {
            line: lines[li.index(lines.len())].id.clone(),
            supplier: suppliers[si.index(suppliers.len())].id.clone(),
        };
        // A fixed pair may be excluded too: it keeps its lot and gets nothing more.
        if !excluded_pairs.contains(&pair) {
            excluded_pairs.push(pair);
        }
    }
    AllocationInput { lines, suppliers, weights, fixed: fixed_lots, excluded: excluded_pairs }
}

fn instance(max_lines: usize, max_suppliers: usize, sectors: usize) -> impl Strategy<Value = AllocationInput> {
    (1..=max_lines, 1..=max_suppliers).prop_flat_map(move |(nl, ns)| {
        (
            prop::collection::vec(line_spec(sectors), nl),
            prop::collection::vec(supplier_spec(sectors), ns),
            prop::collection::vec((any::<Index>(), any::<Index>(), 0.1f64..=1.0), 0..=3),
            prop::collection::vec((any::<Index>(), any::<Index>()), 0..=4),
            weights(),
        )
            .prop_map(|(lines, suppliers, fixed, excluded, weights)| build(lines, suppliers, fixed, excluded, weights))
    })
}

/// Case count: `default`, or `ESSAIM_PROPTEST_CASES` for a longer hunt (e.g. in release mode).
fn cases(default: u32) -> u32 {
    std::env::var("ESSAIM_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn without_time(mut result: AllocationResult) -> AllocationResult {
    result.stats.solve_ms = 0.0;
    result
}

/// The exact optimum of docs/allocation.md by brute force: for every set of open new lots, the LP that remains
/// (x between the min lot and min(c, σ·q) − f, shortfall and clause shortfall ≥ 0, capacity rows, clause
/// rows) is solved on its own. Shares nothing with the solver's model (no big-M tightening, no pair
/// dropping, no components, no warm start).
fn brute_force_optimum(input: &AllocationInput) -> f64 {
    let w = input.weights.unwrap_or_default();
    let fair = fairness(input);
    let lines = &input.lines;
    let suppliers = &input.suppliers;
    let rate = |s: usize| suppliers[s].insertion_rate.unwrap_or(0.0);
    let unit_cost = |l: usize, s: usize| {
        w.per_unit_km * haversine_km(suppliers[s].location, lines[l].site) + fair[suppliers[s].id.as_str()]
    };
    let capacity = |s: usize, l: usize| suppliers[s].capacity.get(&lines[l].sector).copied().unwrap_or(0.0);
    let index = |l: &str, s: &str| {
        let li = lines.iter().position(|x| x.id == l);
        let si = suppliers.iter().position(|x| x.id == s);
        li.zip(si).expect("fixture names known ids")
    };
    let fixed: BTreeMap<(usize, usize), f64> =
        input.fixed.iter().map(|f| (index(&f.line, &f.supplier), f.quantity)).collect();
    let excluded: Vec<(usize, usize)> = input.excluded.iter().map(|e| index(&e.line, &e.supplier)).collect();

    let mut constant = 0.0;
    let mut demand: Vec<f64> = lines.iter().map(|l| l.quantity).collect();
    let mut clause: Vec<f64> = lines.iter().map(|l| l.insertion_hours_min.unwrap_or(0.0)).collect();
    let mut booked: HashMap<(usize, &str), f64> = HashMap::new();
    for (&(l, s), &q) in &fixed {
        constant += unit_cost(l, s) * q + w.per_lot;
        demand[l] -= q;
        clause[l] -= rate(s) * q;
        *booked.entry((s, lines[l].sector.as_str())).or_default() += q;
    }
    // (line, supplier, unit cost, lower, upper)
    let mut pairs: Vec<(usize, usize, f64, f64, f64)> = Vec::new();
    for (l, line) in lines.iter().enumerate() {
        for (s, supplier) in suppliers.iter().enumerate() {
            let d = haversine_km(supplier.location, line.site);
            if excluded.contains(&(l, s)) || capacity(s, l) <= 0.0 || !eligible(line, supplier) {
                continue;
            }
            if d > supplier.max_distance_km {
                continue;
            }
            let held = fixed.get(&(l, s)).copied().unwrap_or(0.0);
            let upper = capacity(s, l).min(line.max_share.unwrap_or(1.0) * line.quantity) - held;
            pairs.push((l, s, unit_cost(l, s), supplier.min_lot, upper));
        }
    }
    assert!(pairs.len() <= 16, "brute force is for tiny instances");

    let clause_penalty = |l: usize| w.per_clause_hour_shortfall * clause[l].max(0.0);
    let all_short: f64 = (0..lines.len()).map(|l| w.per_unit_shortfall * demand[l].max(0.0) + clause_penalty(l)).sum();
    let mut best = all_short;
    for mask in 1u32..(1 << pairs.len()) {
        let open: Vec<usize> = (0..pairs.len()).filter(|&i| mask & (1 << i) != 0).collect();
        if open.iter().any(|&i| pairs[i].3 > pairs[i].4 || pairs[i].4 <= 0.0) {
            continue;
        }
        // Lower bound: F per lot, and each open unit at its cheapest option on its line.
        let mut bound = w.per_lot * open.len() as f64;
        for (l, &q) in demand.iter().enumerate() {
            let cheapest =
                open.iter().filter(|&&i| pairs[i].0 == l).map(|&i| pairs[i].2).fold(w.per_unit_shortfall, f64::min);
            bound += cheapest * q.max(0.0);
        }
        if bound >= best - 1e-9 {
            continue;
        }
        let mut vars = ProblemVariables::new();
        let x: Vec<Variable> = open.iter().map(|&i| vars.add(variable().min(pairs[i].3).max(pairs[i].4))).collect();
        let u: Vec<Variable> = lines.iter().map(|_| vars.add(variable().min(0.0))).collect();
        let v: Vec<Variable> = lines.iter().map(|_| vars.add(variable().min(0.0))).collect();
        let mut objective = Expression::default();
        for (j, &i) in open.iter().enumerate() {
            objective.add_mul(pairs[i].2, x[j]);
        }
        for l in 0..lines.len() {
            objective.add_mul(w.per_unit_shortfall, u[l]);
            objective.add_mul(w.per_clause_hour_shortfall, v[l]);
        }
        let mut model = vars.minimise(objective.clone()).using(good_lp::microlp);
        for (l, &q) in demand.iter().enumerate() {
            let mut covered = Expression::from(u[l]);
            let mut reached = Expression::from(v[l]);
            for (j, &i) in open.iter().enumerate() {
                if pairs[i].0 == l {
                    covered.add_mul(1.0, x[j]);
                    reached.add_mul(rate(pairs[i].1), x[j]);
                }
            }
            model = model.with(constraint!(covered == q));
            model = model.with(constraint!(reached >= clause[l]));
        }
        let mut rows: BTreeMap<(usize, &str), Expression> = BTreeMap::new();
        for (j, &i) in open.iter().enumerate() {
            let (l, s) = (pairs[i].0, pairs[i].1);
            rows.entry((s, lines[l].sector.as_str())).or_default().add_mul(1.0, x[j]);
        }
        for ((s, sector), used) in rows {
            let left = suppliers[s].capacity.get(sector).copied().unwrap_or(0.0)
                - booked.get(&(s, sector)).copied().unwrap_or(0.0);
            model = model.with(constraint!(used <= left));
        }
        if let Ok(solution) = model.solve() {
            let value = solution.eval(&objective) + w.per_lot * open.len() as f64;
            best = best.min(value);
        }
    }
    constant + best
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    #[test]
    fn allocation_satisfies_the_model(input in instance(8, 12, 3)) {
        let result = allocate(&input, &common::default_settings()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(result.status, Status::Optimal);
        prop_assert!(result.gap.is_none());
        if let Err(errors) = check_result(&input, &result) {
            return Err(TestCaseError::fail(format!("{errors}\nresult: {result:#?}")));
        }
        let recomputed = recompute_objective(&input, &result);
        prop_assert!((recomputed - result.objective).abs() <= 1e-6 * recomputed.abs().max(1.0));

        let greedy = greedy_allocate(&input).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Err(errors) = check_result(&input, &greedy) {
            return Err(TestCaseError::fail(format!("greedy: {errors}")));
        }
        prop_assert!(
            result.objective <= greedy.objective * (1.0 + 1e-6) + 1e-6,
            "exact {} worse than greedy {}", result.objective, greedy.objective
        );

        let again = allocate(&input, &common::default_settings()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(without_time(result), without_time(again));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    #[test]
    fn tiny_instances_reach_the_brute_force_optimum(input in instance(3, 4, 1)) {
        let result = allocate(&input, &common::default_settings()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(result.status, Status::Optimal);
        if let Err(errors) = check_result(&input, &result) {
            return Err(TestCaseError::fail(format!("{errors}\nresult: {result:#?}")));
        }
        let reference = brute_force_optimum(&input);
        // Quantities are reported to 1e-6, so the objective may move by P·1e-6 per line.
        let w = input.weights.unwrap_or_default();
        let tolerance = 1e-6 * reference.abs().max(1.0)
            + 1e-6 * input.lines.len() as f64 * (w.per_unit_shortfall + w.per_clause_hour_shortfall);
        prop_assert!(
            (result.objective - reference).abs() <= tolerance,
            "solver {} vs brute force {} on {}", result.objective, reference,
            serde_json::to_string(&input).unwrap_or_default()
        );
    }
}
