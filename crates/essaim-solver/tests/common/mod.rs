//! Shared checks for the solver's integration tests: an independent reading of DESIGN.md §3 (haversine
//! distance, the constraints and the objective), written without looking at the solver's internals.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::{BTreeMap, HashMap};

use essaim_solver::{AllocationInput, AllocationResult, Site, Weights};

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

/// Σ α·d·x + F·lots + P·shortfall recomputed from the reported lots and shortfall.
pub fn recompute_objective(input: &AllocationInput, result: &AllocationResult) -> f64 {
    let w = weights(input);
    let lines: HashMap<&str, _> = input.lines.iter().map(|l| (l.id.as_str(), l)).collect();
    let suppliers: HashMap<&str, _> = input.suppliers.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut objective = 0.0;
    for lot in &result.lots {
        let d = haversine_km(suppliers[lot.supplier.as_str()].location, lines[lot.line.as_str()].site);
        objective += w.per_unit_km * d * lot.quantity + w.per_lot;
    }
    for s in &result.shortfall {
        objective += w.per_unit_shortfall * s.quantity;
    }
    objective
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// Checks every constraint of DESIGN.md §3 and the reported objective. `Err` lists what is wrong.
pub fn check_result(input: &AllocationInput, result: &AllocationResult) -> Result<(), String> {
    let mut errors: Vec<String> = Vec::new();
    let lines: HashMap<&str, _> = input.lines.iter().map(|l| (l.id.as_str(), l)).collect();
    let suppliers: HashMap<&str, _> = input.suppliers.iter().map(|s| (s.id.as_str(), s)).collect();
    let fixed: HashMap<(&str, &str), f64> =
        input.fixed.iter().map(|f| ((f.line.as_str(), f.supplier.as_str()), f.quantity)).collect();

    let mut seen: HashMap<(&str, &str), f64> = HashMap::new();
    let mut used: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    let mut covered: HashMap<&str, f64> = HashMap::new();
    for lot in &result.lots {
        let key = (lot.line.as_str(), lot.supplier.as_str());
        let (Some(line), Some(supplier)) = (lines.get(key.0), suppliers.get(key.1)) else {
            errors.push(format!("lot {}/{} names an unknown line or supplier", key.0, key.1));
            continue;
        };
        if seen.insert(key, lot.quantity).is_some() {
            errors.push(format!("lot {}/{} reported twice", key.0, key.1));
        }
        if lot.quantity.is_nan() || lot.quantity <= 0.0 {
            errors.push(format!("lot {}/{} has quantity {}", key.0, key.1, lot.quantity));
        }
        let d = haversine_km(supplier.location, line.site);
        if (lot.distance_km - d).abs() > TOL {
            errors.push(format!("lot {}/{} distance {} but haversine gives {d}", key.0, key.1, lot.distance_km));
        }
        *used.entry((key.1, line.sector.as_str())).or_default() += lot.quantity;
        *covered.entry(key.0).or_default() += lot.quantity;
        if input.excluded.iter().any(|e| e.line == key.0 && e.supplier == key.1) {
            errors.push(format!("lot {}/{} is on an excluded pair", key.0, key.1));
        }
        if let Some(&q) = fixed.get(&key) {
            if (lot.quantity - q).abs() > TOL {
                errors.push(format!("fixed lot {}/{} is {} instead of {q}", key.0, key.1, lot.quantity));
            }
            continue;
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
        if lot.quantity > share + TOL {
            errors.push(format!("lot {}/{} of {} is over the max share {share}", key.0, key.1, lot.quantity));
        }
    }
    for (&(l, s), &q) in &fixed {
        if q > 0.0 && !seen.contains_key(&(l, s)) {
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
    for line in &input.lines {
        let total =
            covered.get(line.id.as_str()).copied().unwrap_or(0.0) + short.get(line.id.as_str()).copied().unwrap_or(0.0);
        if (total - line.quantity).abs() > TOL {
            errors.push(format!("line {}: lots + shortfall = {total}, quantity {}", line.id, line.quantity));
        }
    }
    let objective = recompute_objective(input, result);
    if !close(objective, result.objective) {
        errors.push(format!("reported objective {} but recomputed {objective}", result.objective));
    }
    if errors.is_empty() { Ok(()) } else { Err(errors.join("\n")) }
}
