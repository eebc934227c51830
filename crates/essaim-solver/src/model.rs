//! The exact model of DESIGN.md §3, split into independent components and solved with good_lp.
//!
//! Structure used (see the crate header for the why):
//! - only pairs within reach, with capacity, eligible (participation mode, reservation) and not excluded
//!   become variables; a pair with a fixed lot may get a new lot on top of it (a top-up);
//! - fixed lots are constants: they reduce the line's open demand, the supplier's capacity and the
//!   line's open clause hours;
//! - big-M tightened per pair: U = min(c − fixed in the sector, σ·q − fixed on the pair, q − fixed on
//!   the line); a pair whose U is below the supplier's minimum lot can never be used and is dropped;
//! - capacity rows that cannot bind (Σ U ≤ residual capacity) are dropped;
//! - lines are grouped into connected components of the graph line — (supplier, sector), each solved
//!   alone (capacity rows only couple lines of one sector sharing suppliers);
//! - the greedy solution of each component is given as a warm start (an incumbent from node one).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use good_lp::{Expression, ProblemVariables, Solution, SolverModel, Variable, constraint, variable};

use crate::greedy;
use crate::input::Instance;

/// Below this, a quantity is zero.
pub(crate) const EPS: f64 = 1e-7;

/// A (line, supplier) pair that may receive a (new) micro-lot.
#[derive(Debug, Clone)]
pub(crate) struct Pair {
    pub line: usize,
    pub supplier: usize,
    /// Largest quantity this pair can take (tightened big-M).
    pub upper: f64,
    /// Cost of one unit: α·d + φ·ρ_s/ρ_max.
    pub unit_cost: f64,
}

/// A set of lines and pairs that share no capacity with the rest.
#[derive(Debug, Clone, Default)]
pub(crate) struct Component {
    pub lines: Vec<usize>,
    pub pairs: Vec<Pair>,
}

/// What the solver decided for one component.
#[derive(Debug, Clone, Default)]
pub(crate) struct ComponentSolution {
    /// Quantity per pair, in the order of `Component::pairs`.
    pub quantities: Vec<f64>,
    pub proven_optimal: bool,
    /// Best proven lower bound of the component's objective, when known.
    pub bound: Option<f64>,
    pub variables: usize,
    pub constraints: usize,
}

/// The open problem once fixed lots are taken out.
#[derive(Debug, Clone)]
pub(crate) struct Residual {
    /// Open demand per line.
    pub demand: Vec<f64>,
    /// Remaining capacity per (supplier, sector).
    pub capacity: std::collections::HashMap<(usize, usize), f64>,
    /// Clause hours per line not yet secured by fixed lots: h_l − Σ r_s·f_{s,l}, at least 0.
    pub clause: Vec<f64>,
}

impl Residual {
    pub fn new(instance: &Instance) -> Self {
        let clause = (0..instance.lines.len())
            .map(|l| (instance.lines[l].clause_hours - instance.fixed_clause_hours(l)).max(0.0))
            .collect();
        let mut demand: Vec<f64> = instance.lines.iter().map(|l| l.quantity).collect();
        let mut capacity = std::collections::HashMap::new();
        for (s, supplier) in instance.suppliers.iter().enumerate() {
            for (&k, &c) in &supplier.capacity {
                capacity.insert((s, k), c);
            }
        }
        for (&(l, s), &q) in &instance.fixed {
            demand[l] = (demand[l] - q).max(0.0);
            if let Some(c) = capacity.get_mut(&(s, instance.lines[l].sector)) {
                *c = (*c - q).max(0.0);
            }
        }
        Self { demand, capacity, clause }
    }

    pub fn capacity(&self, supplier: usize, sector: usize) -> f64 {
        self.capacity.get(&(supplier, sector)).copied().unwrap_or(0.0)
    }
}

/// Every pair that may carry a lot, in (line, supplier) order.
pub(crate) fn candidate_pairs(instance: &Instance, residual: &Residual) -> Vec<Pair> {
    let mut pairs = Vec::new();
    for (l, line) in instance.lines.iter().enumerate() {
        let open = residual.demand[l];
        if open <= EPS {
            continue;
        }
        for (s, supplier) in instance.suppliers.iter().enumerate() {
            if instance.capacity(s, line.sector) <= 0.0
                || instance.excluded.contains(&(l, s))
                || instance.eligibility(l, s).is_err()
            {
                continue;
            }
            let distance = instance.distance(l, s);
            if distance > supplier.max_distance_km {
                continue;
            }
            let held = instance.fixed.get(&(l, s)).copied().unwrap_or(0.0);
            let upper = residual.capacity(s, line.sector).min(line.max_share * line.quantity - held).min(open);
            if upper <= EPS || upper + EPS < supplier.min_lot {
                continue;
            }
            let unit_cost = instance.weights.per_unit_km * distance + supplier.fairness;
            pairs.push(Pair { line: l, supplier: s, upper, unit_cost });
        }
    }
    pairs
}

/// Groups lines into components linked through shared (supplier, sector) capacity.
pub(crate) fn components(instance: &Instance, pairs: Vec<Pair>) -> Vec<Component> {
    let n = instance.lines.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    // The first line seen for each (supplier, sector) links every later line using it.
    let mut first_line: std::collections::HashMap<(usize, usize), usize> = std::collections::HashMap::new();
    for p in &pairs {
        let key = (p.supplier, instance.lines[p.line].sector);
        let other = *first_line.entry(key).or_insert(p.line);
        let (a, b) = (root(&mut parent, p.line), root(&mut parent, other));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut index_of_root: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    let mut result: Vec<Component> = Vec::new();
    let mut has_pair = vec![false; n];
    for p in &pairs {
        has_pair[p.line] = true;
    }
    for (l, used) in has_pair.iter().enumerate() {
        if !used {
            continue;
        }
        let r = root(&mut parent, l);
        let next = result.len();
        let c = *index_of_root.entry(r).or_insert(next);
        if c == result.len() {
            result.push(Component::default());
        }
        result[c].lines.push(l);
    }
    for p in pairs {
        let r = root(&mut parent, p.line);
        if let Some(&c) = index_of_root.get(&r) {
            result[c].pairs.push(p);
        }
    }
    result
}

/// Which MILP backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// Pure-Rust branch and bound (microlp): builds anywhere.
    #[default]
    Microlp,
    /// HiGHS (feature `highs`, needs cmake and a C++ compiler to build).
    #[cfg(feature = "highs")]
    Highs,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Microlp => "microlp",
            #[cfg(feature = "highs")]
            Self::Highs => "highs",
        }
    }
}

/// Solves one component exactly, within `seconds`. Falls back to the greedy lots (reported as not proven)
/// when the backend finds nothing in time or fails.
pub(crate) fn solve_component(
    instance: &Instance,
    residual: &Residual,
    component: &Component,
    seconds: f64,
    backend: Backend,
) -> ComponentSolution {
    let warm = greedy::fill_component(instance, residual, component);
    let w = instance.weights;
    let mut vars = ProblemVariables::new();
    let x: Vec<Variable> = component.pairs.iter().map(|p| vars.add(variable().min(0.0).max(p.upper))).collect();
    let y: Vec<Variable> = component.pairs.iter().map(|_| vars.add(variable().binary())).collect();
    let u: Vec<Variable> =
        component.lines.iter().map(|&l| vars.add(variable().min(0.0).max(residual.demand[l]))).collect();
    // v_l: clause hours not reached, only for lines whose clause is still open.
    let v: Vec<Option<Variable>> = component
        .lines
        .iter()
        .map(|&l| (residual.clause[l] > EPS).then(|| vars.add(variable().min(0.0).max(residual.clause[l]))))
        .collect();

    let mut objective = Expression::default();
    for (i, p) in component.pairs.iter().enumerate() {
        objective.add_mul(p.unit_cost, x[i]);
        objective.add_mul(w.per_lot, y[i]);
    }
    for &ul in &u {
        objective.add_mul(w.per_unit_shortfall, ul);
    }
    for vl in v.iter().flatten() {
        objective.add_mul(w.per_clause_hour_shortfall, *vl);
    }

    let mut constraints = Vec::new();
    for (j, &l) in component.lines.iter().enumerate() {
        let mut covered = Expression::from(u[j]);
        for (i, p) in component.pairs.iter().enumerate() {
            if p.line == l {
                covered.add_mul(1.0, x[i]);
            }
        }
        constraints.push(constraint!(covered == residual.demand[l]));
        if let Some(vl) = v[j] {
            // Σ r_s·x + v ≥ h − Σ r_s·f (the fixed lots' part is already in `residual.clause`).
            let mut clause = Expression::from(vl);
            for (i, p) in component.pairs.iter().enumerate() {
                let rate = instance.suppliers[p.supplier].insertion_rate;
                if p.line == l && rate > 0.0 {
                    clause.add_mul(rate, x[i]);
                }
            }
            constraints.push(constraint!(clause >= residual.clause[l]));
        }
    }
    for (i, p) in component.pairs.iter().enumerate() {
        constraints.push(constraint!(x[i] - p.upper * y[i] <= 0.0));
        let min_lot = instance.suppliers[p.supplier].min_lot;
        if min_lot > 0.0 {
            constraints.push(constraint!(x[i] - min_lot * y[i] >= 0.0));
        }
    }
    let mut by_capacity: std::collections::BTreeMap<(usize, usize), Vec<usize>> = Default::default();
    for (i, p) in component.pairs.iter().enumerate() {
        by_capacity.entry((p.supplier, instance.lines[p.line].sector)).or_default().push(i);
    }
    for ((s, k), members) in &by_capacity {
        let cap = residual.capacity(*s, *k);
        let reachable: f64 = members.iter().map(|&i| component.pairs[i].upper).sum();
        if reachable <= cap + EPS {
            continue; // cannot bind
        }
        let mut used = Expression::default();
        for &i in members {
            used.add_mul(1.0, x[i]);
        }
        constraints.push(constraint!(used <= cap));
    }

    let variables = x.len() + y.len() + u.len() + v.iter().flatten().count();
    let constraint_count = constraints.len();
    let fallback = |warm: &[f64]| ComponentSolution {
        quantities: warm.to_vec(),
        proven_optimal: false,
        bound: None,
        variables,
        constraints: constraint_count,
    };

    let mut initial: Vec<(Variable, f64)> = Vec::with_capacity(variables);
    for (i, &q) in warm.iter().enumerate() {
        initial.push((x[i], q));
        initial.push((y[i], if q > EPS { 1.0 } else { 0.0 }));
    }
    for (j, &l) in component.lines.iter().enumerate() {
        let on_line = || component.pairs.iter().zip(&warm).filter(|(p, _)| p.line == l);
        let covered: f64 = on_line().map(|(_, q)| q).sum();
        initial.push((u[j], (residual.demand[l] - covered).max(0.0)));
        if let Some(vl) = v[j] {
            let reached: f64 = on_line().map(|(p, q)| instance.suppliers[p.supplier].insertion_rate * q).sum();
            initial.push((vl, (residual.clause[l] - reached).max(0.0)));
        }
    }

    let problem = vars.minimise(objective);
    let started = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| match backend {
        Backend::Microlp => solve_microlp(problem, constraints, initial, seconds, &x),
        #[cfg(feature = "highs")]
        Backend::Highs => solve_highs(problem, constraints, initial, seconds, &x),
    }));
    tracing::debug!(
        pairs = component.pairs.len(),
        lines = component.lines.len(),
        ms = started.elapsed().as_secs_f64() * 1e3,
        "component solved"
    );
    match outcome {
        Ok(Some((quantities, proven_optimal, bound))) => {
            ComponentSolution { quantities, proven_optimal, bound, variables, constraints: constraint_count }
        }
        Ok(None) => fallback(&warm),
        Err(_) => {
            tracing::error!("the MILP backend panicked on a component; using the greedy lots for it");
            fallback(&warm)
        }
    }
}

type Solved = Option<(Vec<f64>, bool, Option<f64>)>;

fn solve_microlp(
    problem: good_lp::variable::UnsolvedProblem,
    constraints: Vec<good_lp::Constraint>,
    initial: Vec<(Variable, f64)>,
    seconds: f64,
    x: &[Variable],
) -> Solved {
    use good_lp::solvers::{WithInitialSolution, WithTimeLimit};
    let model = problem
        .using(good_lp::microlp)
        .with_all(constraints)
        .with_initial_solution(initial)
        .with_time_limit(seconds.max(0.001));
    let solution = model.solve().ok()?;
    let proven = matches!(solution.status(), good_lp::solvers::SolutionStatus::Optimal);
    let values = x.iter().map(|&v| solution.value(v)).collect();
    let bound = solution.into_inner().stats().best_bound;
    Some((values, proven, bound))
}

#[cfg(feature = "highs")]
fn solve_highs(
    problem: good_lp::variable::UnsolvedProblem,
    constraints: Vec<good_lp::Constraint>,
    initial: Vec<(Variable, f64)>,
    seconds: f64,
    x: &[Variable],
) -> Solved {
    use good_lp::solvers::{SolutionStatus, WithInitialSolution};
    let model = problem
        .using(good_lp::highs)
        .with_all(constraints)
        .with_initial_solution(initial)
        .set_time_limit(seconds.max(0.001))
        .set_threads(1)
        .set_mip_rel_gap(0.0)
        .ok()?;
    let solution = model.solve().ok()?;
    let proven = matches!(solution.status(), SolutionStatus::Optimal);
    let values = x.iter().map(|&v| solution.value(v)).collect();
    Some((values, proven, None))
}
