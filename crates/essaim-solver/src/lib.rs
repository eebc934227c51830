//! Allocation of tender lines into micro-lots across the suppliers of a groupement or territory.
//!
//! [`allocate`] is a pure function from an [`AllocationInput`] to an [`AllocationResult`]: the exact
//! mixed-integer model of docs/allocation.md (distance cost, fixed cost per lot, shortfall penalty; capacity per
//! sector, travel radius, minimum lot, maximum share, and the procurement rules). It does no I/O and knows
//! nothing of databases or chat.
//!
//! How the model is kept small enough to prove optimality quickly (details in `model`): pairs out of reach
//! never become variables, big-M constants are tightened per pair, pairs that can never reach the minimum
//! lot are dropped, capacity rows that cannot bind are left out, and the problem is split into independent
//! components (lines of one sector sharing suppliers), solved in parallel. Each component starts from the
//! greedy lots; a small one is then proven by branch and bound, a large (dense) one is improved by
//! fix-and-optimize under a proven lower bound (`search`), then cut and reduced around its lots so that
//! branch and bound can prove it after all (`cuts`).
//!
//! Every unit left uncovered is reported per line with the reason in words. A time limit bounds the whole
//! run and a work limit (nodes) makes it reproducible: past either, the best solution found is returned
//! with `status: feasible`, its gap to the bound and `stats.stopped_by`.
//! [`greedy_allocate`] is the nearest-first baseline, kept for benchmarks only.

mod cuts;
mod explain;
pub mod generate;
mod greedy;
mod input;
mod milp;
mod model;
mod rng;
mod search;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use essaim_core::{ClauseShortfall, Lang, MicroLot, Shortfall, ShortfallCause, round_quantity};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use input::{AllocationInput, ExcludedPair, FixedLot, LineInput, Site, SupplierInput, Weights};
pub use milp::Backend;

use input::Instance;
use model::{EPS, Residual};
use search::{Budget, ComponentSolution, Event, Waiting};

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
    /// Branch-and-bound nodes each component may spend (all its solves together). With it, the result
    /// is the same on every run and machine, unless the time limit comes first (`stats.stopped_by`
    /// says which). `None`: the time limit alone.
    pub work_limit: Option<u64>,
    pub backend: Backend,
}

impl Default for SolveSettings {
    fn default() -> Self {
        Self { time_limit: Duration::from_secs(30), work_limit: None, backend: Backend::default() }
    }
}

/// What stopped the search (`stats.stopped_by`): of a component, and of the run — the component that
/// stopped on the strongest limit decides (the order below).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StoppedBy {
    /// Every component proven optimal.
    #[default]
    ProvenOptimal,
    /// The neighbourhood search found no better lots for many rounds (not proven; see `gap`).
    NoImprovement,
    /// The work limit (`--work-limit`) was spent.
    WorkLimit,
    /// The time limit was reached.
    TimeLimit,
}

/// Where a run stands, for a progress display: the cost of the best lots so far and the best proven
/// bound (both over the whole instance), and how many components are done.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub objective: f64,
    pub bound: f64,
    pub components_done: usize,
    pub components: usize,
}

impl Progress {
    /// Relative gap between `objective` and `bound`.
    pub fn gap(&self) -> f64 {
        if self.objective > 0.0 { ((self.objective - self.bound) / self.objective).max(0.0) } else { 0.0 }
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
    /// Which limit ended the search.
    #[serde(default)]
    pub stopped_by: StoppedBy,
    /// Branch-and-bound nodes spent, every solve included.
    #[serde(default)]
    pub nodes: u64,
    /// Neighbourhoods solved by fix-and-optimize.
    #[serde(default)]
    pub neighbourhoods: u64,
    /// Further turns given, on threads left idle, to components their share of the time cut short.
    #[serde(default)]
    pub turns: u64,
    /// Wall-clock time of the run; with a work limit, the only field that differs between two runs of
    /// the same input.
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
    allocate_observed(input, settings, &|_| {})
}

/// Seconds an allocation took (histogram, `essaim_solver_duration_seconds`), and allocations by how they
/// ended (counter, `essaim_solver_runs_total{status="optimal|feasible|invalid"}`), through the `metrics`
/// facade: recorded only when the program installed a recorder (`essaim serve` does, for `/metrics`).
pub const SOLVER_DURATION: &str = "essaim_solver_duration_seconds";
pub const SOLVER_RUNS: &str = "essaim_solver_runs_total";

/// [`allocate`], telling `observer` each time the best lots or the bound improve.
pub fn allocate_observed(
    input: &AllocationInput,
    settings: &SolveSettings,
    observer: &(dyn Fn(&Progress) + Sync),
) -> Result<AllocationResult, SolverError> {
    let started = Instant::now();
    let outcome = solve_observed(input, settings, observer, started);
    let status = match &outcome {
        Ok(result) if result.status == Status::Optimal => "optimal",
        Ok(_) => "feasible",
        Err(_) => "invalid",
    };
    metrics::histogram!(SOLVER_DURATION).record(started.elapsed().as_secs_f64());
    metrics::counter!(SOLVER_RUNS, "status" => status).increment(1);
    outcome
}

fn solve_observed(
    input: &AllocationInput,
    settings: &SolveSettings,
    observer: &(dyn Fn(&Progress) + Sync),
    started: Instant,
) -> Result<AllocationResult, SolverError> {
    let instance = input.validate()?;
    let span = tracing::info_span!("allocate", lines = instance.lines.len(), suppliers = instance.suppliers.len());
    let _guard = span.enter();
    let residual = Residual::new(&instance);
    let mut components = model::components(&instance, model::candidate_pairs(&instance, &residual));
    for component in &mut components {
        model::drop_dominated(&instance, &residual, component);
    }
    let constant = fixed_cost(&instance) + uncoverable_penalty(&instance, &residual, &components);
    let solved = solve_components(&instance, &residual, &components, settings, started, constant, observer);

    let mut chosen: Vec<(usize, usize, f64)> = Vec::new();
    let mut bound = constant;
    for (component, solved) in components.iter().zip(&solved) {
        bound += if solved.proven_optimal() { solved.cost } else { solved.bound.unwrap_or(0.0).max(0.0) };
        for (p, &q) in component.pairs.iter().zip(&solved.quantities) {
            chosen.push((p.line, p.supplier, q));
        }
    }
    let proven = solved.iter().all(ComponentSolution::proven_optimal);
    let mut result = build_result(&instance, &chosen, proven);
    result.stats.variables = solved.iter().map(|s| s.variables).sum();
    result.stats.constraints = solved.iter().map(|s| s.constraints).sum();
    result.stats.components = components.len();
    result.stats.backend = settings.backend.name().to_owned();
    result.stats.nodes = solved.iter().map(|s| s.nodes).sum();
    result.stats.neighbourhoods = solved.iter().map(|s| s.neighbourhoods).sum();
    result.stats.turns = solved.iter().map(|s| s.turns).sum();
    result.stats.stopped_by = solved.iter().map(|s| s.ending).max().unwrap_or_default();
    if !proven {
        result.status = Status::Feasible;
        let gap = if result.objective > 0.0 { ((result.objective - bound) / result.objective).max(0.0) } else { 0.0 };
        result.gap = Some(round_quantity(gap));
    }
    result.stats.solve_ms = elapsed_ms(started);
    tracing::info!(status = ?result.status, objective = result.objective, ms = result.stats.solve_ms, "allocation done");
    Ok(result)
}

/// Solves every component, on as many threads as the machine has, largest first. Each gets a share of
/// the time limit in proportion to its size (times the number of threads, as the others run beside it,
/// and scaled so that the first turns all fit in the time limit: [`first_turns_fit`]), so that one hard
/// component cannot starve the rest; the easy ones finish in milliseconds and leave their time to it.
/// The share binds only while some component still waits for its first turn: once the last one has
/// started, the turns running may go on to the time limit (a branch and bound cut short would have to
/// start again from scratch). A thread left idle then takes another turn on the open component its share
/// cut short, the one furthest from its bound, until the time limit: no core idles while a component
/// could still improve. With a work limit, each component has that many nodes whatever the threads.
fn solve_components(
    instance: &Instance,
    residual: &Residual,
    components: &[model::Component],
    settings: &SolveSettings,
    started: Instant,
    constant: f64,
    observer: &(dyn Fn(&Progress) + Sync),
) -> Vec<ComponentSolution> {
    let deadline = started + settings.time_limit;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(components.len()).max(1);
    let total: usize = components.iter().map(|c| c.pairs.len()).sum::<usize>().max(1);
    let mut order: Vec<usize> = (0..components.len()).collect();
    order.sort_by_key(|&c| std::cmp::Reverse(components[c].pairs.len()));
    let share_of = |c: usize| components[c].pairs.len() as f64 / total as f64 * threads as f64;
    let fit = first_turns_fit(order.iter().map(|&c| share_of(c)), threads);
    let next = AtomicUsize::new(0);
    let waiting = Waiting::default();
    // Per component: cost of its best lots, its bound, whether it is done.
    let board = Mutex::new((vec![0.0; components.len()], vec![0.0; components.len()], 0usize));
    let report = |c: usize, event: Option<Event>| {
        let Ok(mut board) = board.lock() else { return };
        match event {
            Some(Event::Incumbent(cost)) => board.0[c] = cost,
            Some(Event::Bound(bound)) => board.1[c] = bound,
            None => board.2 += 1,
        }
        observer(&Progress {
            objective: constant + board.0.iter().sum::<f64>(),
            bound: constant + board.1.iter().sum::<f64>(),
            components_done: board.2,
            components: components.len(),
        });
    };
    let results: Mutex<Vec<Option<ComponentSolution>>> = Mutex::new(vec![None; components.len()]);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let (c, solved) = if let Some(&c) = order.get(k) {
                        if k + 1 == order.len() {
                            waiting.all_started.store(true, Ordering::SeqCst);
                        }
                        let share = share_of(c).min(1.0) * fit;
                        // At most the whole limit: the share is capped at 1 and `fit` is at most 1.
                        let own = Instant::now() + settings.time_limit.mul_f64(share);
                        let budget = Budget {
                            share_ends: own.min(deadline),
                            run: Some((deadline, &waiting)),
                            nodes: settings.work_limit,
                            halt: None,
                        };
                        let on_event = |event: Event| report(c, Some(event));
                        let solved = search::solve_component(
                            instance,
                            residual,
                            &components[c],
                            budget,
                            settings.backend,
                            &on_event,
                        );
                        report(c, None);
                        (c, solved)
                    } else {
                        let Some((c, previous)) = take_cut_short(&results, deadline, &waiting) else {
                            // Nothing left for this thread: a component still searched may use it.
                            waiting.idle.fetch_add(1, Ordering::SeqCst);
                            break;
                        };
                        let budget = Budget {
                            share_ends: deadline,
                            run: Some((deadline, &waiting)),
                            nodes: settings.work_limit,
                            halt: None,
                        };
                        let on_event = |event: Event| report(c, Some(event));
                        let solved = search::resume_component(
                            instance,
                            residual,
                            &components[c],
                            previous,
                            budget,
                            settings.backend,
                            &on_event,
                        );
                        (c, solved)
                    };
                    if let Some(bound) = solved.proven_optimal().then_some(solved.cost) {
                        report(c, Some(Event::Bound(bound)));
                    }
                    let mut solved = solved;
                    if let Ok(mut results) = results.lock() {
                        if solved.ending == StoppedBy::TimeLimit {
                            waiting.cut_short.fetch_add(1, Ordering::SeqCst);
                        } else {
                            // No further turn: the polish's model and paused tree are only memory now.
                            solved.polishing = None;
                        }
                        results[c] = Some(solved);
                    }
                }
            });
        }
    });
    results.into_inner().unwrap_or_default().into_iter().flatten().collect()
}

/// The factor on the components' shares of the time limit (`shares`, largest first, in time limits) that
/// lets their first turns, each started on the thread free soonest, all end by the time limit.
///
/// Shares in proportion to the pairs add up to the threads' time only if the turns pack perfectly. With
/// more large components than threads they do not, and the last to start got what the others left: on
/// metro 200 × 40 (three components of 960–1180 pairs, two threads), the third started after 19.5–20.1 s
/// with about 10 s left for a share of 17.9–18.6 s; on seed 2 it ended 0.5 % above the lots HiGHS finds
/// for it in 10 s. Scaled, every first turn is shorter (there, three quarters) and the time they no
/// longer take goes to further turns, on the component furthest from its bound. Measured in one sitting,
/// runs with and without interleaved (single runs of these move by 0.1–0.2 %): metro 200 × 40 seed 1
/// ends at 176 076–176 695 (median of four runs 176 348) instead of 176 448–176 685 (median of five
/// 176 470), seed 2 at 185 671–185 880 instead of 185 880 (three runs each), seed 3 on the same lots;
/// metro 150 × 30 seeds 1–13 end on the same lots, or either way (seed 11: 146 923–146 971 against
/// 146 961 in three runs each, both above its optimum); metro 100 × 20 is proven as fast or a little
/// faster. HiGHS, given 10 s per component, ends metro 200 × 40 seeds 1–3 at 176 232, 185 647 and
/// 173 311: still lower.
fn first_turns_fit(shares: impl Iterator<Item = f64>, threads: usize) -> f64 {
    let mut ends = vec![0.0_f64; threads.max(1)];
    for share in shares {
        if let Some(soonest) = ends.iter_mut().min_by(|a, b| a.total_cmp(b)) {
            *soonest += share.min(1.0);
        }
    }
    let last = ends.iter().copied().fold(0.0, f64::max);
    if last > 1.0 { 1.0 / last } else { 1.0 }
}

/// Below this, time left is not worth another turn on a component.
const TURN_MIN: Duration = Duration::from_millis(100);

/// Takes out of `results` the component that its share of the time cut short (a first turn ended by
/// the time limit before the run's deadline) with the largest distance to its bound, for another
/// turn; `None` when there is none or too little time is left. Taken out, no other thread picks it.
fn take_cut_short(
    results: &Mutex<Vec<Option<ComponentSolution>>>,
    deadline: Instant,
    waiting: &Waiting,
) -> Option<(usize, ComponentSolution)> {
    if deadline.saturating_duration_since(Instant::now()) < TURN_MIN {
        return None;
    }
    let mut results = results.lock().ok()?;
    let open = |s: &ComponentSolution| s.cost - s.bound.unwrap_or(0.0);
    let c = results
        .iter()
        .enumerate()
        .filter_map(|(c, s)| s.as_ref().filter(|s| s.ending == StoppedBy::TimeLimit).map(|s| (c, open(s))))
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))?
        .0;
    let taken = results[c].take()?;
    waiting.cut_short.fetch_sub(1, Ordering::SeqCst);
    Some((c, taken))
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

/// Rounded to 1e-6 one by one, the lots of a line (or of a supplier in a sector) may add up to a hair over
/// its quantity (or capacity): take the excess off the largest new lot, so that no total ever exceeds.
fn trim_rounding(instance: &Instance, added: &mut HashMap<(usize, usize), f64>) {
    let mut keys: Vec<(usize, usize)> = added.keys().copied().collect();
    keys.sort_unstable();
    let fixed_on = |pick: &dyn Fn(usize, usize) -> bool| -> f64 {
        instance.fixed.iter().filter(|((l, s), _)| pick(*l, *s)).map(|(_, q)| q).sum()
    };
    for l in 0..instance.lines.len() {
        let on_line: Vec<(usize, usize)> = keys.iter().copied().filter(|k| k.0 == l).collect();
        let total = fixed_on(&|fl, _| fl == l) + on_line.iter().map(|k| added[k]).sum::<f64>();
        trim_largest(added, &on_line, total - instance.lines[l].quantity);
    }
    let mut by_capacity: HashMap<(usize, usize), Vec<(usize, usize)>> = HashMap::new();
    for &(l, s) in &keys {
        by_capacity.entry((s, instance.lines[l].sector)).or_default().push((l, s));
    }
    for ((s, k), members) in by_capacity {
        let fixed = fixed_on(&|fl, fs| fs == s && instance.lines[fl].sector == k);
        let total = fixed + members.iter().map(|m| added[m]).sum::<f64>();
        trim_largest(added, &members, total - instance.capacity(s, k));
    }
}

fn trim_largest(added: &mut HashMap<(usize, usize), f64>, among: &[(usize, usize)], excess: f64) {
    if excess <= 0.0 {
        return;
    }
    let largest = among.iter().copied().max_by(|a, b| added[a].total_cmp(&added[b]).then(b.cmp(a)));
    if let Some(key) = largest
        && let Some(q) = added.get_mut(&key)
    {
        *q = round_quantity((*q - excess).max(0.0));
    }
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
    trim_rounding(instance, &mut added);
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
        stats: Stats {
            variables: 0,
            constraints: 0,
            components: 0,
            backend: String::new(),
            stopped_by: StoppedBy::default(),
            nodes: 0,
            neighbourhoods: 0,
            turns: 0,
            solve_ms: 0.0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::first_turns_fit;

    #[test]
    fn first_turns_are_shortened_only_as_much_as_they_need_to_fit_on_the_threads() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        // Three equal components on two threads: the third starts when one of the first two ends.
        assert!(close(first_turns_fit([2.0 / 3.0; 3].into_iter(), 2), 0.75));
        // As many components as threads, or one large one and small ones that fill the other thread:
        // every turn fits already.
        assert!(close(first_turns_fit([1.0, 1.0].into_iter(), 2), 1.0));
        assert!(close(first_turns_fit([1.0, 0.5, 0.3, 0.2].into_iter(), 2), 1.0));
        // One thread: the shares add up to one time limit, which fits.
        assert!(close(first_turns_fit([0.6, 0.3, 0.1].into_iter(), 1), 1.0));
        // A small component after two large ones waits for the first to end.
        assert!(close(first_turns_fit([0.9, 0.9, 0.2].into_iter(), 2), 1.0 / 1.1));
    }
}
