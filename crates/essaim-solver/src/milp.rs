//! A mixed-integer program as plain data, and the backends that solve it.
//!
//! The model of a component is built once as a [`Milp`] (columns and sparse rows), then handed to a
//! backend. microlp is driven through its own API rather than good_lp's because only there does it take
//! a node budget: the work limit that makes a run reproducible whatever the machine's speed. HiGHS goes
//! through good_lp.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// One variable: bounds, objective coefficient, and whether it is binary.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Col {
    pub lower: f64,
    pub upper: f64,
    pub cost: f64,
    pub binary: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sense {
    Le,
    Ge,
    Eq,
}

/// One constraint: Σ coefficient·column (sense) rhs.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub terms: Vec<(usize, f64)>,
    pub sense: Sense,
    pub rhs: f64,
}

/// A minimisation problem.
#[derive(Debug, Clone, Default)]
pub(crate) struct Milp {
    pub cols: Vec<Col>,
    pub rows: Vec<Row>,
}

impl Milp {
    pub fn add_col(&mut self, lower: f64, upper: f64, cost: f64, binary: bool) -> usize {
        self.cols.push(Col { lower, upper, cost, binary });
        self.cols.len() - 1
    }

    pub fn add_row(&mut self, terms: Vec<(usize, f64)>, sense: Sense, rhs: f64) {
        self.rows.push(Row { terms, sense, rhs });
    }
}

/// What one solve may spend. The time is a safety net; the node budget, when set, is what makes the
/// outcome the same on every run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub seconds: f64,
    pub nodes: Option<u64>,
}

/// Why a solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    ProvenOptimal,
    TimeLimit,
    WorkLimit,
}

/// The best assignment a backend found.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// A value per column.
    pub values: Vec<f64>,
    pub stop: Stop,
    /// Best proven lower bound of the objective, when the backend knows one.
    pub bound: Option<f64>,
    /// Branch-and-bound nodes used (the root relaxation counts as one).
    pub nodes: u64,
}

/// Which MILP backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// Pure-Rust branch and bound (microlp) inside essaim's neighbourhood search: builds anywhere.
    #[default]
    Microlp,
    /// HiGHS (feature `highs`, needs cmake and a C++ compiler to build), on each whole component.
    #[cfg(feature = "highs")]
    Highs,
}

impl Backend {
    /// Every backend this build has.
    pub const AVAILABLE: &'static [Backend] = &[
        Backend::Microlp,
        #[cfg(feature = "highs")]
        Backend::Highs,
    ];

    /// The backend called `name`, when this build has it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::AVAILABLE.iter().copied().find(|b| b.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Microlp => "microlp",
            #[cfg(feature = "highs")]
            Self::Highs => "highs",
        }
    }
}

/// Solves `milp` from the feasible start `warm` (a value per column). `None` when the backend found
/// nothing usable or failed; a panic inside a backend is caught and logged, never propagated.
pub(crate) fn solve(milp: &Milp, warm: &[f64], limits: Limits, backend: Backend) -> Option<Outcome> {
    solve_in_slices(
        milp,
        warm,
        limits,
        backend,
        Slices { seconds: limits.seconds, tree: None, prove: false, spare: None },
        &mut |_| false,
        &mut |_| None,
    )
    .0
}

/// A microlp branch and bound stopped short of a proof (by its time or its nodes), open nodes and all:
/// handed back to [`solve_in_slices`] on the same model, it goes on where it stopped instead of growing
/// the same nodes again.
pub(crate) struct PausedTree {
    outcome: microlp::SolveOutcome,
    vars: Vec<microlp::Variable>,
}

impl std::fmt::Debug for PausedTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PausedTree").field("nodes", &self.outcome.stats().nodes_solved).finish()
    }
}

/// How [`solve_in_slices`] grows microlp's tree: `seconds` at a time, from `tree` when one was paused.
pub(crate) struct Slices<'a> {
    pub seconds: f64,
    pub tree: Option<PausedTree>,
    /// The tree is meant to prove a whole component: microlp branches by reliability (strong branching
    /// while its pseudocosts are unreliable) and fixes by reduced cost at every node
    /// (vendor/microlp/PATCHED.md). Their extra work per node pays on a tree of thousands of nodes, not
    /// on a neighbourhood's sub-problem of a few hundred: when every sub-problem did so, metro 150 × 30
    /// seed 4 ended at 107 403 instead of 107 136, and 400 × 60 0.5–1.4 % higher.
    pub prove: bool,
    /// Asked between slices, and before the first when a paused tree goes on: whether a core has nothing
    /// to do. When it has, half of the open nodes go to it (`SolveOutcome::split_open`,
    /// vendor/microlp/PATCHED.md) and the two shares grow side by side, sharing their incumbents, until
    /// both are done or the tree pauses whole again.
    pub spare: Option<&'a dyn Fn() -> bool>,
}

impl std::fmt::Debug for Slices<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slices")
            .field("seconds", &self.seconds)
            .field("tree", &self.tree)
            .field("prove", &self.prove)
            .field("spare", &self.spare.is_some())
            .finish()
    }
}

/// Where a branch and bound stands between two slices of its time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Standing {
    /// Cost of the best solution found, when one is.
    pub incumbent: Option<f64>,
    /// Best proven bound, when known.
    pub bound: Option<f64>,
}

/// Like [`solve`], but microlp's tree is grown `slices.seconds` at a time: after each slice cut short
/// by time, `keep_going` says from its standing whether the tree deserves another (its open nodes are
/// kept). A tree stopped short of a proof (by `keep_going`, the time or the node limit) is handed
/// back paused. After each slice, and at a stop short of a proof, `offer` is told the tree's incumbent
/// cost and may give lots found outside the tree meanwhile (a value per column): they become its
/// incumbent when feasible and cheaper, and the tree prunes with them; a paused tree is offered `warm`
/// so before it goes on. HiGHS gets the whole time at once. `limits.nodes` caps the whole tree, earlier
/// calls on a paused tree included.
pub(crate) fn solve_in_slices(
    milp: &Milp,
    warm: &[f64],
    limits: Limits,
    backend: Backend,
    slices: Slices,
    keep_going: &mut dyn FnMut(Standing) -> bool,
    offer: &mut dyn FnMut(Option<f64>) -> Option<Vec<f64>>,
) -> (Option<Outcome>, Option<PausedTree>) {
    let outcome = catch_unwind(AssertUnwindSafe(|| match backend {
        Backend::Microlp => solve_microlp_in_slices(milp, warm, limits, slices, keep_going, offer),
        #[cfg(feature = "highs")]
        Backend::Highs => (solve_highs(milp, warm, limits), None),
    }));
    outcome.unwrap_or_else(|_| {
        tracing::error!("the MILP backend panicked; keeping the best lots known so far");
        (None, None)
    })
}

/// `cols` and `rows` as a microlp problem, binaries kept binary or `relaxed` to [0, 1] (an LP).
pub(crate) fn microlp_problem(
    cols: &[Col],
    rows: &[Row],
    relaxed: bool,
    direction: microlp::OptimizationDirection,
) -> (microlp::Problem, Vec<microlp::Variable>) {
    let mut problem = microlp::Problem::new(direction);
    let vars: Vec<microlp::Variable> = cols
        .iter()
        .map(|c| {
            if c.binary && !relaxed {
                problem.add_binary_var(c.cost)
            } else {
                problem.add_var(c.cost, (c.lower, c.upper))
            }
        })
        .collect();
    for row in rows {
        let mut expr = microlp::LinearExpr::empty();
        for &(col, a) in &row.terms {
            expr.add(vars[col], a);
        }
        let op = match row.sense {
            Sense::Le => microlp::ComparisonOp::Le,
            Sense::Ge => microlp::ComparisonOp::Ge,
            Sense::Eq => microlp::ComparisonOp::Eq,
        };
        problem.add_constraint(expr, op, row.rhs);
    }
    (problem, vars)
}

/// Below this many seconds left, a spare core does not take half of the tree: cloning it would cost
/// more than the nodes it grows.
const SPLIT_MIN: f64 = 1.0;

/// The cheapest solution among the tree's shares.
fn best_of(parts: &[microlp::SolveOutcome]) -> Option<&microlp::Solution> {
    parts.iter().filter_map(|p| p.solution()).min_by(|a, b| a.objective().total_cmp(&b.objective()))
}

/// Each share prunes with the cheapest incumbent any share found.
fn share_incumbents(parts: &mut Vec<microlp::SolveOutcome>, vars: &[microlp::Variable]) {
    if parts.len() < 2 {
        return;
    }
    let Some(best) = best_of(parts).map(|s| vars.iter().map(|&v| s.var_value(v)).collect::<Vec<f64>>()) else {
        return;
    };
    *parts = std::mem::take(parts).into_iter().map(|p| p.offer_solution(&best).0).collect();
}

/// A share that finished its nodes hands its count to one still searching; when every share has, they
/// are one proven tree.
fn fold_proven(parts: Vec<microlp::SolveOutcome>) -> Vec<microlp::SolveOutcome> {
    if parts.len() < 2 {
        return parts;
    }
    let (done, mut open): (Vec<_>, Vec<_>) = parts.into_iter().partition(|p| p.is_optimal());
    let mut done = done.into_iter();
    if open.is_empty() {
        let Some(first) = done.next() else { return open };
        return vec![done.fold(first, microlp::SolveOutcome::absorb)];
    }
    for part in done {
        let searching = open.remove(0);
        open.insert(0, searching.absorb(part));
    }
    open
}

/// Grows each share of a tree for `time_limit` and `node_limit` more, side by side when there are several.
fn grow(
    parts: Vec<microlp::SolveOutcome>,
    time_limit: Option<Duration>,
    node_limit: Option<u64>,
) -> Result<Vec<microlp::SolveOutcome>, microlp::Error> {
    let resume = |part: microlp::SolveOutcome| {
        let mut options = part.last_resume_options();
        options.time_limit = time_limit;
        options.node_limit = node_limit;
        part.resume_with(options)
    };
    if parts.len() == 1 {
        return parts.into_iter().map(resume).collect();
    }
    std::thread::scope(|scope| {
        let running: Vec<_> = parts.into_iter().map(|part| scope.spawn(move || resume(part))).collect();
        running
            .into_iter()
            .map(|r| {
                r.join().unwrap_or_else(|_| {
                    Err(microlp::Error::InternalError(String::from("a share of the tree panicked")))
                })
            })
            .collect()
    })
}

fn solve_microlp_in_slices(
    milp: &Milp,
    warm: &[f64],
    limits: Limits,
    slices: Slices,
    keep_going: &mut dyn FnMut(Standing) -> bool,
    offer: &mut dyn FnMut(Option<f64>) -> Option<Vec<f64>>,
) -> (Option<Outcome>, Option<PausedTree>) {
    use microlp::{OptimizationDirection, SolveOptions};
    let started = Instant::now();
    let slice = slices.seconds;
    let first = Duration::from_secs_f64(slice.min(limits.seconds).max(0.001));
    let (parts, vars, nodes_before) = match slices.tree {
        Some(PausedTree { outcome, vars }) => {
            // The start may be cheaper lots than the tree's incumbent (found since it paused).
            let (outcome, _) = outcome.offer_solution(warm);
            let before = outcome.stats().nodes_solved;
            // A core with nothing to do takes half of the open nodes at once, not after the first slice.
            let mut parts = vec![outcome];
            if limits.seconds >= SPLIT_MIN
                && slices.spare.is_some_and(|spare| spare())
                && let Some(copy) = parts[0].split_open()
            {
                parts.push(copy);
            }
            let node_limit = limits.nodes.map(|n| (n.saturating_sub(before) / parts.len() as u64).max(1));
            (grow(parts, Some(first), node_limit), vars, before)
        }
        None => {
            let (problem, vars) = microlp_problem(&milp.cols, &milp.rows, false, OptimizationDirection::Minimize);
            let mut options = SolveOptions::default();
            options.time_limit = Some(first);
            options.node_limit = limits.nodes;
            options.warm_start = Some(vars.iter().copied().zip(warm.iter().copied()).collect());
            options.reliability_branching = slices.prove;
            options.reduced_cost_fixing = slices.prove;
            (problem.solve_with(options).map(|outcome| vec![outcome]), vars, 0)
        }
    };
    // The tree, or its shares when a spare core took half of its open nodes (`Slices::spare`).
    let Ok(mut parts) = parts else { return (None, None) };
    loop {
        use microlp::TerminationReason::{NodeLimit, TimeLimit};
        share_incumbents(&mut parts, &vars);
        parts = fold_proven(parts);
        let reason = parts.iter().map(|p| p.termination_reason()).find(|&r| r != TimeLimit).unwrap_or(TimeLimit);
        // Lots found beside the tree (vendor/microlp/PATCHED.md): adopted after every slice and at a
        // stop short of a proof, so that a paused tree goes on with them.
        if matches!(reason, TimeLimit | NodeLimit)
            && let Some(values) = offer(best_of(&parts).map(|s| s.objective()))
        {
            parts = parts.into_iter().map(|p| p.offer_solution(&values).0).collect();
        }
        if reason != TimeLimit {
            break;
        }
        let left = limits.seconds - started.elapsed().as_secs_f64();
        if left <= 0.001 {
            break;
        }
        let incumbent = best_of(&parts).map(|s| s.objective());
        let bound = parts.iter().map(|p| p.stats().best_bound).try_fold(f64::INFINITY, |b, p| p.map(|p| b.min(p)));
        if !keep_going(Standing { incumbent, bound }) {
            break;
        }
        if parts.len() == 1
            && left >= SPLIT_MIN
            && slices.spare.is_some_and(|spare| spare())
            && let Some(copy) = parts[0].split_open()
        {
            parts.push(copy);
        }
        let solved: u64 = parts.iter().map(|p| p.stats().nodes_solved).sum();
        let node_limit = limits.nodes.map(|n| (n.saturating_sub(solved) / parts.len() as u64).max(1));
        let time_limit = Some(Duration::from_secs_f64(slice.min(left)));
        // A share lost to an error takes its part of the proof with it: nothing of the tree is kept.
        let Ok(next) = grow(parts, time_limit, node_limit) else { return (None, None) };
        parts = next;
    }
    let mut parts = parts.into_iter();
    let Some(first) = parts.next() else { return (None, None) };
    let outcome = parts.fold(first, microlp::SolveOutcome::absorb);
    let stop = match outcome.termination_reason() {
        microlp::TerminationReason::ProvenOptimal => Stop::ProvenOptimal,
        microlp::TerminationReason::NodeLimit => Stop::WorkLimit,
        // Time limit, or a reason added by a later microlp: not a proof, not the work limit.
        _ => Stop::TimeLimit,
    };
    let stats = outcome.stats();
    let found = outcome.solution().map(|solution| Outcome {
        values: vars.iter().map(|&v| solution.var_value(v)).collect(),
        stop,
        bound: if stop == Stop::ProvenOptimal { Some(solution.objective()) } else { stats.best_bound },
        // This call's nodes (a resumed tree counts its earlier ones too).
        nodes: stats.nodes_solved - nodes_before + 1,
    });
    let paused = (stop != Stop::ProvenOptimal).then_some(PausedTree { outcome, vars });
    (found, paused)
}

#[cfg(feature = "highs")]
fn solve_highs(milp: &Milp, warm: &[f64], limits: Limits) -> Option<Outcome> {
    use good_lp::solvers::{SolutionStatus, WithInitialSolution};
    use good_lp::{Expression, ProblemVariables, Solution, SolverModel, variable};
    let mut vars = ProblemVariables::new();
    let cols: Vec<good_lp::Variable> = milp
        .cols
        .iter()
        .map(|c| vars.add(if c.binary { variable().binary() } else { variable().min(c.lower).max(c.upper) }))
        .collect();
    let mut objective = Expression::default();
    for (c, &v) in milp.cols.iter().zip(&cols) {
        objective.add_mul(c.cost, v);
    }
    let constraints = milp.rows.iter().map(|row| {
        let mut lhs = Expression::default();
        for &(col, a) in &row.terms {
            lhs.add_mul(a, cols[col]);
        }
        match row.sense {
            Sense::Le => lhs.leq(row.rhs),
            Sense::Ge => lhs.geq(row.rhs),
            Sense::Eq => lhs.eq(row.rhs),
        }
    });
    let model = vars
        .minimise(objective)
        .using(good_lp::highs)
        .with_all(constraints)
        .with_initial_solution(cols.iter().copied().zip(warm.iter().copied()))
        .set_time_limit(limits.seconds.max(0.001))
        .set_threads(1)
        .set_mip_rel_gap(0.0)
        .ok()?;
    let solution = model.solve().ok()?;
    // With mip_rel_gap 0, HiGHS stops short of a zero gap only by its absolute tolerance (1e-6): optimal.
    let proven = matches!(solution.status(), SolutionStatus::Optimal | SolutionStatus::GapLimit);
    let stop = if proven { Stop::ProvenOptimal } else { Stop::TimeLimit };
    let values: Vec<f64> = cols.iter().map(|&v| solution.value(v)).collect();
    let bound = (stop == Stop::ProvenOptimal).then(|| milp.cols.iter().zip(&values).map(|(c, v)| c.cost * v).sum());
    Some(Outcome { values, stop, bound, nodes: 1 })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::generate;
    use crate::greedy;
    use crate::model::{self, ComponentModel, Residual};

    /// The component models of a few small dense territories, each with its greedy start.
    pub(crate) fn dense_components() -> Vec<(Milp, Vec<f64>)> {
        let mut found = Vec::new();
        for seed in 1..=4 {
            let input = generate::metro_instance(30, 6, seed);
            let instance = input.validate().expect("a generated instance is valid");
            let residual = Residual::new(&instance);
            for mut component in model::components(&instance, model::candidate_pairs(&instance, &residual)) {
                model::drop_dominated(&instance, &residual, &mut component);
                let model = ComponentModel::build(&instance, &residual, &component);
                let quantities = greedy::fill_component(&instance, &residual, &component);
                let start = model.start(&instance, &residual, &component, &quantities);
                found.push((model.milp, start));
            }
        }
        found
    }

    fn objective(milp: &Milp, values: &[f64]) -> f64 {
        milp.cols.iter().zip(values).map(|(c, v)| c.cost * v).sum()
    }

    /// The tree of `milp` grown at once from `start`, and the same tree paused halfway by its node budget;
    /// `None` when it is proven at the root or nearly, with nothing to pause.
    fn paused_halfway(milp: &Milp, start: &[f64]) -> Option<(Outcome, PausedTree)> {
        let unlimited = Limits { seconds: 600.0, nodes: None };
        let at_once = solve(milp, start, unlimited, Backend::Microlp).expect("a small component solves");
        assert_eq!(at_once.stop, Stop::ProvenOptimal);
        if at_once.nodes < 10 {
            return None;
        }
        let slices = Slices { seconds: 600.0, tree: None, prove: false, spare: None };
        let half = Limits { seconds: 600.0, nodes: Some(at_once.nodes / 2) };
        let (first, paused) =
            solve_in_slices(milp, start, half, Backend::Microlp, slices, &mut |_| false, &mut |_| None);
        assert_eq!(first.expect("the warm start is a solution").stop, Stop::WorkLimit);
        Some((at_once, paused.expect("a tree stopped by its node budget is handed back")))
    }

    /// `paused` grown to its end with `spare`: proven, not handed back, at the cost of the tree grown at once.
    fn resumed_to_the_end(
        milp: &Milp,
        start: &[f64],
        at_once: &Outcome,
        paused: PausedTree,
        spare: Option<&dyn Fn() -> bool>,
    ) -> Outcome {
        let unlimited = Limits { seconds: 600.0, nodes: None };
        let slices = Slices { seconds: 600.0, tree: Some(paused), prove: false, spare };
        let (then, again) =
            solve_in_slices(milp, start, unlimited, Backend::Microlp, slices, &mut |_| false, &mut |_| None);
        let then = then.expect("the resumed tree keeps its incumbent");
        assert_eq!(then.stop, Stop::ProvenOptimal);
        assert!(again.is_none(), "a proven tree is not handed back");
        let (a, b) = (objective(milp, &at_once.values), objective(milp, &then.values));
        assert!((a - b).abs() <= 1e-6 * a.abs().max(1.0), "{a} vs {b}");
        then
    }

    #[test]
    fn a_paused_tree_goes_on_where_it_stopped() {
        let mut resumed = 0;
        for (milp, start) in dense_components() {
            let Some((at_once, paused)) = paused_halfway(&milp, &start) else { continue };
            let then = resumed_to_the_end(&milp, &start, &at_once, paused, None);
            // Its nodes are the rest of the same tree: grown again from the root with the same start,
            // it would take every node of the solve at once (microlp is deterministic).
            assert!(then.nodes < at_once.nodes, "the resumed tree started again ({} nodes)", then.nodes);
            resumed += 1;
        }
        assert!(resumed >= 3, "too few components needed branching ({resumed})");
    }

    /// A paused tree that goes on while a core has nothing to do gives it half of its open nodes from its
    /// first slice, not only after it, and the two shares prove the optimum of the tree grown at once.
    #[test]
    fn a_paused_tree_shares_its_open_nodes_at_once_with_a_spare_core() {
        let mut shared = 0;
        for (milp, start) in dense_components() {
            let Some((at_once, paused)) = paused_halfway(&milp, &start) else { continue };
            let asked = std::cell::Cell::new(0);
            let spare = || {
                asked.set(asked.get() + 1);
                true
            };
            // One slice is enough to prove it: a core would have been asked only after it.
            resumed_to_the_end(&milp, &start, &at_once, paused, Some(&spare));
            assert_eq!(asked.get(), 1, "the spare core was not asked before the first slice");
            shared += 1;
        }
        assert!(shared >= 3, "too few components needed branching ({shared})");
    }

    /// Lots found beside a tree reach it when it pauses: cheaper and feasible, they become its
    /// incumbent (the outcome and the paused tree carry them); infeasible, they change nothing.
    #[test]
    fn lots_offered_to_a_paused_tree_become_its_incumbent_only_when_feasible() {
        let (mut adopted, mut refused) = (0, 0);
        for (milp, start) in dense_components() {
            let unlimited = Limits { seconds: 600.0, nodes: None };
            let optimum = solve(&milp, &start, unlimited, Backend::Microlp).expect("a small component solves");
            let best = objective(&milp, &optimum.values);
            // A lot's quantity without its lot (y = 0): violates x ≤ U·y.
            let mut infeasible = optimum.values.clone();
            let Some(x) = milp.rows.iter().find_map(|row| match row.terms[..] {
                [(x, _), (y, _)] if row.sense == Sense::Le && row.rhs == 0.0 && optimum.values[y] > 0.5 => {
                    infeasible[y] = 0.0;
                    Some(x)
                }
                _ => None,
            }) else {
                continue;
            };
            assert!(optimum.values[x] > 0.0);
            for (lots, feasible) in [(&infeasible, false), (&optimum.values, true)] {
                // No start, two nodes: the tree has at best a first rough incumbent when it pauses.
                let slices = Slices { seconds: 600.0, tree: None, prove: false, spare: None };
                let two_nodes = Limits { seconds: 600.0, nodes: Some(2) };
                let mut asked = None;
                let mut offer = |incumbent: Option<f64>| {
                    asked = Some(incumbent.unwrap_or(f64::INFINITY));
                    Some(lots.clone())
                };
                let (first, paused) =
                    solve_in_slices(&milp, &[], two_nodes, Backend::Microlp, slices, &mut |_| false, &mut offer);
                let Some(before) = asked.filter(|&b| b > best + 1e-6 * best.abs().max(1.0)) else {
                    continue; // proven, or the optimum found, within two nodes
                };
                let cost = first.as_ref().map_or(f64::INFINITY, |f| objective(&milp, &f.values));
                if !feasible {
                    assert_eq!(cost, before, "infeasible lots were taken");
                    refused += 1;
                    continue;
                }
                assert!((cost - best).abs() <= 1e-6 * best.abs().max(1.0), "{cost} against {best}");
                // The paused tree goes on with them and proves them.
                let slices = Slices { seconds: 600.0, tree: paused, prove: false, spare: None };
                let (then, _) =
                    solve_in_slices(&milp, &[], unlimited, Backend::Microlp, slices, &mut |_| false, &mut |_| None);
                let then = then.expect("the tree keeps its incumbent");
                assert_eq!(then.stop, Stop::ProvenOptimal);
                assert!((objective(&milp, &then.values) - best).abs() <= 1e-6 * best.abs().max(1.0));
                adopted += 1;
            }
        }
        assert!(adopted >= 3 && refused >= 3, "too few trees were offered lots ({adopted}, {refused})");
    }

    /// A paused tree handed back with a start cheaper than its incumbent (lots found while it waited)
    /// takes that start before it goes on: after one more node it holds the optimum, which the same
    /// tree resumed without the start does not.
    #[test]
    fn a_paused_tree_takes_a_cheaper_start_before_it_goes_on() {
        let mut taken = 0;
        for (milp, start) in dense_components() {
            let unlimited = Limits { seconds: 600.0, nodes: None };
            let optimum = solve(&milp, &start, unlimited, Backend::Microlp).expect("a small component solves");
            let best = objective(&milp, &optimum.values);
            let paused_after_two_nodes = || {
                let slices = Slices { seconds: 600.0, tree: None, prove: false, spare: None };
                let two_nodes = Limits { seconds: 600.0, nodes: Some(2) };
                solve_in_slices(&milp, &[], two_nodes, Backend::Microlp, slices, &mut |_| false, &mut |_| None).1
            };
            let one_more = Limits { seconds: 600.0, nodes: Some(3) };
            let resumed = |warm: &[f64]| {
                let slices = Slices { seconds: 600.0, tree: paused_after_two_nodes(), prove: false, spare: None };
                let (outcome, _) =
                    solve_in_slices(&milp, warm, one_more, Backend::Microlp, slices, &mut |_| false, &mut |_| None);
                outcome.map_or(f64::INFINITY, |o| objective(&milp, &o.values))
            };
            if paused_after_two_nodes().is_none() {
                continue; // proven within two nodes
            }
            let without = resumed(&[]);
            if without <= best + 1e-6 * best.abs().max(1.0) {
                continue; // the tree found the optimum by itself
            }
            let with = resumed(&optimum.values);
            assert!((with - best).abs() <= 1e-6 * best.abs().max(1.0), "{with} against {best}");
            taken += 1;
        }
        assert!(taken >= 3, "too few paused trees were handed a cheaper start ({taken})");
    }

    /// A paused tree split in two shares (`split_open`, the spare core's), taken back (`absorb`) and
    /// split again: each share grown to its end, the cheaper of their solutions is the optimum, which
    /// neither the start nor the first nodes had; taken back together, they are one proven tree.
    #[test]
    fn a_tree_split_in_two_shares_finds_and_proves_the_optimum() {
        let (mut split, mut copies_solved) = (0, 0);
        for (milp, start) in dense_components() {
            let unlimited = Limits { seconds: 600.0, nodes: None };
            let optimum = solve(&milp, &start, unlimited, Backend::Microlp).expect("a small component solves");
            let best = objective(&milp, &optimum.values);
            let close = |cost: f64| (cost - best).abs() <= 1e-6 * best.abs().max(1.0);
            let slices = Slices { seconds: 600.0, tree: None, prove: true, spare: None };
            let few = Limits { seconds: 600.0, nodes: Some(4) };
            let (first, paused) =
                solve_in_slices(&milp, &start, few, Backend::Microlp, slices, &mut |_| false, &mut |_| None);
            let Some(PausedTree { mut outcome, .. }) = paused else { continue };
            if first.is_none_or(|f| close(objective(&milp, &f.values))) {
                continue; // the optimum is known already: nothing left for the shares to find
            }
            let grow = |share: microlp::SolveOutcome, nodes: Option<u64>| {
                let mut options = share.last_resume_options();
                options.time_limit = None;
                options.node_limit = nodes;
                share.resume_with(options).expect("a share grows")
            };
            // Split, a few nodes each, taken back whole (a tree paused between slices), then split again.
            let Some(copy) = outcome.split_open() else { continue };
            let [mine, theirs] = [outcome, copy].map(|share| grow(share, Some(3)));
            let mut outcome = mine.absorb(theirs);
            let Some(copy) = outcome.split_open() else { continue };
            let [mine, theirs] = [outcome, copy].map(|share| grow(share, None));
            assert!(mine.is_optimal() && theirs.is_optimal(), "a share stopped short of its end");
            // A copy may end by pruning alone: its nodes wait with the bounds strong branching measured
            // (vendor/microlp/PATCHED.md, change 6), and the incumbent may already beat them all.
            copies_solved += usize::from(theirs.stats().nodes_solved > 0);
            let costs = [&mine, &theirs].map(|share| share.solution().map_or(f64::INFINITY, |s| s.objective()));
            let cheaper = costs[0].min(costs[1]);
            assert!(close(cheaper), "the shares found {cheaper}, the optimum is {best}");
            let whole = mine.absorb(theirs);
            assert!(whole.is_optimal());
            assert!(whole.solution().is_some_and(|s| close(s.objective())));
            split += 1;
        }
        assert!(split >= 3, "too few trees were split ({split})");
        assert!(copies_solved >= 1, "no copy solved a node of its share: the shares were never both searched");
    }

    /// The polish's tree (`prove`) branches by reliability and fixes by reduced cost, in the patched
    /// microlp (vendor/microlp/PATCHED.md): it must prove the same optimum as microlp's own rule, and it
    /// is worth its extra LPs only if it takes fewer nodes.
    #[test]
    fn a_tree_meant_to_prove_reaches_the_same_optimum_in_fewer_nodes() {
        let unlimited = Limits { seconds: 600.0, nodes: None };
        let (mut plain_nodes, mut proving_nodes, mut branched) = (0, 0, 0);
        for (milp, start) in dense_components() {
            let grow = |prove| {
                let slices = Slices { seconds: 600.0, tree: None, prove, spare: None };
                let (solved, _) =
                    solve_in_slices(&milp, &start, unlimited, Backend::Microlp, slices, &mut |_| false, &mut |_| None);
                let solved = solved.expect("a small component solves");
                assert_eq!(solved.stop, Stop::ProvenOptimal);
                solved
            };
            let (plain, proving) = (grow(false), grow(true));
            let (a, b) = (objective(&milp, &plain.values), objective(&milp, &proving.values));
            assert!((a - b).abs() <= 1e-6 * a.abs().max(1.0), "{a} vs {b}");
            if plain.nodes >= 10 {
                branched += 1;
            }
            plain_nodes += plain.nodes;
            proving_nodes += proving.nodes;
        }
        assert!(branched >= 3, "too few components needed branching ({branched})");
        assert!(proving_nodes < plain_nodes, "{proving_nodes} nodes against {plain_nodes}");
    }
}
