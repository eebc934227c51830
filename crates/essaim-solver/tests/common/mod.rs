//! Shared checks for the solver's integration tests: an independent reading of docs/allocation.md (haversine
//! distance, eligibility, the constraints and the objective), written without looking at the solver's
//! internals.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::{BTreeMap, HashMap};

use essaim_solver::{
    AllocationInput, AllocationResult, Backend, LineInput, Site, SolveSettings, SupplierInput, Weights,
};

/// The backend under test: `ESSAIM_TEST_BACKEND` (`microlp` by default; CI also runs the solver's tests
/// with `highs` on a build with `--features highs`).
pub fn backend() -> Backend {
    match std::env::var("ESSAIM_TEST_BACKEND") {
        Ok(name) => Backend::from_name(&name)
            .unwrap_or_else(|| panic!("ESSAIM_TEST_BACKEND={name}: not a backend of this build (features?)")),
        Err(_) => Backend::Microlp,
    }
}

/// The default settings on the backend under test.
pub fn default_settings() -> SolveSettings {
    SolveSettings { backend: backend(), ..SolveSettings::default() }
}

/// Tolerance of quantity checks (results are reported to 1e-6).
pub const TOL: f64 = 1e-6;

/// Great-circle distance, Earth radius 6371.0 km.
pub fn haversine_km(a: Site, b: Site) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().min(1.0).asin()
}

pub fn weights(input: &AllocationInput) -> Weights {
    input.weights.unwrap_or_default()
}

/// Eligibility (docs/allocation.md), spelled out from the families and modes as the contract states them.
pub fn eligible(line: &LineInput, supplier: &SupplierInput) -> bool {
    let kind = supplier.kind.as_deref().map(str::to_uppercase);
    let mode = match kind.as_deref() {
        Some("AI" | "ETTI" | "EATT" | "GEIQ") => "mise_a_disposition",
        _ => "execution",
    };
    let accepted = line.participation.clone().unwrap_or_else(|| vec!["execution".to_owned()]);
    if !accepted.iter().any(|m| m == mode) {
        return false;
    }
    match line.reserved.as_deref() {
        None => true,
        Some("handicap") => matches!(kind.as_deref(), Some("ESAT" | "EA" | "EATT")),
        Some("insertion") => matches!(kind.as_deref(), Some("EI" | "ETTI" | "AI" | "ACI" | "EITI")),
        Some(other) => panic!("unexpected reservation {other}"),
    }
}

/// φ·ρ_s/ρ_max per supplier id (0 when nobody has a recent volume).
pub fn fairness(input: &AllocationInput) -> HashMap<&str, f64> {
    let phi = weights(input).per_unit_fairness;
    let max = input.suppliers.iter().map(|s| s.recent_volume.unwrap_or(0.0)).fold(0.0, f64::max);
    input
        .suppliers
        .iter()
        .map(|s| (s.id.as_str(), if max > 0.0 { phi * s.recent_volume.unwrap_or(0.0) / max } else { 0.0 }))
        .collect()
}

/// The objective recomputed from the reported lots, shortfall and clause shortfall.
pub fn recompute_objective(input: &AllocationInput, result: &AllocationResult) -> f64 {
    let w = weights(input);
    let fair = fairness(input);
    let lines: HashMap<&str, _> = input.lines.iter().map(|l| (l.id.as_str(), l)).collect();
    let suppliers: HashMap<&str, _> = input.suppliers.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut objective = 0.0;
    for lot in &result.lots {
        let d = haversine_km(suppliers[lot.supplier.as_str()].location, lines[lot.line.as_str()].site);
        objective += (w.per_unit_km * d + fair[lot.supplier.as_str()]) * lot.quantity + w.per_lot;
    }
    for s in &result.shortfall {
        objective += w.per_unit_shortfall * s.quantity;
    }
    for c in &result.clause_shortfall {
        objective += w.per_clause_hour_shortfall * c.hours;
    }
    objective
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// Checks every constraint of docs/allocation.md and the reported objective. `Err` lists what is wrong.
pub fn check_result(input: &AllocationInput, result: &AllocationResult) -> Result<(), String> {
    let mut errors: Vec<String> = Vec::new();
    let lines: HashMap<&str, _> = input.lines.iter().map(|l| (l.id.as_str(), l)).collect();
    let suppliers: HashMap<&str, _> = input.suppliers.iter().map(|s| (s.id.as_str(), s)).collect();
    let fixed: HashMap<(&str, &str), f64> =
        input.fixed.iter().map(|f| ((f.line.as_str(), f.supplier.as_str()), f.quantity)).collect();
    let excluded = |l: &str, s: &str| input.excluded.iter().any(|e| e.line == l && e.supplier == s);

    let mut fixed_seen: HashMap<(&str, &str), f64> = HashMap::new();
    let mut added: HashMap<(&str, &str), f64> = HashMap::new();
    let mut used: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    let mut covered: HashMap<&str, f64> = HashMap::new();
    let mut clause: HashMap<&str, f64> = HashMap::new();
    for lot in &result.lots {
        let key = (lot.line.as_str(), lot.supplier.as_str());
        let (Some(line), Some(supplier)) = (lines.get(key.0), suppliers.get(key.1)) else {
            errors.push(format!("lot {}/{} names an unknown line or supplier", key.0, key.1));
            continue;
        };
        if lot.quantity.is_nan() || lot.quantity <= 0.0 {
            errors.push(format!("lot {}/{} has quantity {}", key.0, key.1, lot.quantity));
        }
        let d = haversine_km(supplier.location, line.site);
        if (lot.distance_km - d).abs() > TOL {
            errors.push(format!("lot {}/{} distance {} but haversine gives {d}", key.0, key.1, lot.distance_km));
        }
        *used.entry((key.1, line.sector.as_str())).or_default() += lot.quantity;
        *covered.entry(key.0).or_default() += lot.quantity;
        *clause.entry(key.0).or_default() += supplier.insertion_rate.unwrap_or(0.0) * lot.quantity;
        if lot.fixed {
            match fixed.get(&key) {
                None => errors.push(format!("lot {}/{} says fixed but no such fixed lot", key.0, key.1)),
                Some(&q) if (lot.quantity - q).abs() > TOL => {
                    errors.push(format!("fixed lot {}/{} is {} instead of {q}", key.0, key.1, lot.quantity))
                }
                Some(_) => {}
            }
            if fixed_seen.insert(key, lot.quantity).is_some() {
                errors.push(format!("fixed lot {}/{} reported twice", key.0, key.1));
            }
            if added.contains_key(&key) {
                errors.push(format!("fixed lot {}/{} reported after its addition", key.0, key.1));
            }
            continue;
        }
        if added.insert(key, lot.quantity).is_some() {
            errors.push(format!("new lot {}/{} reported twice", key.0, key.1));
        }
        if excluded(key.0, key.1) {
            errors.push(format!("new lot {}/{} on an excluded pair", key.0, key.1));
        }
        if !eligible(line, supplier) {
            errors.push(format!("new lot {}/{} goes to an ineligible kind {:?}", key.0, key.1, supplier.kind));
        }
        if d > supplier.max_distance_km {
            errors.push(format!(
                "lot {}/{} at {d} km is beyond the supplier's {} km",
                key.0, key.1, supplier.max_distance_km
            ));
        }
        if lot.quantity < supplier.min_lot - TOL {
            errors
                .push(format!("lot {}/{} of {} is under the min lot {}", key.0, key.1, lot.quantity, supplier.min_lot));
        }
        let share = line.max_share.unwrap_or(1.0) * line.quantity;
        let held = fixed.get(&key).copied().unwrap_or(0.0);
        if lot.quantity + held > share + TOL {
            errors.push(format!(
                "lot {}/{} of {} (+{held} fixed) is over the max share {share}",
                key.0, key.1, lot.quantity
            ));
        }
    }
    for (&(l, s), &q) in &fixed {
        if q > 0.0 && !fixed_seen.contains_key(&(l, s)) {
            errors.push(format!("fixed lot {l}/{s} ({q}) is missing"));
        }
    }
    for (&(s, sector), &total) in &used {
        let capacity = suppliers[s].capacity.get(sector).copied().unwrap_or(0.0);
        if total > capacity + TOL {
            errors.push(format!("supplier {s} booked {total} in {sector}, over its capacity {capacity}"));
        }
    }
    let mut short: HashMap<&str, f64> = HashMap::new();
    for s in &result.shortfall {
        if short.insert(s.line.as_str(), s.quantity).is_some() {
            errors.push(format!("shortfall of line {} reported twice", s.line));
        }
        if s.quantity <= 0.0 {
            errors.push(format!("shortfall of line {} is {}", s.line, s.quantity));
        }
        if s.reason.trim().is_empty() {
            errors.push(format!("shortfall of line {} has no reason", s.line));
        }
    }
    let unmet: HashMap<&str, f64> = result.clause_shortfall.iter().map(|c| (c.line.as_str(), c.hours)).collect();
    for c in &result.clause_shortfall {
        if c.reason.trim().is_empty() {
            errors.push(format!("clause shortfall of line {} has no reason", c.line));
        }
    }
    for line in &input.lines {
        let total =
            covered.get(line.id.as_str()).copied().unwrap_or(0.0) + short.get(line.id.as_str()).copied().unwrap_or(0.0);
        if (total - line.quantity).abs() > TOL {
            errors.push(format!("line {}: lots + shortfall = {total}, quantity {}", line.id, line.quantity));
        }
        let want =
            (line.insertion_hours_min.unwrap_or(0.0) - clause.get(line.id.as_str()).copied().unwrap_or(0.0)).max(0.0);
        let got = unmet.get(line.id.as_str()).copied().unwrap_or(0.0);
        if (want - got).abs() > 1e-5 {
            errors.push(format!("line {}: clause shortfall reported {got}, lots give {want}", line.id));
        }
    }
    let objective = recompute_objective(input, result);
    if !close(objective, result.objective) {
        errors.push(format!("reported objective {} but recomputed {objective}", result.objective));
    }
    if errors.is_empty() { Ok(()) } else { Err(errors.join("\n")) }
}
