//! Cutting planes and reduced-cost fixing: what lets branch and bound prove a dense component.
//!
//! Why. The LP relaxation pays a lot's fixed cost in proportion to the share of the pair's room it uses,
//! so a supplier whose capacity is split between two lines pays about one lot for both, and a lot below
//! the supplier's minimum costs a fraction of one. On dense components that leaves the LP bound 1–1.5 %
//! under the optimum; microlp adds no cuts of its own, and its tree cannot close such a gap. HiGHS proves
//! the same components in a few dozen nodes because its cuts lift the root bound first.
//!
//! What, before the whole component's branch and bound (the polish, which starts from the neighbourhood
//! search's lots):
//! 1. **Cuts**, separated at the LP optimum for a few rounds; microlp re-optimises from the last basis
//!    after each round (`Solution::add_constraints`, patched in: one factorisation for the round's cuts).
//!    - Complemented mixed-integer rounding (c-MIR; Marchand & Wolsey, « Aggregation and mixed integer
//!      rounding to solve MIPs », Operations Research 49(3), 2001) on a row of the model or on the sum of
//!      up to [`MAX_AGGREGATION`] rows: a line's demand row with the capacity rows of its suppliers, the
//!      path through which a supplier's lots on several lines compete. Each quantity is first replaced by
//!      a variable bound (x = m·y + t with m the minimum lot, or x = U·y − t): the nearer one, and the
//!      upper one, each tried.
//!    - Flow covers (Van Roy & Wolsey, « Valid inequalities for mixed 0-1 programs », Discrete Applied
//!      Mathematics 14, 1986) on capacity rows Σ x ≤ c whose pairs have room U < c (maximum share).
//!    - c-MIR on rows of the LP's simplex tableau, as HiGHS's tableau separator does: the rows summed
//!      with the weights that leave one fractional binary alone among the basic columns (microlp's
//!      `Solution::tableau_row`, patched in), rounded like an aggregation. They sum more rows than a
//!      path of [`MAX_AGGREGATION`]. On metro 150 × 30 seed 8's 631-pair component, HiGHS's root cuts
//!      lift the LP to 53 316 where the two separators above reach 53 261; its cuts of more than 70
//!      terms, sums over every line of the component, make two thirds of the difference.
//!
//!    Only the cuts tight at the last LP point are kept, each once: the others, and copies, would slow
//!    every node's LP.
//! 2. **Reduced-cost fixing**: the dual of the cut LP gives multipliers π; for any π of the right signs,
//!    L(π) = π·b + Σ min(0, r_j)·u_j (r = c − Aᵀπ) is a lower bound, and a solution opening pair j costs
//!    at least L(π) + max(r_y, 0) + max(r_x, 0)·m. When that exceeds the incumbent, no better solution
//!    opens the pair: it leaves the model. On metro 150 × 30 two thirds of the pairs go.
//!
//! Every cut is checked against the incumbent before it is kept (a cut the incumbent violates would be a
//! separator's error; it is dropped and logged), and the incumbent's lots are never fixed away, so the
//! reduced model still holds it: its optimum is the component's, and its bound is a bound of the
//! component.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::milp::{Col, Milp, Row, Sense, microlp_problem};

/// Rounds of separation, and how many of the most violated cuts (by efficacy) each round adds.
const CUT_ROUNDS: usize = 40;
const CUTS_PER_ROUND: usize = 60;
/// Passes of cuts and fixing after the first (measured on metro 150 × 30: more than three add ~0.01 % of
/// bound for twice the time).
const PASSES: usize = 3;
/// Rows of the simplex tableau rounded per round (the most fractional basic binaries'), and the most
/// terms a cut from one may have. A tableau row sums many rows; so do its cuts, and dense rows slow
/// every node's LP. Measured on 15 components of metro 150 × 30 (530–680 pairs, line rows of up to 67
/// terms), the bound after every pass against none: higher on 13 with at most 150 terms (e.g. seed 8's
/// 631-pair component 53 287 → 53 300, HiGHS's root 53 316), 10 with 100, 11 with no limit (cuts then
/// entered the LP one at a time).
const TABLEAU_ROWS: usize = 40;
const TABLEAU_TERMS: usize = 150;
/// Rows whose coefficients, scaled so that the largest is 1, agree once multiplied by this and rounded
/// (nine digits) are parallel.
const DIRECTION_DIGITS: f64 = 1e9;
/// Rows summed at most into one base inequality of c-MIR.
const MAX_AGGREGATION: usize = 6;
/// Rounds after which separation stops when the bound moved less than this (relative).
const STALL_ROUNDS: usize = 2;
const STALL_GAIN: f64 = 1e-4;
/// A cut is kept when it is violated by more than this (relative to its right-hand side) and its
/// efficacy (violation over norm) is above the second.
const MIN_VIOLATION: f64 = 1e-6;
const MIN_EFFICACY: f64 = 1e-4;
/// Below this, a value is zero; a binary is fractional between it and 1 − it.
const TOL: f64 = 1e-6;

/// The model made ready for branch and bound.
#[derive(Debug, Clone)]
pub(crate) struct Strengthened {
    /// The rows of the model plus the cuts, on the columns kept.
    pub milp: Milp,
    /// Per column of `milp`, its column in the original model (the others are 0 in every solution
    /// better than the incumbent).
    pub kept: Vec<usize>,
    /// A lower bound of the original model's objective (the cut LP's).
    pub bound: f64,
    pub cuts: usize,
    /// Pairs (binary columns) fixed to 0.
    pub fixed: usize,
    /// The last cut LP's optimal point, a value per original column (0 for those not kept): where it
    /// agrees with good lots, better lots often agree too (RINS, Danna, Rothberg & Le Pape 2005).
    pub relaxation: Vec<f64>,
}

impl Strengthened {
    /// The values of `kept` columns (a solution of `milp`) as values of every original column.
    pub fn expand(&self, values: &[f64], columns: usize) -> Vec<f64> {
        let mut full = vec![0.0; columns];
        for (&j, &v) in self.kept.iter().zip(values) {
            full[j] = v;
        }
        full
    }

    /// The original columns' `values` restricted to the kept ones.
    pub fn restrict(&self, values: &[f64]) -> Vec<f64> {
        self.kept.iter().map(|&j| values[j]).collect()
    }
}

/// Adds cuts to `milp` and removes the pairs no solution cheaper than `incumbent` (a feasible value per
/// column) can open. `None` when the LP could not be solved within the time left.
///
/// Once pairs are fixed, the smaller model is cut again: without them the rows sum into stronger cuts,
/// whose bound fixes more pairs. Up to [`PASSES`] more passes, while each still fixes some.
pub(crate) fn strengthen(milp: &Milp, incumbent: &[f64], deadline: Instant) -> Option<Strengthened> {
    let (mut done, mut model_rows) = strengthen_once(milp, milp.rows.len(), incumbent, deadline)?;
    let mut fixed_last = done.fixed;
    for _ in 0..PASSES {
        if fixed_last == 0 {
            break;
        }
        let Some((again, rows)) = strengthen_once(&done.milp, model_rows, &done.restrict(incumbent), deadline) else {
            break;
        };
        model_rows = rows;
        fixed_last = again.fixed;
        // The pass's columns are `done.milp`'s, whose values expand to the original ones.
        let relaxation = done.expand(&again.relaxation, milp.cols.len());
        done = Strengthened {
            relaxation,
            kept: again.kept.iter().map(|&k| done.kept[k]).collect(),
            bound: done.bound.max(again.bound),
            cuts: done.cuts + again.cuts,
            fixed: done.fixed + again.fixed,
            milp: again.milp,
        };
    }
    // A pass keeps the cuts tight at its last LP point, but the next pass takes them in as rows of the model:
    // once it has moved the point, those it left slack go too.
    let point = done.restrict(&done.relaxation);
    let mut row = 0;
    done.milp.rows.retain(|cut| {
        row += 1;
        row <= model_rows || tight(cut, &point)
    });
    done.milp.rows = tightest_once(std::mem::take(&mut done.milp.rows));
    Some(done)
}

/// One pass of [`strengthen`], on `milp` whose first `model_rows` rows are the model's own (the others,
/// cuts of earlier passes). The model strengthened, and how many of its first rows are the model's own.
fn strengthen_once(
    milp: &Milp,
    model_rows: usize,
    incumbent: &[f64],
    deadline: Instant,
) -> Option<(Strengthened, usize)> {
    if milp.cols.iter().any(|c| c.lower != 0.0) {
        return None; // the fixing below assumes every column starts at 0, as the component models do
    }
    let shape = Shape::of(milp);
    let cutoff: f64 = milp.cols.iter().zip(incumbent).map(|(c, v)| c.cost * v).sum();
    let (mut lp_bound, cuts, relaxation) = cut_loop(milp, &shape, incumbent, cutoff, deadline)?;
    let mut rows = milp.rows.clone();
    rows.extend(cuts.iter().cloned());
    let mut fixed_zero = vec![false; milp.cols.len()];
    let mut fixed = 0;
    if let Some(duals) = dual_values(&milp.cols, &rows, deadline) {
        let (lagrangian, reduced) = lagrangian(&milp.cols, &rows, &duals);
        lp_bound = lp_bound.max(lagrangian).min(cutoff);
        let slack = 1e-6 * cutoff.abs().max(1.0);
        for (y, col) in milp.cols.iter().enumerate() {
            if !col.binary || incumbent[y] > 0.5 {
                continue;
            }
            let mut opening = reduced[y].max(0.0);
            for &x in &shape.bounded_by[y] {
                opening += reduced[x].max(0.0) * shape.lower_bound_of(x, y);
            }
            if lagrangian + opening > cutoff + slack {
                fixed_zero[y] = true;
                fixed += 1;
                for &x in &shape.bounded_by[y] {
                    fixed_zero[x] = true;
                }
            }
        }
    }
    // `without` drops the rows left without a term, keeping the order: the model's own stay first.
    let model_rows = milp.rows[..model_rows].iter().filter(|r| r.terms.iter().any(|&(j, _)| !fixed_zero[j])).count();
    let (reduced, kept) = without(&milp.cols, &rows, &fixed_zero);
    Some((Strengthened { milp: reduced, kept, bound: lp_bound, cuts: cuts.len(), fixed, relaxation }, model_rows))
}

/// The model on `cols` and `rows` without the columns `fixed_zero` (0 in every solution wanted), and
/// the columns it keeps. A column fixed to 0 adds nothing to its rows; a row left with no term holds
/// at every point (it did at 0), and is dropped.
pub(crate) fn without(cols: &[Col], rows: &[Row], fixed_zero: &[bool]) -> (Milp, Vec<usize>) {
    let kept: Vec<usize> = (0..cols.len()).filter(|&j| !fixed_zero[j]).collect();
    let mut position = vec![usize::MAX; cols.len()];
    for (k, &j) in kept.iter().enumerate() {
        position[j] = k;
    }
    let mut reduced = Milp { cols: kept.iter().map(|&j| cols[j]).collect(), rows: Vec::with_capacity(rows.len()) };
    for row in rows {
        let terms: Vec<(usize, f64)> =
            row.terms.iter().filter(|(j, _)| !fixed_zero[*j]).map(|&(j, a)| (position[j], a)).collect();
        if !terms.is_empty() {
            reduced.rows.push(Row { terms, sense: row.sense, rhs: row.rhs });
        }
    }
    (reduced, kept)
}

/// What the separators need to know of the model's structure.
struct Shape {
    /// Per column z: its variable upper bound z ≤ U·y, as (y, U).
    upper_by: Vec<Option<(usize, f64)>>,
    /// Per column z: its variable lower bound z ≥ m·y, as (y, m).
    lower_by: Vec<Option<(usize, f64)>>,
    /// Per binary column y: the columns whose variable upper bound it is (0 when it is).
    bounded_by: Vec<Vec<usize>>,
    /// The rows that are not variable bounds: those cut and summed.
    rows: Vec<usize>,
    /// Per column, the rows of `rows` it appears in.
    rows_of: Vec<Vec<usize>>,
}

impl Shape {
    fn of(milp: &Milp) -> Self {
        let n = milp.cols.len();
        let mut shape = Shape {
            upper_by: vec![None; n],
            lower_by: vec![None; n],
            bounded_by: vec![Vec::new(); n],
            rows: Vec::new(),
            rows_of: vec![Vec::new(); n],
        };
        for (r, row) in milp.rows.iter().enumerate() {
            if let Some((z, y, coefficient)) = variable_bound(milp, row) {
                match row.sense {
                    Sense::Le => {
                        shape.upper_by[z] = Some((y, coefficient));
                        shape.bounded_by[y].push(z);
                    }
                    Sense::Ge => shape.lower_by[z] = Some((y, coefficient)),
                    Sense::Eq => unreachable!("variable_bound only matches inequalities"),
                }
                continue;
            }
            shape.rows.push(r);
            for &(j, _) in &row.terms {
                shape.rows_of[j].push(r);
            }
        }
        shape
    }

    /// The minimum a column takes once its binary `y` is 1 (its variable lower bound, else 0).
    fn lower_bound_of(&self, z: usize, y: usize) -> f64 {
        match self.lower_by[z] {
            Some((b, m)) if b == y => m,
            _ => 0.0,
        }
    }
}

/// A row `a·z − b·y (≤ or ≥) 0` with z continuous, y binary, a, b > 0: the variable bound z (≤ or ≥)
/// (b/a)·y, as (z, y, b/a).
fn variable_bound(milp: &Milp, row: &Row) -> Option<(usize, usize, f64)> {
    let [(j, a), (k, b)] = row.terms[..] else { return None };
    if row.sense == Sense::Eq || row.rhs != 0.0 {
        return None;
    }
    let (z, a, y, b) = if milp.cols[k].binary { (j, a, k, b) } else { (k, b, j, a) };
    (!milp.cols[z].binary && milp.cols[y].binary && a > 0.0 && b < 0.0).then_some((z, y, -b / a))
}

/// The LP relaxation with cuts added round after round; its bound and the cuts kept.
/// The bound, the cuts kept and the last LP point.
fn cut_loop(
    milp: &Milp,
    shape: &Shape,
    incumbent: &[f64],
    cutoff: f64,
    deadline: Instant,
) -> Option<(f64, Vec<Row>, Vec<f64>)> {
    use microlp::{ComparisonOp, LinearExpr, SolveOutcome};
    let (problem, vars) = microlp_problem(&milp.cols, &milp.rows, true, microlp::OptimizationDirection::Minimize);
    let mut options = microlp::SolveOptions::default();
    options.time_limit = Some(time_left(deadline)?);
    let SolveOutcome::Solution(mut solution) = problem.solve_with(options).ok()? else { return None };
    let mut bound = solution.objective();
    let mut cuts: Vec<Row> = Vec::new();
    let mut stalled = 0;
    for _ in 0..CUT_ROUNDS {
        if time_left(deadline).is_none() || bound >= cutoff - 1e-9 * cutoff.abs().max(1.0) {
            break;
        }
        let point: Vec<f64> = vars.iter().map(|&v| solution.var_value(v)).collect();
        let mut found = separate(milp, shape, &point);
        found.extend(tableau_cuts(milp, &cuts, shape, &point, &mut solution, &vars));
        found.retain(|cut| {
            let holds = activity(&cut.row, incumbent) <= cut.row.rhs + 1e-6 * cut.row.rhs.abs().max(1.0);
            if !holds {
                tracing::warn!("a cut the incumbent violates was dropped (a separator's error)");
            }
            holds
        });
        found.sort_by(|a, b| b.efficacy.total_cmp(&a.efficacy));
        found.truncate(CUTS_PER_ROUND);
        if found.is_empty() {
            break;
        }
        let rows = found.iter().map(|cut| {
            let mut expr = LinearExpr::empty();
            for &(j, a) in &cut.row.terms {
                expr.add(vars[j], a);
            }
            (expr, ComparisonOp::Le, cut.row.rhs)
        });
        // An error or a time-out consumes the LP: the cuts so far stay valid, the bound so far too.
        match solution.add_constraints(rows) {
            Ok(SolveOutcome::Solution(next)) => solution = next,
            _ => return Some((bound, cuts, point)),
        }
        cuts.extend(found.into_iter().map(|cut| cut.row));
        let next = solution.objective();
        stalled = if next - bound < STALL_GAIN * next.abs().max(1.0) { stalled + 1 } else { 0 };
        bound = bound.max(next);
        if stalled >= STALL_ROUNDS {
            break;
        }
    }
    // Only the cuts tight at the last LP point hold the bound; the others would slow every node's LP.
    let point: Vec<f64> = vars.iter().map(|&v| solution.var_value(v)).collect();
    cuts.retain(|cut| tight(cut, &point));
    Some((bound, cuts, point))
}

/// Whether cut `cut` (a ≤ row) holds with equality at `point`, within a relative tolerance.
fn tight(cut: &Row, point: &[f64]) -> bool {
    cut.rhs - activity(cut, point) <= 1e-6 * cut.rhs.abs().max(1.0)
}

/// `rows` with one inequality per direction, the tightest: of parallel rows (the same terms up to a positive
/// factor, as ≤), the others hold wherever it does. The separators often find the same cut more than once
/// in a round (from different rows), and every copy would slow each node's LP. Equations, and rows without
/// a nonzero term, stay.
fn tightest_once(rows: Vec<Row>) -> Vec<Row> {
    use std::collections::hash_map::Entry;
    let mut keep = vec![true; rows.len()];
    let mut tightest: HashMap<Vec<(usize, i64)>, (usize, f64)> = HashMap::new();
    for (r, row) in rows.iter().enumerate() {
        let Some((direction, rhs)) = direction(row) else { continue };
        match tightest.entry(direction) {
            Entry::Vacant(first) => {
                first.insert((r, rhs));
            }
            Entry::Occupied(mut known) => {
                let (k, known_rhs) = *known.get();
                if rhs < known_rhs {
                    keep[k] = false;
                    known.insert((r, rhs));
                } else {
                    keep[r] = false;
                }
            }
        }
    }
    rows.into_iter().zip(keep).filter_map(|(row, kept)| kept.then_some(row)).collect()
}

/// The direction of inequality `row` written as ≤: its terms by column, scaled so that the largest is 1
/// and rounded, and its right-hand side so scaled. `None` for an equation or a row without terms.
fn direction(row: &Row) -> Option<(Vec<(usize, i64)>, f64)> {
    let sign = match row.sense {
        Sense::Le => 1.0,
        Sense::Ge => -1.0,
        Sense::Eq => return None,
    };
    let scale = row.terms.iter().map(|(_, a)| a.abs()).fold(0.0, f64::max);
    if scale <= 0.0 {
        return None;
    }
    let mut terms: Vec<(usize, i64)> =
        row.terms.iter().map(|&(j, a)| (j, (sign * a / scale * DIRECTION_DIGITS).round() as i64)).collect();
    terms.sort_unstable();
    Some((terms, sign * row.rhs / scale))
}

fn time_left(deadline: Instant) -> Option<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    (!left.is_zero()).then_some(left)
}

fn activity(row: &Row, values: &[f64]) -> f64 {
    row.terms.iter().map(|&(j, a)| a * values[j]).sum()
}

/// Multipliers of `rows` from the dual of the LP relaxation (every column in [0, u]):
/// max b·π − u·w  s.t.  Aᵀπ − w ≤ c, w ≥ 0, π ≥ 0 on ≥ rows, ≤ 0 on ≤ rows, free on = rows.
fn dual_values(cols: &[Col], rows: &[Row], deadline: Instant) -> Option<Vec<f64>> {
    use microlp::{LinearExpr, OptimizationDirection, Problem, SolveOutcome};
    let mut problem = Problem::new(OptimizationDirection::Maximize);
    let pi: Vec<microlp::Variable> = rows
        .iter()
        .map(|row| {
            let range = match row.sense {
                Sense::Ge => (0.0, f64::INFINITY),
                Sense::Le => (f64::NEG_INFINITY, 0.0),
                Sense::Eq => (f64::NEG_INFINITY, f64::INFINITY),
            };
            problem.add_var(row.rhs, range)
        })
        .collect();
    let mut column_terms: Vec<Vec<(usize, f64)>> = vec![Vec::new(); cols.len()];
    for (i, row) in rows.iter().enumerate() {
        for &(j, a) in &row.terms {
            column_terms[j].push((i, a));
        }
    }
    for (j, col) in cols.iter().enumerate() {
        let mut expr = LinearExpr::empty();
        for &(i, a) in &column_terms[j] {
            expr.add(pi[i], a);
        }
        if col.upper.is_finite() {
            expr.add(problem.add_var(-col.upper, (0.0, f64::INFINITY)), -1.0);
        }
        problem.add_constraint(expr, microlp::ComparisonOp::Le, col.cost);
    }
    let mut options = microlp::SolveOptions::default();
    options.time_limit = Some(time_left(deadline)?);
    let SolveOutcome::Solution(solution) = problem.solve_with(options).ok()? else { return None };
    Some(pi.iter().map(|&v| solution.var_value(v)).collect())
}

/// L(π) and the reduced costs r = c − Aᵀπ. Valid for any π: its signs are forced to the rows' senses
/// first, so a dual solved only approximately still gives a true (if weaker) bound.
fn lagrangian(cols: &[Col], rows: &[Row], duals: &[f64]) -> (f64, Vec<f64>) {
    let mut reduced: Vec<f64> = cols.iter().map(|c| c.cost).collect();
    let mut value = 0.0;
    for (row, &p) in rows.iter().zip(duals) {
        let p = match row.sense {
            Sense::Ge => p.max(0.0),
            Sense::Le => p.min(0.0),
            Sense::Eq => p,
        };
        value += row.rhs * p;
        for &(j, a) in &row.terms {
            reduced[j] -= a * p;
        }
    }
    for (c, &r) in cols.iter().zip(&reduced) {
        value += if r < 0.0 { r * c.upper } else { r * c.lower };
    }
    (value, reduced)
}

/// A valid inequality `row` (always ≤) and how far it cuts the LP point.
struct Cut {
    row: Row,
    efficacy: f64,
}

/// A term of a summed row: a column, or the slack of an inequality row (≥ 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Term {
    Col(usize),
    Slack(usize),
}

/// An affine expression of the columns: Σ a·z + constant.
#[derive(Debug, Clone, Default)]
struct Affine {
    terms: Vec<(usize, f64)>,
    constant: f64,
}

impl Affine {
    /// The slack of inequality row `row` (rhs − a·z for ≤, a·z − rhs for ≥).
    fn slack(row: &Row) -> Self {
        let sign = if row.sense == Sense::Le { -1.0 } else { 1.0 };
        Affine { terms: row.terms.iter().map(|&(j, a)| (j, sign * a)).collect(), constant: -sign * row.rhs }
    }
}

/// Every violated cut found at `point`: c-MIR from each row (aggregating when needed) and flow covers.
fn separate(milp: &Milp, shape: &Shape, point: &[f64]) -> Vec<Cut> {
    let mut cuts = Vec::new();
    for &r in &shape.rows {
        let row = &milp.rows[r];
        let signs: &[f64] = match row.sense {
            Sense::Le => &[1.0],
            Sense::Ge => &[-1.0],
            Sense::Eq => &[1.0, -1.0],
        };
        for &sign in signs {
            aggregated_mir(milp, shape, point, r, sign, &mut cuts);
        }
        if let Some(cut) = flow_cover(milp, shape, point, row) {
            cuts.push(cut);
        }
    }
    cuts
}

/// c-MIR on the simplex tableau's rows of the most fractional basic binaries (at most [`TABLEAU_ROWS`]):
/// the sum of the model's rows and the cuts so far, weighted so that every other basic column drops
/// out. Each is rounded like an aggregation (both ways, an equation), its quantities replaced by their
/// variable bounds first. Any weights give a valid base inequality (each row comes with its slack), so
/// the LP's numerical error costs strength, never validity.
fn tableau_cuts(
    milp: &Milp,
    cuts: &[Row],
    shape: &Shape,
    point: &[f64],
    solution: &mut microlp::Solution,
    vars: &[microlp::Variable],
) -> Vec<Cut> {
    let mut candidates: Vec<usize> =
        (0..milp.cols.len()).filter(|&j| milp.cols[j].binary && point[j] > TOL && point[j] < 1.0 - TOL).collect();
    candidates.sort_by(|&a, &b| (point[a] - 0.5).abs().total_cmp(&(point[b] - 0.5).abs()).then(a.cmp(&b)));
    candidates.truncate(TABLEAU_ROWS);
    if candidates.is_empty() {
        return Vec::new();
    }
    // The slacks of the cuts so far are terms of those rows too.
    let model = Milp { cols: milp.cols.clone(), rows: milp.rows.iter().chain(cuts).cloned().collect() };
    let mut found = Vec::new();
    for j in candidates {
        let Some(weights) = solution.tableau_row(vars[j]) else { continue };
        let mut row: BTreeMap<Term, f64> = BTreeMap::new();
        let mut rhs = 0.0;
        for (r, lambda) in weights {
            let Some(other) = model.rows.get(r).filter(|_| lambda.abs() > 1e-9) else { continue };
            for &(k, a) in &other.terms {
                *row.entry(Term::Col(k)).or_default() += lambda * a;
            }
            match other.sense {
                Sense::Le => *row.entry(Term::Slack(r)).or_default() += lambda,
                Sense::Ge => *row.entry(Term::Slack(r)).or_default() -= lambda,
                Sense::Eq => {}
            }
            rhs += lambda * other.rhs;
        }
        let mut best: Option<Cut> = None;
        for sign in [1.0, -1.0] {
            let signed: BTreeMap<Term, f64> = row.iter().map(|(&t, &a)| (t, sign * a)).collect();
            if let Some(cut) = mir(&model, shape, point, &signed, sign * rhs)
                && best.as_ref().is_none_or(|known| cut.efficacy > known.efficacy)
            {
                best = Some(cut);
            }
        }
        found.extend(best.filter(|cut| cut.row.terms.len() <= TABLEAU_TERMS));
    }
    found
}

/// c-MIR from `sign`·row `start` (as a ≤ row), summed with the row of a continuous column that sits
/// strictly inside its bounds until a violated cut appears or [`MAX_AGGREGATION`] rows were summed.
fn aggregated_mir(
    milp: &Milp,
    shape: &Shape,
    point: &[f64],
    start: usize,
    sign: f64,
    cuts: &mut Vec<Cut>,
) -> Option<()> {
    let first = &milp.rows[start];
    let mut row: BTreeMap<Term, f64> = first.terms.iter().map(|&(j, a)| (Term::Col(j), sign * a)).collect();
    let mut rhs = sign * first.rhs;
    let mut used = vec![start];
    for _ in 0..=MAX_AGGREGATION {
        if let Some(cut) = mir(milp, shape, point, &row, rhs) {
            cuts.push(cut);
        }
        if used.len() > MAX_AGGREGATION {
            return None;
        }
        // The continuous column farthest from its bounds, in a row not summed yet.
        let mut pick: Option<(usize, usize, f64)> = None;
        for (&term, &a) in &row {
            let Term::Col(j) = term else { continue };
            if milp.cols[j].binary || a.abs() < TOL {
                continue;
            }
            let (lower, upper) = bounds_at(milp, shape, point, j);
            let distance = (point[j] - lower).min(upper - point[j]);
            if distance <= TOL || pick.is_some_and(|(_, _, d)| d >= distance) {
                continue;
            }
            if let Some(&r) = shape.rows_of[j].iter().find(|r| !used.contains(r)) {
                pick = Some((j, r, distance));
            }
        }
        let (j, r, _) = pick?;
        let other = &milp.rows[r];
        let coefficient = other.terms.iter().find(|(k, _)| *k == j).map(|&(_, a)| a)?;
        let lambda = -row[&Term::Col(j)] / coefficient;
        for &(k, a) in &other.terms {
            *row.entry(Term::Col(k)).or_default() += lambda * a;
        }
        row.insert(Term::Col(j), 0.0);
        // a·z + s = rhs (≤) or a·z − s = rhs (≥): the slack comes along.
        match other.sense {
            Sense::Le => *row.entry(Term::Slack(r)).or_default() += lambda,
            Sense::Ge => *row.entry(Term::Slack(r)).or_default() -= lambda,
            Sense::Eq => {}
        }
        rhs += lambda * other.rhs;
        used.push(r);
    }
    None
}

/// The bounds of continuous column `j` at `point`: its variable bounds where it has them.
fn bounds_at(milp: &Milp, shape: &Shape, point: &[f64], j: usize) -> (f64, f64) {
    let col = &milp.cols[j];
    let lower = shape.lower_by[j].map_or(col.lower, |(y, m)| m * point[y]);
    let upper = shape.upper_by[j].map_or(col.upper, |(y, u)| u * point[y]);
    (lower, upper)
}

/// The best c-MIR cut of the base inequality Σ row·z ≤ rhs, if one is violated at `point`: each way of
/// substituting the continuous columns is rounded and the most efficacious cut kept.
fn mir(milp: &Milp, shape: &Shape, point: &[f64], row: &BTreeMap<Term, f64>, rhs: f64) -> Option<Cut> {
    let mut best: Option<Cut> = None;
    for rule in [Substitution::Nearest, Substitution::VariableUpper] {
        let base = Base::substitute(milp, shape, point, row, rhs, rule);
        if let Some(cut) = base.round(milp, point)
            && best.as_ref().is_none_or(|known| cut.efficacy > known.efficacy)
        {
            best = Some(cut);
        }
    }
    best
}

/// Which bound replaces a continuous column in the base inequality.
#[derive(Clone, Copy, PartialEq)]
enum Substitution {
    /// The (variable) bound nearer to the column's value.
    Nearest,
    /// The variable upper bound x = U·y − t where there is one, else the nearer bound.
    VariableUpper,
}

/// A base inequality Σ a·y + Σ c·t ≤ β with y binary and t ≥ 0 (each t an affine expression of the
/// columns, non-negative in every solution).
struct Base {
    binaries: Vec<(usize, f64)>,
    continuous: Vec<(f64, Affine)>,
    beta: f64,
    /// Every column of the cut, by column, and where each binary's and each t's terms go in it:
    /// c-MIR rounds one base tens of times (every divisor, every binary complemented), and summing
    /// its terms by column again each time, in a map, made half the time spent cutting a dense
    /// component (metro 150 × 30 seed 13's 620-pair component, profiled).
    columns: Vec<usize>,
    binary_at: Vec<usize>,
    continuous_at: Vec<Vec<usize>>,
}

impl Base {
    fn substitute(
        milp: &Milp,
        shape: &Shape,
        point: &[f64],
        row: &BTreeMap<Term, f64>,
        rhs: f64,
        rule: Substitution,
    ) -> Self {
        let mut binaries: BTreeMap<usize, f64> = BTreeMap::new();
        let mut continuous: Vec<(f64, Affine)> = Vec::new();
        let mut beta = rhs;
        for (&term, &a) in row {
            if a.abs() < 1e-12 {
                continue;
            }
            let j = match term {
                Term::Slack(r) => {
                    continuous.push((a, Affine::slack(&milp.rows[r])));
                    continue;
                }
                Term::Col(j) if milp.cols[j].binary => {
                    *binaries.entry(j).or_default() += a;
                    continue;
                }
                Term::Col(j) => j,
            };
            let col = &milp.cols[j];
            let (lower, upper) = bounds_at(milp, shape, point, j);
            let use_lower = match rule {
                Substitution::VariableUpper if shape.upper_by[j].is_some() => false,
                _ => !upper.is_finite() || point[j] - lower <= upper - point[j],
            };
            if use_lower {
                match shape.lower_by[j] {
                    Some((y, m)) => {
                        *binaries.entry(y).or_default() += a * m;
                        continuous.push((a, Affine { terms: vec![(j, 1.0), (y, -m)], constant: 0.0 }));
                    }
                    None => {
                        beta -= a * col.lower;
                        continuous.push((a, Affine { terms: vec![(j, 1.0)], constant: -col.lower }));
                    }
                }
            } else {
                match shape.upper_by[j] {
                    Some((y, u)) => {
                        *binaries.entry(y).or_default() += a * u;
                        continuous.push((-a, Affine { terms: vec![(y, u), (j, -1.0)], constant: 0.0 }));
                    }
                    None => {
                        beta -= a * col.upper;
                        continuous.push((-a, Affine { terms: vec![(j, -1.0)], constant: col.upper }));
                    }
                }
            }
        }
        // Only the t with a negative coefficient stay in the cut (the others are dropped: t ≥ 0).
        continuous.retain(|(c, _)| *c < 0.0);
        let binaries: Vec<(usize, f64)> = binaries.into_iter().filter(|(_, a)| a.abs() >= 1e-12).collect();
        let mut columns: Vec<usize> = binaries.iter().map(|&(y, _)| y).collect();
        columns.extend(continuous.iter().flat_map(|(_, t)| t.terms.iter().map(|&(j, _)| j)));
        columns.sort_unstable();
        columns.dedup();
        let at = |j: usize| columns.binary_search(&j).unwrap_or_default(); // always there
        let binary_at = binaries.iter().map(|&(y, _)| at(y)).collect();
        let continuous_at = continuous.iter().map(|(_, t)| t.terms.iter().map(|&(j, _)| at(j)).collect()).collect();
        Base { binaries, continuous, beta, columns, binary_at, continuous_at }
    }

    /// Marchand & Wolsey's heuristic: binaries nearer 1 complemented, the best divisor δ among the
    /// fractional binaries' coefficients, then δ/2, δ/4, δ/8, then each fractional binary complemented
    /// in turn (nearest to ½ first), kept when the cut gets more efficacious.
    fn round(&self, milp: &Milp, point: &[f64]) -> Option<Cut> {
        let fractional = |y: usize| point[y] > TOL && point[y] < 1.0 - TOL;
        let mut flipped: Vec<bool> = self.binaries.iter().map(|&(y, _)| point[y] > 0.5).collect();
        let mut divisors: Vec<f64> =
            self.binaries.iter().filter(|&&(y, a)| fractional(y) && a.abs() > TOL).map(|&(_, a)| a.abs()).collect();
        divisors.sort_by(|a, b| b.total_cmp(a));
        divisors.dedup_by(|a, b| (*a - *b).abs() <= 1e-9 * b.abs());
        divisors.truncate(8);
        let better = |cut: Option<Cut>, best: &Option<(f64, Cut)>, delta: f64| -> Option<(f64, Cut)> {
            cut.filter(|c| best.as_ref().is_none_or(|(_, known)| c.efficacy > known.efficacy + 1e-12))
                .map(|c| (delta, c))
        };
        let mut best: Option<(f64, Cut)> = None;
        for &delta in &divisors {
            if let Some(found) = better(self.cut(milp, point, &flipped, delta), &best, delta) {
                best = Some(found);
            }
        }
        let (delta, _) = best.as_ref()?;
        let delta = *delta;
        for scaled in [delta / 2.0, delta / 4.0, delta / 8.0] {
            if let Some(found) = better(self.cut(milp, point, &flipped, scaled), &best, scaled) {
                best = Some(found);
            }
        }
        let delta = best.as_ref().map(|(d, _)| *d)?;
        let mut order: Vec<usize> = (0..self.binaries.len()).filter(|&i| fractional(self.binaries[i].0)).collect();
        order.sort_by(|&i, &k| {
            let (a, b) = (point[self.binaries[i].0], point[self.binaries[k].0]);
            (a - 0.5).abs().total_cmp(&(b - 0.5).abs()).then(i.cmp(&k))
        });
        for i in order {
            flipped[i] = !flipped[i];
            match better(self.cut(milp, point, &flipped, delta), &best, delta) {
                Some(found) => best = Some(found),
                None => flipped[i] = !flipped[i],
            }
        }
        best.map(|(_, cut)| cut)
    }

    /// The MIR cut with divisor δ, the binaries `flipped` complemented (a·y = a − a·(1 − y)), if it is
    /// violated at `point`.
    fn cut(&self, milp: &Milp, point: &[f64], flipped: &[bool], delta: f64) -> Option<Cut> {
        let beta: f64 =
            self.beta - self.binaries.iter().zip(flipped).filter(|(_, f)| **f).map(|((_, a), _)| a).sum::<f64>();
        let b = beta / delta;
        let f0 = b - b.floor();
        if !(0.01..=0.99).contains(&f0) || b.abs() > 1e9 {
            return None;
        }
        let g = |a: f64| {
            let q = a / delta;
            q.floor() + (q - q.floor() - f0).max(0.0) / (1.0 - f0)
        };
        // Back in the original columns, times δ.
        let mut sums = vec![0.0; self.columns.len()];
        let mut rhs = delta * b.floor();
        for ((&(_, a), &flip), &at) in self.binaries.iter().zip(flipped).zip(&self.binary_at) {
            if flip {
                let coefficient = delta * g(-a);
                rhs -= coefficient;
                sums[at] -= coefficient;
            } else {
                sums[at] += delta * g(a);
            }
        }
        for ((c, t), at) in self.continuous.iter().zip(&self.continuous_at) {
            let w = c / (1.0 - f0);
            rhs -= w * t.constant;
            for (&(_, e), &k) in t.terms.iter().zip(at) {
                sums[k] += w * e;
            }
        }
        finish(milp, self.columns.iter().copied().zip(sums).collect(), rhs, point)
    }
}

/// A flow cover of a row Σ a·x ≤ b (a > 0) whose columns all have variable upper bounds x ≤ U·y:
/// with a cover C (Σ_C a·U > b, λ = Σ_C a·U − b), Σ_C a·x + Σ_C (a·U − λ)⁺·(1 − y) ≤ b.
fn flow_cover(milp: &Milp, shape: &Shape, point: &[f64], row: &Row) -> Option<Cut> {
    if row.sense != Sense::Le || row.terms.len() < 2 {
        return None;
    }
    // (column, coefficient, flow bound a·U, binary)
    let mut items: Vec<(usize, f64, f64, usize)> = Vec::with_capacity(row.terms.len());
    for &(j, a) in &row.terms {
        let (y, u) = shape.upper_by[j]?;
        if a <= 0.0 || milp.cols[j].lower < 0.0 {
            return None;
        }
        if point[j] > TOL {
            items.push((j, a, a * u, y));
        }
    }
    // Cheapest cover first: little (1 − y) per unit of flow bound.
    items.sort_by(|p, q| ((1.0 - point[p.3]) / p.2).total_cmp(&((1.0 - point[q.3]) / q.2)).then(p.0.cmp(&q.0)));
    let mut cover = Vec::new();
    let mut total = 0.0;
    for item in items {
        cover.push(item);
        total += item.2;
        if total > row.rhs + TOL {
            break;
        }
    }
    let lambda = total - row.rhs;
    if lambda <= TOL {
        return None;
    }
    let mut terms: BTreeMap<usize, f64> = BTreeMap::new();
    let mut rhs = row.rhs;
    for &(j, a, flow, y) in &cover {
        *terms.entry(j).or_default() += a;
        let lifted = (flow - lambda).max(0.0);
        if lifted > 0.0 {
            *terms.entry(y).or_default() -= lifted;
            rhs -= lifted;
        }
    }
    finish(milp, terms.into_iter().collect(), rhs, point)
}

/// The cut Σ terms ≤ rhs (`terms` by column, each column once), with coefficients too small to matter
/// moved safely to the right-hand side, if it is violated enough at `point`.
fn finish(milp: &Milp, terms: Vec<(usize, f64)>, mut rhs: f64, point: &[f64]) -> Option<Cut> {
    let mut kept = Vec::with_capacity(terms.len());
    for (j, a) in terms {
        if a.abs() > 1e-9 {
            kept.push((j, a));
        } else if a < 0.0 {
            rhs -= a * milp.cols[j].upper; // a·z ≥ a·upper: dropping it needs room for the worst case
        } else {
            rhs -= a * milp.cols[j].lower;
        }
    }
    let norm = kept.iter().map(|(_, a)| a * a).sum::<f64>().sqrt();
    let violation = kept.iter().map(|&(j, a)| a * point[j]).sum::<f64>() - rhs;
    if norm <= 0.0 || !rhs.is_finite() || violation <= MIN_VIOLATION * rhs.abs().max(1.0) {
        return None;
    }
    let efficacy = violation / norm;
    (efficacy > MIN_EFFICACY).then_some(Cut { row: Row { terms: kept, sense: Sense::Le, rhs }, efficacy })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::milp::tests::dense_components;
    use crate::milp::{self, Backend, Limits, Stop};
    use std::collections::HashSet;

    fn cost(milp: &Milp, values: &[f64]) -> f64 {
        milp.cols.iter().zip(values).map(|(c, v)| c.cost * v).sum()
    }

    fn proven_optimum(milp: &Milp, start: &[f64]) -> Vec<f64> {
        let outcome = milp::solve(milp, start, Limits { seconds: 600.0, nodes: None }, Backend::Microlp)
            .expect("branch and bound solves a small component");
        assert_eq!(outcome.stop, Stop::ProvenOptimal);
        outcome.values
    }

    fn lp_bound(milp: &Milp) -> f64 {
        let (problem, _) = microlp_problem(&milp.cols, &milp.rows, true, microlp::OptimizationDirection::Minimize);
        match problem.solve() {
            Ok(microlp::SolveOutcome::Solution(solution)) => solution.objective(),
            other => panic!("the LP relaxation solves: {other:?}"),
        }
    }

    /// Every row holds at `values`, within a relative tolerance; `what` names them in the failure.
    pub(crate) fn assert_rows_hold(rows: &[Row], values: &[f64], what: &str) {
        for row in rows {
            let lhs = activity(row, values);
            let slack = 1e-6 * row.rhs.abs().max(1.0);
            let holds = match row.sense {
                Sense::Le => lhs <= row.rhs + slack,
                Sense::Ge => lhs >= row.rhs - slack,
                Sense::Eq => (lhs - row.rhs).abs() <= slack,
            };
            assert!(holds, "{what} violates {row:?}: {lhs}");
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn cuts_and_fixing_keep_the_optimum_and_bound_it_from_below() {
        let far = Instant::now() + Duration::from_secs(600);
        let (mut lifted, mut fixed, mut components) = (0, 0, 0);
        for (milp, start) in dense_components() {
            components += 1;
            let optimum = proven_optimum(&milp, &start);
            let best = cost(&milp, &optimum);
            let lp = lp_bound(&milp);
            // From a poor incumbent (the greedy lots) and from the optimum itself.
            for incumbent in [&start, &optimum] {
                let strengthened = strengthen(&milp, incumbent, far).expect("the LP solves");
                assert!(strengthened.bound <= best + 1e-6 * best.abs().max(1.0), "{} > {best}", strengthened.bound);
                for (j, &v) in optimum.iter().enumerate() {
                    assert!(v.abs() <= 1e-9 || strengthened.kept.contains(&j), "column {j} of the optimum fixed to 0");
                }
                // The optimum satisfies every cut...
                assert_rows_hold(&strengthened.milp.rows, &strengthened.restrict(&optimum), "the optimum");
                // The last cut LP's point is a point of the model's LP, no dearer than the incumbent.
                let point = &strengthened.relaxation;
                assert_rows_hold(&milp.rows, point, "the relaxation");
                for (c, &v) in milp.cols.iter().zip(point) {
                    assert!(v >= c.lower - 1e-6 && v <= c.upper + 1e-6, "{v} outside {c:?}");
                }
                let at = cost(&milp, point);
                assert!(at >= lp - 1e-6 * lp.abs().max(1.0), "{at} below the LP's optimum {lp}");
                let dearest = cost(&milp, incumbent);
                assert!(at <= dearest + 1e-6 * dearest.abs().max(1.0), "{at} above the incumbent's {dearest}");
                // ...and branch and bound on the strengthened model finds an optimum of the same cost.
                let again = proven_optimum(&strengthened.milp, &strengthened.restrict(incumbent));
                let again = strengthened.expand(&again, milp.cols.len());
                assert!(close(cost(&milp, &again), best), "{} vs {best}", cost(&milp, &again));
                if strengthened.bound > lp + 1e-6 * lp.abs().max(1.0) {
                    lifted += 1;
                }
                if std::ptr::eq(incumbent, &optimum) {
                    fixed += strengthened.fixed;
                }
            }
        }
        assert!(components >= 4, "{components} components");
        assert!(lifted >= components, "the cuts lift the LP bound of most dense components ({lifted} of {components})");
        assert!(fixed > 0, "with the optimum as incumbent, some pairs are fixed");
    }

    #[test]
    fn a_cut_enters_the_model_once() {
        // The separators often find the same cut more than once in a round. Kept, the copies made 8–19 % of
        // the rows of the polish's models on metro 150 × 30 (12 components), and 25–48 % of their
        // nonzeros: every node's LP paid for them.
        let far = Instant::now() + Duration::from_secs(600);
        let (mut copies, mut rows) = (0, 0);
        for (milp, start) in dense_components() {
            let cutoff = cost(&milp, &start);
            let (_, cuts, _) = cut_loop(&milp, &Shape::of(&milp), &start, cutoff, far).expect("the LP solves");
            let mut all = milp.rows.clone();
            all.extend(cuts);
            let once = tightest_once(all.clone());
            copies += all.len() - once.len();
            // What is left holds wherever the copies dropped do (the tightest of each direction stays)...
            let mut directions = HashSet::new();
            for row in &once {
                if let Some((direction, _)) = direction(row) {
                    assert!(directions.insert(direction), "a row twice: {row:?}");
                }
            }
            for row in &all {
                let Some((direction, rhs)) = direction(row) else { continue };
                let kept = once.iter().filter_map(super::direction).find(|(d, _)| *d == direction);
                assert!(kept.is_some_and(|(_, tightest)| tightest <= rhs + 1e-9), "{row:?} lost");
            }
            // ...and the strengthened model has each row once.
            let strengthened = strengthen(&milp, &start, far).expect("the LP solves");
            let mut directions = HashSet::new();
            for row in &strengthened.milp.rows {
                if let Some((direction, _)) = direction(row) {
                    assert!(directions.insert(direction), "a row twice in the model: {row:?}");
                }
            }
            rows += strengthened.milp.rows.len();
        }
        assert!(copies > 0, "the fixture's cut loops found no cut twice: this test would not see a copy");
        assert!(rows > 0);
    }

    #[test]
    fn a_cut_a_later_pass_leaves_slack_leaves_the_model() {
        // A pass keeps only the cuts tight at its last LP point, but the next pass takes them in as model
        // rows and moves the point. Kept, the ones it left slack held 21–46 % of the nonzeros of the
        // polish's models on metro 150 × 30 (12 components), and every node's LP paid for them.
        let far = Instant::now() + Duration::from_secs(600);
        let (mut left_slack, mut cut_rows) = (0, 0);
        for (milp, greedy) in dense_components() {
            // Against the optimum, the passes fix pairs (against the greedy lots, few or none).
            let start = proven_optimum(&milp, &greedy);
            // The fixture's passes do leave cuts of an earlier pass slack...
            let (first, model_rows) = strengthen_once(&milp, milp.rows.len(), &start, far).expect("the LP solves");
            if first.fixed > 0 {
                let (second, _) =
                    strengthen_once(&first.milp, model_rows, &first.restrict(&start), far).expect("the LP solves");
                // The second pass's LP point, a value per column of the first pass's model.
                let point = &second.relaxation;
                left_slack += first.milp.rows[model_rows..].iter().filter(|cut| !tight(cut, point)).count();
            }
            // ...and the strengthened model has none: each row is the model's own or a cut tight at the last
            // LP point.
            let strengthened = strengthen(&milp, &start, far).expect("the LP solves");
            // The model's own rows on the columns kept.
            let mut fixed_zero = vec![true; milp.cols.len()];
            for &j in &strengthened.kept {
                fixed_zero[j] = false;
            }
            let (own, _) = without(&milp.cols, &milp.rows, &fixed_zero);
            let own: Vec<(Vec<(usize, i64)>, f64)> = own.rows.iter().filter_map(direction).collect();
            let point = strengthened.restrict(&strengthened.relaxation);
            for row in &strengthened.milp.rows {
                let Some((direction, rhs)) = direction(row) else { continue };
                if own.iter().any(|(d, r)| *d == direction && close(*r, rhs)) {
                    continue;
                }
                cut_rows += 1;
                assert!(tight(row, &point), "a cut slack at the last LP point stayed: {row:?}");
            }
        }
        assert!(left_slack > 0, "no pass of the fixture left an earlier cut slack: this test would not see one");
        assert!(cut_rows > 0, "the strengthened models hold no cut");
    }

    #[test]
    fn tableau_cuts_cut_the_lp_point_and_keep_the_optimum() {
        let (mut found, mut components) = (0, 0);
        for (milp, start) in dense_components() {
            components += 1;
            let optimum = proven_optimum(&milp, &start);
            let (problem, vars) =
                microlp_problem(&milp.cols, &milp.rows, true, microlp::OptimizationDirection::Minimize);
            let Ok(microlp::SolveOutcome::Solution(mut solution)) = problem.solve() else {
                panic!("the LP relaxation solves");
            };
            let point: Vec<f64> = vars.iter().map(|&v| solution.var_value(v)).collect();
            let shape = Shape::of(&milp);
            for cut in tableau_cuts(&milp, &[], &shape, &point, &mut solution, &vars) {
                found += 1;
                assert!(activity(&cut.row, &point) > cut.row.rhs, "{:?} holds at the LP point", cut.row);
                assert!(cut.row.terms.len() <= TABLEAU_TERMS);
                assert_rows_hold(std::slice::from_ref(&cut.row), &optimum, "the optimum");
            }
        }
        assert!(found >= components, "{found} tableau cuts on {components} dense components");
    }

    #[test]
    fn a_flow_cover_cuts_a_capacity_split_that_no_integer_choice_allows() {
        // A supplier with 100 hours for two lines, at most 60 on each (maximum share): the LP opens the
        // second lot at 2/3 for its 40 hours; with a whole lot for each, no such point exists.
        let mut milp = Milp::default();
        let x1 = milp.add_col(0.0, 60.0, 1.0, false);
        let x2 = milp.add_col(0.0, 60.0, 1.0, false);
        let y1 = milp.add_col(0.0, 1.0, 50.0, true);
        let y2 = milp.add_col(0.0, 1.0, 50.0, true);
        milp.add_row(vec![(x1, 1.0), (y1, -60.0)], Sense::Le, 0.0);
        milp.add_row(vec![(x2, 1.0), (y2, -60.0)], Sense::Le, 0.0);
        milp.add_row(vec![(x1, 1.0), (x2, 1.0)], Sense::Le, 100.0);
        let shape = Shape::of(&milp);
        let point = [60.0, 40.0, 1.0, 40.0 / 60.0];
        let cut = flow_cover(&milp, &shape, &point, &milp.rows[2]).expect("the split point is cut");
        assert!(activity(&cut.row, &point) > cut.row.rhs + 1.0, "{:?}", cut.row);
        // Every vertex of every integer choice of lots satisfies it.
        for (o1, o2) in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)] {
            let (u1, u2): (f64, f64) = (60.0 * o1, 60.0 * o2);
            for (q1, q2) in [(0.0, 0.0), (u1, 0.0), (0.0, u2), (u1, (100.0 - u1).min(u2)), ((100.0 - u2).min(u1), u2)] {
                let values = [q1, q2, o1, o2];
                assert!(activity(&cut.row, &values) <= cut.row.rhs + 1e-9, "lots {values:?} violate {:?}", cut.row);
            }
        }
    }
}
