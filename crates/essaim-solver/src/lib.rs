//! Allocation of tender lines into micro-lots across the suppliers of a groupement or territory.
//!
//! [`allocate`] is a pure function from an [`AllocationInput`] to an [`AllocationResult`]: the exact
//! mixed-integer model of DESIGN.md §3 (distance cost, fixed cost per lot, shortfall penalty; capacity per
//! sector, travel radius, minimum lot, maximum share), solved with good_lp. It does no I/O and knows
//! nothing of databases or chat.
//!
//! How the model is kept small enough to prove optimality quickly (details in `model`): pairs out of reach
//! never become variables, big-M constants are tightened per pair, pairs that can never reach the minimum
//! lot are dropped, capacity rows that cannot bind are left out, the problem is split into independent
//! components (lines of one sector sharing suppliers) and each component starts from the greedy solution.
//!
//! Every unit left uncovered is reported per line with the reason in words. A time limit bounds the whole
//! run: past it, the best solution found is returned with `status: feasible` and a gap.
//! [`greedy_allocate`] is the nearest-first baseline, kept for benchmarks only.

mod explain;
pub mod generate;
mod greedy;
mod input;
mod model;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use essaim_core::{ClauseShortfall, Lang, MicroLot, Shortfall, ShortfallCause, round_quantity};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use input::{AllocationInput, ExcludedPair, FixedLot, LineInput, Site, SupplierInput, Weights};
pub use model::Backend;

use input::Instance;
use model::{EPS, Residual};

/// Why an allocation could not be attempted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SolverError {
    /// The input JSON is not well formed or does not have the expected shape.
    #[error("the allocation input is not valid JSON of the expected shape: {0}")]
    Json(String),
    /// One item of the input is wrong; `item` and `field` say where.
    #[error("{item}: {field}: {message}")]
    InvalidInput { item: String, field: String, message: String },
}

/// How to run the solver.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolveSettings {
    /// Wall-clock budget for the whole run; the best solution found is returned past it.
    pub time_limit: Duration,
    pub backend: Backend,
}

impl Default for SolveSettings {
    fn default() -> Self {
        Self { time_limit: Duration::from_secs(30), backend: Backend::default() }
    }
}

/// `optimal`: proven optimum; `feasible`: best found within the time limit (see `gap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Optimal,
    Feasible,
}

/// Size and cost of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub variables: usize,
    pub constraints: usize,
    /// Independent sub-problems solved.
    pub components: usize,
    pub backend: String,
    /// Wall-clock time of the run; the only field that differs between two runs of the same input.
    pub solve_ms: f64,
}

/// The outcome of one solver run (the JSON of `essaim allocate --output`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocationResult {
    pub status: Status,
    /// Σ (α·d + φ·ρ_s/ρ_max)·x + F·(number of lots) + P·shortfall + Q·clause shortfall, fixed lots
    /// included.
    pub objective: f64,
    /// Relative gap to the best proven bound, when not proven optimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<f64>,
    /// Micro-lots (fixed ones included), by line then supplier, in input order.
    pub lots: Vec<MicroLot>,
    /// What is left uncovered, per line, with the reason.
    pub shortfall: Vec<Shortfall>,
    /// Clause hours not reached, per line with `insertion_hours_min`, with the reason.
    pub clause_shortfall: Vec<ClauseShortfall>,
    pub stats: Stats,
}

/// Solves the allocation exactly (within the time limit).
pub fn allocate(input: &AllocationInput, settings: &SolveSettings) -> Result<AllocationResult, SolverError> {
    let started = Instant::now();
    let instance = input.validate()?;
    let span = tracing::info_span!("allocate", lines = instance.lines.len(), suppliers = instance.suppliers.len());
    let _guard = span.enter();
    let residual = Residual::new(&instance);
    let components = model::components(&instance, model::candidate_pairs(&instance, &residual));
    let deadline = started + settings.time_limit;

    let mut chosen: Vec<(usize, usize, f64)> = Vec::new();
    let (mut variables, mut constraints) = (0, 0);
    let mut proven = true;
    let mut bound = fixed_cost(&instance) + uncoverable_penalty(&instance, &residual, &components);
    // Each component gets a share of the remaining time proportional to its size, so that one hard
    // component cannot starve the others (they would fall back to the greedy lots).
    // Smallest first: the easy ones finish early and the hardest gets all the time they leave.
    let mut order: Vec<&model::Component> = components.iter().collect();
    order.sort_by_key(|c| c.pairs.len());
    let mut size_left: usize = components.iter().map(|c| c.pairs.len()).sum();
    for component in order {
        let remaining = deadline.saturating_duration_since(Instant::now()).as_secs_f64();
        let left = remaining * component.pairs.len() as f64 / size_left.max(1) as f64;
        size_left -= component.pairs.len();
        let solved = model::solve_component(&instance, &residual, component, left, settings.backend);
        variables += solved.variables;
        constraints += solved.constraints;
        proven &= solved.proven_optimal;
        bound += if solved.proven_optimal {
            component_cost(&instance, &residual, component, &solved.quantities)
        } else {
            solved.bound.unwrap_or(0.0).max(0.0)
        };
        for (p, &q) in component.pairs.iter().zip(&solved.quantities) {
            chosen.push((p.line, p.supplier, q));
        }
    }
    let mut result = build_result(&instance, &chosen, proven);
    result.stats.variables = variables;
    result.stats.constraints = constraints;
    result.stats.components = components.len();
    result.stats.backend = settings.backend.name().to_owned();
    if !proven {
        result.status = Status::Feasible;
        let gap = if result.objective > 0.0 { ((result.objective - bound) / result.objective).max(0.0) } else { 0.0 };
        result.gap = Some(round_quantity(gap));
    }
    result.stats.solve_ms = elapsed_ms(started);
    tracing::info!(status = ?result.status, objective = result.objective, ms = result.stats.solve_ms, "allocation done");
    Ok(result)
}

/// Nearest-supplier-first baseline: fast, not optimal. For benchmarks only.
pub fn greedy_allocate(input: &AllocationInput) -> Result<AllocationResult, SolverError> {
    let started = Instant::now();
    let instance = input.validate()?;
    let residual = Residual::new(&instance);
    let components = model::components(&instance, model::candidate_pairs(&instance, &residual));
    let mut chosen = Vec::new();
    for component in &components {
        let quantities = greedy::fill_component(&instance, &residual, component);
        for (p, q) in component.pairs.iter().zip(quantities) {
            chosen.push((p.line, p.supplier, q));
        }
    }
    let mut result = build_result(&instance, &chosen, false);
    result.status = Status::Feasible;
    result.stats.components = components.len();
    result.stats.backend = "greedy".to_owned();
    result.stats.solve_ms = elapsed_ms(started);
    Ok(result)
}

fn elapsed_ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

/// What the fixed lots cost: (α·d + fairness)·f + F each.
fn fixed_cost(instance: &Instance) -> f64 {
    let w = instance.weights;
    instance.fixed.iter().filter(|(_, q)| **q > EPS).map(|(&(l, s), &q)| lot_cost(instance, l, s, q) + w.per_lot).sum()
}

/// The variable cost of `q` units on a pair: (α·d + φ·ρ_s/ρ_max)·q.
fn lot_cost(instance: &Instance, l: usize, s: usize, q: f64) -> f64 {
    (instance.weights.per_unit_km * instance.distance(l, s) + instance.suppliers[s].fairness) * q
}

/// Penalty of the open demand and open clause hours of lines that no component covers (no pair at all).
fn uncoverable_penalty(instance: &Instance, residual: &Residual, components: &[model::Component]) -> f64 {
    let mut in_component = vec![false; instance.lines.len()];
    for c in components {
        for &l in &c.lines {
            in_component[l] = true;
        }
    }
    let w = instance.weights;
    (0..instance.lines.len())
        .filter(|&l| !in_component[l])
        .map(|l| w.per_unit_shortfall * residual.demand[l] + w.per_clause_hour_shortfall * residual.clause[l])
        .sum()
}

/// The objective of one component's solution (new lots only; the fixed ones are counted apart).
fn component_cost(instance: &Instance, residual: &Residual, component: &model::Component, quantities: &[f64]) -> f64 {
    let w = instance.weights;
    let mut cost = 0.0;
    let mut covered: HashMap<usize, f64> = HashMap::new();
    let mut reached: HashMap<usize, f64> = HashMap::new();
    for (p, &q) in component.pairs.iter().zip(quantities) {
        if q > EPS {
            cost += p.unit_cost * q + w.per_lot;
            *covered.entry(p.line).or_default() += q;
            *reached.entry(p.line).or_default() += instance.suppliers[p.supplier].insertion_rate * q;
        }
    }
    for &l in &component.lines {
        cost += w.per_unit_shortfall * (residual.demand[l] - covered.get(&l).copied().unwrap_or(0.0)).max(0.0);
        cost += w.per_clause_hour_shortfall * (residual.clause[l] - reached.get(&l).copied().unwrap_or(0.0)).max(0.0);
    }
    cost
}

/// Turns chosen quantities (plus the fixed lots) into the reported lots, shortfall and objective. A pair
/// with a fixed lot and an addition gives two lots, the fixed one first.
fn build_result(instance: &Instance, chosen: &[(usize, usize, f64)], proven: bool) -> AllocationResult {
    let w = instance.weights;
    let mut added: HashMap<(usize, usize), f64> = HashMap::new();
    for &(l, s, q) in chosen {
        let q = round_quantity(q);
        if q > 0.0 {
            *added.entry((l, s)).or_default() += q;
        }
    }
    let mut keys: Vec<(usize, usize)> = instance.fixed.keys().copied().chain(added.keys().copied()).collect();
    keys.sort_unstable();
    keys.dedup();

    let mut objective = 0.0;
    let mut covered = vec![0.0; instance.lines.len()];
    let mut reached = vec![0.0; instance.lines.len()];
    let mut totals: HashMap<(usize, usize), f64> = HashMap::new();
    let mut used: HashMap<(usize, usize), f64> = HashMap::new();
    let mut lots = Vec::with_capacity(keys.len());
    for (l, s) in keys {
        let distance = instance.distance(l, s);
        let parts = [(instance.fixed.get(&(l, s)).copied(), true), (added.get(&(l, s)).copied(), false)];
        for (q, fixed) in parts {
            let Some(q) = q.filter(|q| *q > 0.0) else { continue };
            objective += lot_cost(instance, l, s, q) + w.per_lot;
            covered[l] += q;
            reached[l] += instance.suppliers[s].insertion_rate * q;
            *totals.entry((l, s)).or_default() += q;
            *used.entry((s, instance.lines[l].sector)).or_default() += q;
            lots.push(MicroLot {
                line: instance.lines[l].id.clone(),
                supplier: instance.suppliers[s].id.clone(),
                quantity: q,
                distance_km: round_quantity(distance),
                fixed,
            });
        }
    }
    let residual = Residual::new(instance);
    let mut shortfall = Vec::new();
    let mut clause_shortfall = Vec::new();
    for (l, line) in instance.lines.iter().enumerate() {
        let missing = round_quantity((line.quantity - covered[l]).max(0.0));
        objective += w.per_unit_shortfall * missing;
        if missing > 0.0 {
            let causes = explain::shortfall_causes(instance, l, missing, &totals, &used, proven);
            shortfall.push(Shortfall {
                line: line.id.clone(),
                quantity: missing,
                reason: ShortfallCause::render_all(&causes, Lang::En, &|id| id.to_owned()),
                causes,
            });
        }
        let unmet = round_quantity((line.clause_hours - reached[l]).max(0.0));
        objective += w.per_clause_hour_shortfall * unmet;
        if unmet > 0.0 {
            let cause = explain::clause_cause(instance, &residual, l, proven);
            clause_shortfall.push(ClauseShortfall {
                line: line.id.clone(),
                hours: unmet,
                reason: cause.render(Lang::En),
                cause,
            });
        }
    }
    AllocationResult {
        status: if proven { Status::Optimal } else { Status::Feasible },
        objective: round_quantity(objective),
        gap: None,
        lots,
        shortfall,
        clause_shortfall,
        stats: Stats { variables: 0, constraints: 0, components: 0, backend: String::new(), solve_ms: 0.0 },
    }
}
