//! The exact model of docs/allocation.md, split into independent components, as a [`Milp`] per component.
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
//! - the greedy solution of each component is given as a warm start (an incumbent from node one);
//!   how a component is then searched is in `search`.

use std::collections::{BTreeMap, HashMap};

use crate::input::Instance;
use crate::milp::{Milp, Sense};

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

/// The open problem once fixed lots are taken out.
#[derive(Debug, Clone)]
pub(crate) struct Residual {
    /// Open demand per line.
    pub demand: Vec<f64>,
    /// Remaining capacity per (supplier, sector).
    pub capacity: HashMap<(usize, usize), f64>,
    /// Clause hours per line not yet secured by fixed lots: h_l − Σ r_s·f_{s,l}, at least 0.
    pub clause: Vec<f64>,
}

impl Residual {
    pub fn new(instance: &Instance) -> Self {
        let clause = (0..instance.lines.len())
            .map(|l| (instance.lines[l].clause_hours - instance.fixed_clause_hours(l)).max(0.0))
            .collect();
        let mut demand: Vec<f64> = instance.lines.iter().map(|l| l.quantity).collect();
        let mut capacity = HashMap::new();
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
    let mut first_line: HashMap<(usize, usize), usize> = HashMap::new();
    for p in &pairs {
        let key = (p.supplier, instance.lines[p.line].sector);
        let other = *first_line.entry(key).or_insert(p.line);
        let (a, b) = (root(&mut parent, p.line), root(&mut parent, other));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut index_of_root: BTreeMap<usize, usize> = BTreeMap::new();
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

/// How many earlier pairs of a line are looked at to prove one dominated (keeps the presolve linear).
const DOMINANCE_SCAN: usize = 200;

/// Presolve: drops the pairs no optimal solution needs. On one line, pair B is dominated by pair A when A
/// costs no more per unit, can take at least as much, has no larger minimum lot and brings at least as
/// many clause hours per unit, and neither shares its capacity with another pair of the component (or
/// its capacity cannot bind). When the pairs dominating B can together take the line's whole open demand,
/// B is never needed: in any solution using B, either a dominating pair is unused (give it B's lot) or
/// all are used and their room holds B's quantity (move it there) — no dearer, one lot fewer. Exact,
/// and it shrinks the many-candidates lines of a dense territory or a reallocation.
pub(crate) fn drop_dominated(instance: &Instance, residual: &Residual, component: &mut Component) {
    let mut group: HashMap<(usize, usize), (usize, f64)> = HashMap::new();
    for p in &component.pairs {
        let entry = group.entry((p.supplier, instance.lines[p.line].sector)).or_default();
        entry.0 += 1;
        entry.1 += p.upper;
    }
    let independent = |p: &Pair| {
        let key = (p.supplier, instance.lines[p.line].sector);
        let (count, reachable) = group[&key];
        count == 1 || reachable <= residual.capacity(key.0, key.1) + EPS
    };
    let mut on_line: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, p) in component.pairs.iter().enumerate() {
        on_line.entry(p.line).or_default().push(i);
    }
    let mut keep = vec![true; component.pairs.len()];
    for (l, mut members) in on_line {
        let pairs = &component.pairs;
        members.sort_by(|&a, &b| pairs[a].unit_cost.total_cmp(&pairs[b].unit_cost).then(a.cmp(&b)));
        let mut kept: Vec<usize> = Vec::new();
        for i in members {
            let b = &pairs[i];
            let (min_b, rate_b) =
                (instance.suppliers[b.supplier].min_lot, instance.suppliers[b.supplier].insertion_rate);
            let mut room = 0.0;
            if independent(b) {
                for &k in kept.iter().take(DOMINANCE_SCAN) {
                    let a = &pairs[k];
                    let sa = &instance.suppliers[a.supplier];
                    if independent(a)
                        && a.upper + EPS >= b.upper
                        && sa.min_lot <= min_b + EPS
                        && sa.insertion_rate + EPS >= rate_b
                    {
                        room += a.upper;
                        if room + EPS >= residual.demand[l] {
                            break;
                        }
                    }
                }
            }
            if room + EPS >= residual.demand[l] {
                keep[i] = false;
            } else {
                kept.push(i);
            }
        }
    }
    let mut index = 0;
    component.pairs.retain(|_| {
        index += 1;
        keep[index - 1]
    });
}

/// The MILP of one component (docs/allocation.md) and where each variable sits in it: x_i at i and y_i at
/// n + i for the n pairs, then u_l per line, then v_l per line whose clause is still open.
pub(crate) struct ComponentModel {
    pub milp: Milp,
    pairs: usize,
    /// Column of v_l per line of the component, when its clause is open.
    clause_cols: Vec<Option<usize>>,
}

impl ComponentModel {
    pub fn build(instance: &Instance, residual: &Residual, component: &Component) -> Self {
        let w = instance.weights;
        let n = component.pairs.len();
        let mut milp = Milp::default();
        for p in &component.pairs {
            milp.add_col(0.0, p.upper, p.unit_cost, false);
        }
        for _ in &component.pairs {
            milp.add_col(0.0, 1.0, w.per_lot, true);
        }
        let u: Vec<usize> = component
            .lines
            .iter()
            .map(|&l| milp.add_col(0.0, residual.demand[l], w.per_unit_shortfall, false))
            .collect();
        let clause_cols: Vec<Option<usize>> = component
            .lines
            .iter()
            .map(|&l| {
                (residual.clause[l] > EPS)
                    .then(|| milp.add_col(0.0, residual.clause[l], w.per_clause_hour_shortfall, false))
            })
            .collect();

        let mut on_line: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, p) in component.pairs.iter().enumerate() {
            on_line.entry(p.line).or_default().push(i);
        }
        for (j, &l) in component.lines.iter().enumerate() {
            let members = on_line.get(&l).map(Vec::as_slice).unwrap_or_default();
            let mut covered: Vec<(usize, f64)> = members.iter().map(|&i| (i, 1.0)).collect();
            covered.push((u[j], 1.0));
            milp.add_row(covered, Sense::Eq, residual.demand[l]);
            if let Some(v) = clause_cols[j] {
                // Σ r_s·x + v ≥ h − Σ r_s·f (the fixed lots' part is already in `residual.clause`).
                let mut clause: Vec<(usize, f64)> = members
                    .iter()
                    .map(|&i| (i, instance.suppliers[component.pairs[i].supplier].insertion_rate))
                    .filter(|&(_, rate)| rate > 0.0)
                    .collect();
                clause.push((v, 1.0));
                milp.add_row(clause, Sense::Ge, residual.clause[l]);
            }
        }
        for (i, p) in component.pairs.iter().enumerate() {
            milp.add_row(vec![(i, 1.0), (n + i, -p.upper)], Sense::Le, 0.0);
            let min_lot = instance.suppliers[p.supplier].min_lot;
            if min_lot > 0.0 {
                milp.add_row(vec![(i, 1.0), (n + i, -min_lot)], Sense::Ge, 0.0);
            }
        }
        let mut by_capacity: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
        for (i, p) in component.pairs.iter().enumerate() {
            by_capacity.entry((p.supplier, instance.lines[p.line].sector)).or_default().push(i);
        }
        for ((s, k), members) in &by_capacity {
            let cap = residual.capacity(*s, *k);
            let reachable: f64 = members.iter().map(|&i| component.pairs[i].upper).sum();
            if reachable > cap + EPS {
                milp.add_row(members.iter().map(|&i| (i, 1.0)).collect(), Sense::Le, cap);
            }
        }
        Self { milp, pairs: n, clause_cols }
    }

    /// The value of every column for the lots `quantities` (a value per pair): the start handed to the
    /// backend.
    pub fn start(
        &self,
        instance: &Instance,
        residual: &Residual,
        component: &Component,
        quantities: &[f64],
    ) -> Vec<f64> {
        let n = self.pairs;
        let mut values = vec![0.0; self.milp.cols.len()];
        for (i, &q) in quantities.iter().enumerate() {
            values[i] = q;
            values[n + i] = if q > EPS { 1.0 } else { 0.0 };
        }
        for (j, open) in left_open(instance, residual, component, quantities).into_iter().enumerate() {
            values[2 * n + j] = open.demand;
            if let Some(v) = self.clause_cols[j] {
                values[v] = open.clause;
            }
        }
        values
    }

    /// The quantity per pair of `component` in a backend's values, cleaned of the backend's tolerance:
    /// a quantity whose y is 0 (or that is below EPS) is 0.
    pub fn quantities_of(component: &Component, values: &[f64]) -> Vec<f64> {
        let n = component.pairs.len();
        (0..n).map(|i| if values[n + i] > 0.5 && values[i] > EPS { values[i] } else { 0.0 }).collect()
    }

    pub fn size(&self) -> (usize, usize) {
        (self.milp.cols.len(), self.milp.rows.len())
    }
}

/// The objective of lots `quantities` on `component` (new lots only; the fixed ones are counted apart).
pub(crate) fn component_cost(
    instance: &Instance,
    residual: &Residual,
    component: &Component,
    quantities: &[f64],
) -> f64 {
    let w = instance.weights;
    let mut cost = 0.0;
    for (p, &q) in component.pairs.iter().zip(quantities) {
        if q > EPS {
            cost += p.unit_cost * q + w.per_lot;
        }
    }
    for open in left_open(instance, residual, component, quantities) {
        cost += w.per_unit_shortfall * open.demand + w.per_clause_hour_shortfall * open.clause;
    }
    cost
}

/// What lots leave open on one line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LeftOpen {
    /// Units of the line's open demand not covered.
    pub demand: f64,
    /// Clause hours not reached.
    pub clause: f64,
}

/// Per line of `component` (in the order of `component.lines`), what lots `quantities` leave open.
pub(crate) fn left_open(
    instance: &Instance,
    residual: &Residual,
    component: &Component,
    quantities: &[f64],
) -> Vec<LeftOpen> {
    let mut covered: HashMap<usize, f64> = HashMap::new();
    let mut reached: HashMap<usize, f64> = HashMap::new();
    for (p, &q) in component.pairs.iter().zip(quantities) {
        if q > EPS {
            *covered.entry(p.line).or_default() += q;
            *reached.entry(p.line).or_default() += instance.suppliers[p.supplier].insertion_rate * q;
        }
    }
    let open = |total: f64, done: Option<&f64>| (total - done.copied().unwrap_or(0.0)).max(0.0);
    component
        .lines
        .iter()
        .map(|l| LeftOpen {
            demand: open(residual.demand[*l], covered.get(l)),
            clause: open(residual.clause[*l], reached.get(l)),
        })
        .collect()
}
