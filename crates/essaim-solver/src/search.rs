//! How one component is searched.
//!
//! 1. **Start**: the greedy lots, a feasible solution in microseconds.
//! 2. **Exact**: branch and bound on the whole component from that start. A small component gets up to
//!    [`SMALL_COMPONENT_NODES`] nodes (a sparse one is nearly always proven here); a large one a quarter
//!    of its budget, enough for the LP relaxation (the lower bound behind the reported gap) and what the
//!    tree finds early. Not proven, either goes on to the steps below. With HiGHS, every component is
//!    solved here alone, with its whole budget.
//! 3. **Fix-and-optimize** (large neighbourhood search), when not proven: free the lots of a region (a
//!    seed line, the lines nearest to it and, on a line with very many candidates, the nearest
//!    suppliers), keep every other lot as it is, and solve that sub-problem exactly with its own node
//!    budget, from the current lots; keep the result when it costs less. Capacity, clause hours and
//!    demand are per line or per (supplier, sector), so the lots kept fixed simply reduce what the region
//!    may use, and the sub-problem's optimum is a valid move. Two disjoint regions are solved at once
//!    (one thread each), the capacity they could both use split between them. The region grows when its
//!    sub-problems are proven quickly and shrinks when they hit their node budget; a region that spans
//!    the whole component and is proven optimal proves the component. Seed lines come in a random
//!    order, the lines left short first: an hour uncovered costs more than any distance or lot (national
//!    3000 × 150: 449 246 with 1.4 % of the hours uncovered, now 262 712 with all covered, at 30 s).
//!    Once regions of lines stop improving, one round in three frees **suppliers** instead: every pair
//!    of a seed supplier holding a lot and of the suppliers holding lots beside it, on every line (two
//!    such regions drawn, the better move kept). Lots trade along chains of suppliers across lines (one
//!    gives up a line to consolidate on another, which frees room for a third): a region of nearby
//!    lines cuts those chains, a region of suppliers follows them (metro 150 × 30 seed 5: 158 141 →
//!    157 941). Another round in three frees a **cross** region: a few lines linked by the
//!    suppliers holding their lots, with those suppliers and others that could take part, on those
//!    lines only. A region of lines takes every supplier and a region of suppliers every line, so
//!    either holds few of the other: the moves a dense component still missed span both (metro
//!    200 × 40 seed 3: HiGHS's better lots on its 1 134-pair component differ on 22 pairs of 7 lines
//!    and 13 suppliers, about 570 pairs as lines, 180 as suppliers, 91 as a cross). In one sitting:
//!    metro 200 × 40 seed 3 173 466 → 173 421 (every run), seeds 1 and 2 either way; metro 400 × 60
//!    228 150 → 227 657–227 841; metro 150 × 30 seed 1 147 764 → 147 729, seeds 2–13 alike.
//!    Once the polish below has cut the component's LP, each new lots also get a region of
//!    the pairs where that LP's point disagrees with them (RINS), whatever their distance or shape
//!    (metro 150 × 30 seed 4: 107 136 → 107 056), solved on the cut model with every quantity free
//!    (seed 8: 131 294 → 131 238, the optimum; seed 5: 157 944 → 157 882, below HiGHS's 157 902).
//! 4. **Polish**, when the search stalls (and tried once on its first plateau, kept only when the model
//!    left is tiny): branch and bound on the whole component from its lots. With
//!    microlp, the model is first strengthened (`cuts`): cutting planes lift the LP bound, and the pairs
//!    that no solution cheaper than the lots can open are removed (two thirds of them on metro 150 × 30),
//!    so the tree is small enough to prove dense components HiGHS proves, and the bound reported with a
//!    result cut short is the cut one. That tree branches by reliability and fixes by reduced cost at
//!    every node, two techniques microlp lacks (patched in, vendor/microlp/PATCHED.md): metro 150 × 30
//!    seed 2 is proven in 15 s instead of 25–27 s, and seed 7, which HiGHS proves in 12.5 s, in 27 s
//!    instead of not at all. The strengthened model and a tree its time cut short are kept
//!    ([`Polishing`]) while the lots stay the same or get cheaper (the model holds every solution
//!    cheaper than the lots it was cut against): the next polish goes on with them, and a component's
//!    next turn resumes its tree before searching again. While the tree runs, a core that has nothing
//!    left to do searches neighbourhoods from the same lots; the better lots it finds are handed to the
//!    tree between its slices (it prunes with them) and kept. Once that search stalls, the core takes
//!    half of the tree's open nodes instead (proving takes more nodes than finding): seed 7 is proven
//!    in 24–28 s.
//!
//! Every tree is capped by the memory its open nodes take ([`TREE_BYTES`]), not only by nodes: the
//! peak memory of a run stays below HiGHS's on the same components. A component that its share of the
//! time cut short may get further turns (`resume_component`) on a thread left idle.
//!
//! Every choice is drawn from a seeded [`Rng`] and every sub-problem has a node budget, so with a work
//! limit (nodes per component) the result is the same on every run and machine; the time limit is only
//! a safety net then, and the result says which of the two stopped the search.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use essaim_core::haversine_km;

use crate::StoppedBy;
use crate::cuts;
use crate::greedy;
use crate::input::Instance;
use crate::milp::{self, Backend, Limits, Stop};
use crate::model::{Component, ComponentModel, EPS, Pair, Residual, component_cost, left_open};
use crate::rng::Rng;

/// Up to this many pairs, a component is small: branch and bound on its plain model (no cuts) gets
/// [`SMALL_COMPONENT_NODES`] nodes first, rather than a share of its time.
const SMALL_COMPONENT_PAIRS: usize = 400;
/// A small component's tree stops there when not proven, and the component is searched and polished
/// like a large one. A dense one is proven far sooner on the cut model, from the search's lots, than by
/// the plain tree. Measured on metro 100 × 20 (components of 200–300 pairs), seeds 1–3: the plain tree
/// given the whole share proved them in 21.1, 23.5 and 30.0 s (the last one just before the limit);
/// with 10 000 nodes first, 3.5, 4.5 and 15.7 s (HiGHS, components one after the other: 9.3, 4.8 and
/// 11.3 s). At 5 000 nodes metro 80 × 16 seed 1, whose components of 145–198 pairs the plain tree proves
/// in 6 000–9 000 nodes, took 3.2 s instead of 1.3; at 20 000, metro 100 × 20 took 5.1, 5.1 and 18.6 s.
/// Then on seeds 4–6, not used to choose: 17.0 s → 10.4 s, unproven at 30 s → proven in 20.5 s, and
/// 7.5 → 8.7 s (HiGHS: 12.2, 13.4 and 9.3 s). Sparse instances (2000 × 100, 5000 × 200) and metro
/// 60 × 12 are proven as fast as before.
const SMALL_COMPONENT_NODES: u64 = 10_000;
/// Share of a large component's budget given to branch and bound on the whole of it, and its node
/// budget there: at most [`EXACT_NODES`], and fewer on a large model, whose every node's LP takes
/// longer (nodes × (columns + rows) at most [`EXACT_WORK`]). Measured on 5000 × 200: allowing the
/// large components more nodes there (as many as [`TREE_BYTES`] allows) takes 6.4–6.6 s to prove the
/// instance instead of 4.0–4.6 s, and 90 MB instead of 66–68.
const EXACT_SHARE: f64 = 0.25;
const EXACT_NODES: u64 = 4_000;
const EXACT_WORK: f64 = 16e6;
/// Node budget of the last branch and bound, from the neighbourhood search's lots. A tree that reaches
/// it is done and the next turn's starts from its root again: at 10 000, seed 8's 631-pair component
/// reached it 22 s in, and its bound fell from 53 336 back to 53 302 (metro 150 × 30).
const POLISH_NODES: u64 = 60_000;
/// Its tree grows this many seconds at a time, to decide whether it deserves more past the share.
const POLISH_SLICE: f64 = 2.0;
/// On a plateau of the neighbourhood search, the polish is tried early (once per turn), and its branch
/// and bound run only when the cuts and fixing kept at most this share of the columns: a model that
/// small is proven in a moment (5000 × 200: about 2 %, proven in 8.7 s instead of a 0.3 % gap after
/// 30 s); a larger one is left to the polish after the stall (at 0.4, metro 150 × 30 seed 2 lost its
/// proof).
const EARLY_KEPT: f64 = 0.1;
/// Memory the open nodes of one branch-and-bound tree may take. microlp keeps, per open node, its
/// parent's basis at two bits per column and row, shared with its sibling, and its own bound changes,
/// those of its ancestors being shared (vendor/microlp/PATCHED.md, change 5): a tree of n nodes on a
/// model of c columns and r rows holds about n·([`NODE_BYTES`] + (c + r)/8) bytes, freed only when the
/// solve ends (and then mostly kept by the allocator). Capping n by this keeps two large trees at once
/// (one per core) well below what HiGHS takes on the same components.
const TREE_BYTES: f64 = 16e6;
/// An open node's own bytes: the node, its own bound changes and its share of the links and basis.
const NODE_BYTES: f64 = 160.0;
/// Above this many pairs, even the LP relaxation of the whole component is too slow to be worth its
/// time: its bound comes from the per-line relaxation alone and the search starts at once.
const EXACT_MAX_PAIRS: usize = 20_000;
/// Node budget of one neighbourhood's sub-problem.
const NEIGHBOURHOOD_NODES: u64 = 400;
/// At most this many rounds of neighbourhood search (each followed by a polish).
const SEARCH_ROUNDS: usize = 4;
/// A pair's binary in the cut LP's point agrees with the lots when within this of their 0 or 1: first
/// loosely (a small region, proven in a few dozen nodes), then, for the same lots, more strictly (larger
/// ones). Measured on metro 150 × 30, one run per seed: these three levels end seeds 5, 6 and 8 at
/// 157 881.6, 126 795.9 and 131 237.8 where [0.3, 0.1] ended them at 157 890.0, 126 803.0 and 131 247.9,
/// and seeds 1, 3 and 4 alike; [0.3, 0.1, 0.01] ended them as [0.3, 0.1] did.
const RELAXATION_AGREES: [f64; 3] = [0.5, 0.3, 0.1];
/// Initial, smallest and largest number of free pairs in a neighbourhood.
const REGION_START: f64 = 120.0;
const REGION_MIN: f64 = 24.0;
const REGION_MAX: f64 = 1500.0;
/// Mixed into the seed of a search that helps a branch and bound, so that it draws other regions than
/// the component's own search.
const HELPER: u64 = 0x4E1F_0000;
/// After this many rounds without improvement, rounds take turns: lines, suppliers, cross.
const SUPPLIERS_AFTER: usize = 3;
/// Rounds without improvement after which the search stops as a local optimum, per line of the
/// component (at least `STALL_MIN`).
const STALL_PER_LINE: usize = 4;
const STALL_MIN: usize = 10;
/// An improvement smaller than this (relative) does not count.
const IMPROVEMENT: f64 = 1e-9;

/// What one component may spend.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget<'a> {
    /// End of this turn: the component's share of the time limit.
    pub share_ends: Instant,
    /// The run's end, and who waits for a thread. While no component waits, the turn runs to the run's
    /// end: a branch and bound that its share would cut short (to be started again from scratch on
    /// another turn) keeps its tree.
    pub run: Option<(Instant, &'a Waiting)>,
    /// Branch-and-bound nodes for the whole component, when a work limit is set.
    pub nodes: Option<u64>,
    /// Set, the turn is over: how a search that helps a branch and bound on an idle core is stopped
    /// when the tree is.
    pub halt: Option<&'a AtomicBool>,
}

impl Budget<'_> {
    /// When this turn ends, as of now.
    pub fn deadline(&self) -> Instant {
        if self.halt.is_some_and(|halt| halt.load(Ordering::SeqCst)) {
            return Instant::now();
        }
        match self.run {
            Some((end, waiting)) if waiting.nobody() => end,
            _ => self.share_ends,
        }
    }

    /// Whether a thread has nothing left to do, and so may help this component.
    fn core_idle(&self) -> bool {
        self.run.is_some_and(|(_, waiting)| waiting.idle.load(Ordering::SeqCst) > 0)
    }
}

/// The components waiting for a thread: those not started yet, and those a share cut short.
#[derive(Debug, Default)]
pub(crate) struct Waiting {
    pub all_started: AtomicBool,
    pub cut_short: AtomicUsize,
    /// Threads that found no component left to take.
    pub idle: AtomicUsize,
}

impl Waiting {
    fn nobody(&self) -> bool {
        self.all_started.load(Ordering::SeqCst) && self.cut_short.load(Ordering::SeqCst) == 0
    }
}

/// What the search decided for one component.
#[derive(Debug, Clone)]
pub(crate) struct ComponentSolution {
    /// Quantity per pair, in the order of `Component::pairs`.
    pub quantities: Vec<f64>,
    /// Cost of `quantities` (`component_cost`).
    pub cost: f64,
    pub ending: StoppedBy,
    /// Best proven lower bound of the component's cost, when known.
    pub bound: Option<f64>,
    pub variables: usize,
    pub constraints: usize,
    /// Branch-and-bound nodes spent, all solves included.
    pub nodes: u64,
    /// Neighbourhoods solved by fix-and-optimize.
    pub neighbourhoods: u64,
    /// Turns taken after the first ([`resume_component`]).
    pub turns: u64,
    /// What the last polish leaves for the next one, while the lots stay the same.
    pub polishing: Option<Arc<Polishing>>,
}

/// The polish's work, kept for the next polish on the same lots (a later plateau, the next turn): the
/// model strengthened against them, not cut again for the same result (2–4 s on metro 150 × 30), and
/// the branch and bound its time cut short, resumed rather than grown again from its root (on metro
/// 150 × 30 seed 3, a component stuck at a local optimum over seven turns got the same 2 s tree seven
/// times).
#[derive(Debug)]
pub(crate) struct Polishing {
    /// The lots the model was strengthened against (or cheaper ones its tree went on with) and their
    /// cost: the model holds every solution cheaper than them.
    lots: Vec<f64>,
    cost: f64,
    model: cuts::Strengthened,
    tree: Mutex<Option<milp::PausedTree>>,
    /// The cost of the lots the relaxation's regions were last drawn for, and the last of the
    /// [`RELAXATION_AGREES`] drawn: shared by every search from this model (a turn's, its helper's, the
    /// next turn's), as a region depends on the lots and the model alone.
    relaxation_tried: Mutex<Option<(f64, usize)>>,
    /// A search beside the tree found no lots cheaper than these (`tree_alone`).
    helped_in_vain: AtomicBool,
}

impl Polishing {
    fn new(lots: Vec<f64>, cost: f64, model: cuts::Strengthened, tree: Option<milp::PausedTree>) -> Arc<Self> {
        Arc::new(Self {
            lots,
            cost,
            model,
            tree: Mutex::new(tree),
            relaxation_tried: Mutex::new(None),
            helped_in_vain: AtomicBool::new(false),
        })
    }

    fn has_tree(&self) -> bool {
        self.tree.lock().is_ok_and(|tree| tree.is_some())
    }

    /// Whether the model holds `lots` of that `cost`: the lots it stands for, or cheaper ones (every
    /// pair it dropped is 0 in those too). Cutting the LP again against them would fix a few more pairs
    /// (metro 150 × 30 seed 7: 318 columns kept instead of 336) for 1.5–2 s, and lose the paused tree.
    /// Even lots a fifth of the gap cheaper do not pay for that: seed 11 then loses its optimum, more
    /// than seed 8 gains (README, the restart left out).
    fn holds(&self, lots: &[f64], cost: f64) -> bool {
        self.lots == lots || cost < self.cost - IMPROVEMENT * self.cost.abs().max(1.0)
    }
}

impl ComponentSolution {
    pub fn proven_optimal(&self) -> bool {
        self.ending == StoppedBy::ProvenOptimal
    }

    /// Takes what a solve of the whole component gave: its nodes, its bound when higher, its lots when
    /// cheaper.
    ///
    /// Lots a backend proves optimal may still cost a little more than the ones held: « optimal » holds
    /// within its tolerances (HiGHS's primal feasibility lets a lot's binary sit 1e-7 under its
    /// quantity's need, and its objective is off by as much; seen at 4.8e-6 relative on a random
    /// instance). The cheaper lots stay, then proven optimal too, and no bound is said above them.
    fn take_whole(
        &mut self,
        instance: &Instance,
        residual: &Residual,
        component: &Component,
        outcome: &milp::Outcome,
        improved: &(dyn Fn(Event) + Sync),
    ) {
        self.nodes += outcome.nodes;
        let quantities = ComponentModel::quantities_of(component, &outcome.values);
        let cost = component_cost(instance, residual, component, &quantities);
        if cost < self.cost - IMPROVEMENT * self.cost.abs().max(1.0) {
            self.quantities = quantities;
            self.cost = cost;
            improved(Event::Incumbent(cost));
        }
        if let Some(bound) =
            outcome.bound.map(|b| b.min(self.cost)).filter(|&b| self.bound.is_none_or(|known| b > known))
        {
            self.bound = Some(bound);
            improved(Event::Bound(bound));
        }
    }
}

/// What the search tells its observer as it goes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event {
    /// The lots of the component now cost this.
    Incumbent(f64),
    /// The component's cost is proven at least this.
    Bound(f64),
}

/// Searches `component` within `budget`; `improved` hears each better cost and each bound.
pub(crate) fn solve_component(
    instance: &Instance,
    residual: &Residual,
    component: &Component,
    budget: Budget<'_>,
    backend: Backend,
    improved: &(dyn Fn(Event) + Sync),
) -> ComponentSolution {
    let model = ComponentModel::build(instance, residual, component);
    let (variables, constraints) = model.size();
    let quantities = greedy::fill_component(instance, residual, component);
    let cost = component_cost(instance, residual, component, &quantities);
    let mut best = ComponentSolution {
        quantities,
        cost,
        ending: StoppedBy::TimeLimit,
        bound: None,
        variables,
        constraints,
        nodes: 0,
        neighbourhoods: 0,
        turns: 0,
        polishing: None,
    };
    improved(Event::Incumbent(best.cost));

    let mut lines_bound = line_relaxation_bound(instance, residual, component);
    if component.pairs.len() > EXACT_MAX_PAIRS && backend == Backend::Microlp {
        lines_bound = lines_bound.max(lagrangian_bound(instance, residual, component, best.cost));
    }
    best.bound = Some(lines_bound);
    improved(Event::Bound(lines_bound));
    // HiGHS has its own cuts and heuristics: the whole component is given to it alone.
    let alone = backend != Backend::Microlp;
    let run_exact = alone || component.pairs.len() <= EXACT_MAX_PAIRS;
    let exact = if run_exact {
        let seconds = seconds_left(budget.deadline());
        let limits = if alone {
            Limits { seconds, nodes: budget.nodes }
        } else if component.pairs.len() <= SMALL_COMPONENT_PAIRS {
            let nodes = budget.nodes.map_or(SMALL_COMPONENT_NODES, |n| n.min(SMALL_COMPONENT_NODES));
            Limits { seconds, nodes: Some(nodes) }
        } else {
            // Below EXACT_NODES, this is always under `tree_nodes`: memory does not bind here.
            let work = (EXACT_WORK / (variables + constraints).max(1) as f64) as u64;
            let cap = work.clamp(NEIGHBOURHOOD_NODES, EXACT_NODES);
            let nodes = budget.nodes.map_or(cap, |n| ((n as f64 * EXACT_SHARE) as u64).min(cap));
            Limits { seconds: seconds * EXACT_SHARE, nodes: Some(nodes) }
        };
        let start = model.start(instance, residual, component, &best.quantities);
        milp::solve(&model.milp, &start, limits, backend)
    } else {
        None
    };
    drop(model);
    match exact {
        Some(outcome) => {
            best.take_whole(instance, residual, component, &outcome, improved);
            best.ending = match outcome.stop {
                Stop::ProvenOptimal => StoppedBy::ProvenOptimal,
                Stop::WorkLimit => StoppedBy::WorkLimit,
                Stop::TimeLimit => StoppedBy::TimeLimit,
            };
            if outcome.stop == Stop::ProvenOptimal || alone {
                return best;
            }
        }
        None if run_exact => best.nodes += 1,
        None => {}
    }
    let mut search = Neighbourhoods::new(instance, residual, component, budget, backend, 0);
    search_rounds(&mut search, &mut best, improved);
    best
}

/// Searches `component` again from `previous`, the lots of an earlier turn that its share of the time
/// cut short: a thread left idle once every component has had its turn gives its time to one still
/// open. Each turn draws other neighbourhoods than the earlier ones.
pub(crate) fn resume_component(
    instance: &Instance,
    residual: &Residual,
    component: &Component,
    previous: ComponentSolution,
    budget: Budget<'_>,
    backend: Backend,
    improved: &(dyn Fn(Event) + Sync),
) -> ComponentSolution {
    let mut best = previous;
    best.turns += 1;
    // The search found nothing better than the lots its last polish started from: the paused tree
    // goes on first (the neighbourhoods after it, should it pause again).
    let mut search = Neighbourhoods::new(instance, residual, component, budget, backend, best.turns);
    if best.polishing.as_ref().is_some_and(|p| p.lots == best.quantities && p.has_tree()) {
        polish(&search, &mut best, improved, false);
        if best.proven_optimal() {
            return best;
        }
    }
    search_rounds(&mut search, &mut best, improved);
    best
}

/// Rounds of search then polish; a round that stalls without improving on the last one ends the
/// search, otherwise the next gets twice the nodes per neighbourhood (deeper sub-problems).
fn search_rounds(search: &mut Neighbourhoods, best: &mut ComponentSolution, improved: &(dyn Fn(Event) + Sync)) {
    for _ in 0..SEARCH_ROUNDS {
        let before = best.cost;
        search.run(best, improved);
        if best.ending == StoppedBy::NoImprovement && search.component.pairs.len() <= EXACT_MAX_PAIRS {
            polish(search, best, improved, false);
        }
        if best.ending != StoppedBy::NoImprovement || best.cost >= before - IMPROVEMENT * before.abs().max(1.0) {
            break;
        }
        search.nodes_per_region *= 2;
    }
}

/// Whether the polish on the lots `polishing` stands for gives its tree the whole of the time left and a
/// core left idle (half of its open nodes), rather than slices of its time between rounds of search and
/// the idle core to a search beside it. It does once such a search has found nothing cheaper than these
/// lots, and their component is the only one left (a core is idle): the lots are likely optimal and only
/// their proof is missing. Measured on metro 150 × 30, one run each, before and after side by side: seed
/// 14 proven in 27.3 s (a gap of 0.007 % before), the gaps of seeds 8 and 11 at their optimum 0.023 →
/// 0.015 % and 0.030 → 0.023 %, seed 15 at 142 702.0 instead of 142 827.5, seeds 2 and 13 as before (on
/// seed 8's 631-pair component, the tree had grown about 300 nodes a second on 60 % of a core, the other
/// core searching in vain). Not under a work limit: when a core is idle depends on the machine.
fn tree_alone(polishing: Option<&Polishing>, only_if_small: bool, budget: &Budget) -> bool {
    polishing.is_some_and(|p| p.helped_in_vain.load(Ordering::SeqCst))
        && !only_if_small
        && budget.nodes.is_none()
        && budget.core_idle()
}

/// Branch and bound on the whole component again, now from the neighbourhood search's lots: with a
/// good incumbent the tree prunes far more, and with microlp the model is cut and reduced first
/// (`cuts::strengthen`), so the time left may now be enough to prove them optimal (or find better).
/// `search` says which component, its budget and backend.
fn polish(
    search: &Neighbourhoods,
    best: &mut ComponentSolution,
    improved: &(dyn Fn(Event) + Sync),
    only_if_small: bool,
) {
    let (instance, residual, component) = (search.instance, search.residual, search.component);
    let (budget, backend) = (search.budget, search.backend);
    let seconds = seconds_left(budget.deadline());
    let work_left = budget.nodes.map(|n| n.saturating_sub(best.nodes));
    if seconds <= 0.0 || work_left == Some(0) {
        return;
    }
    let model = ComponentModel::build(instance, residual, component);
    let start = model.start(instance, residual, component, &best.quantities);
    // microlp has no cuts of its own: add them, and drop the pairs the incumbent rules out (`cuts`).
    let polishing = match &best.polishing {
        Some(known) if known.holds(&best.quantities, best.cost) => Some(Arc::clone(known)),
        _ if backend == Backend::Microlp => cuts::strengthen(&model.milp, &start, budget.deadline()).map(|s| {
            let (lots, cost) = (best.quantities.clone(), best.cost);
            Polishing::new(lots, cost, s, None)
        }),
        _ => None,
    };
    best.polishing.clone_from(&polishing);
    let (milp, warm) = match polishing.as_deref() {
        Some(Polishing { model: s, .. }) => {
            tracing::debug!(cuts = s.cuts, fixed = s.fixed, bound = s.bound, "polish: model strengthened");
            if best.bound.is_none_or(|known| s.bound > known) {
                best.bound = Some(s.bound);
                improved(Event::Bound(s.bound));
            }
            (&s.milp, s.restrict(&start))
        }
        None => (&model.milp, start),
    };
    if only_if_small && milp.cols.len() as f64 > EARLY_KEPT * model.milp.cols.len() as f64 {
        return;
    }
    let cap = tree_nodes(milp.cols.len() + milp.rows.len()).min(POLISH_NODES);
    let nodes = work_left.map_or(cap, |w| w.min(cap));
    let seconds = seconds_left(budget.deadline());
    let limits = Limits { seconds, nodes: Some(nodes) };
    // The tree keeps growing only while it closes its gap fast enough to prove the lots before the
    // turn ends (the run's end when nothing waits for this thread); otherwise the time goes back to the
    // neighbourhood search, on a new turn with other draws (measured on metro 150 × 30, seeds 4 and 5:
    // 0.1–0.3 % better than a tree left to the end). A work limit keeps one whole slice: the result
    // must not depend on the machine's speed.
    // Once a search beside the tree has had its chance on these lots, though, the tree has both cores
    // to the end (`tree_alone`).
    let alone = tree_alone(polishing.as_deref(), only_if_small, &budget);
    let slice = if budget.nodes.is_some() { seconds } else { POLISH_SLICE };
    let mut last_gap: Option<f64> = Some(best.cost - best.bound.unwrap_or(0.0));
    let mut keep_going = |standing: milp::Standing| {
        if alone {
            return true;
        }
        let gap = standing.incumbent.zip(standing.bound).map(|(cost, bound)| cost - bound);
        let closing = match (last_gap, gap) {
            (Some(before), Some(now)) if now < before => {
                now / (before - now) * slice <= seconds_left(budget.deadline())
            }
            _ => false,
        };
        last_gap = gap.or(last_gap);
        closing
    };
    // Lots the helper below finds go to the tree between its slices, when cheaper than its incumbent: it
    // prunes with them (vendor/microlp/PATCHED.md). Its model holds every solution cheaper than the
    // lots it was strengthened against, so these too.
    let found: Mutex<Option<Found>> = Mutex::new(None);
    let mut offer = |incumbent: Option<f64>| {
        let (cost, quantities) = found.lock().ok()?.take()?;
        if incumbent.is_some_and(|known| cost >= known - IMPROVEMENT * known.abs().max(1.0)) {
            return None;
        }
        let columns = model.start(instance, residual, component, &quantities);
        Some(match polishing.as_deref() {
            Some(Polishing { model: s, .. }) => s.restrict(&columns),
            None => columns,
        })
    };
    // A tree is resumed only without a work limit: with one, every polish starts from its root, as the
    // same run on another machine would.
    let resumable = polishing.as_ref().filter(|_| budget.nodes.is_none());
    let tree = resumable.and_then(|p| p.tree.lock().ok()?.take());
    // A core with nothing left to do searches neighbourhoods meanwhile, from the same lots: the tree is
    // one thread, and the search often finds better lots than the tree before the tree proves anything
    // (metro 150 × 30 seed 7: the last component alone from 15 s on).
    let helping =
        !only_if_small && budget.nodes.is_none() && backend == Backend::Microlp && budget.core_idle() && !alone;
    let halt = AtomicBool::new(false);
    // Once that search has stalled (or, without it, once a core has nothing left), the core takes half
    // of the tree's open nodes: proving lots takes more nodes than finding them (seed 7's last
    // component: found at 19 s, proven 11 s later on one core). Never under a work limit: when a core
    // is free depends on the machine.
    let searching = AtomicBool::new(helping);
    let spare = || {
        !only_if_small
            && budget.nodes.is_none()
            && if helping { !searching.load(Ordering::SeqCst) } else { budget.core_idle() }
    };
    let slices = milp::Slices { seconds: slice, tree, prove: true, spare: Some(&spare) };
    let (solved, helped) = std::thread::scope(|scope| {
        let start = &*best;
        let helper = helping.then(|| {
            scope.spawn(|| {
                let mut lots = start.clone();
                let budget = Budget { halt: Some(&halt), ..budget };
                let mut search =
                    Neighbourhoods::new(instance, residual, component, budget, backend, HELPER ^ start.turns);
                search.tried_early = true;
                search.single = true;
                search.found = Some(&found);
                search.run(&mut lots, &|_| {});
                searching.store(false, Ordering::SeqCst);
                lots
            })
        });
        let solved = milp::solve_in_slices(milp, &warm, limits, backend, slices, &mut keep_going, &mut offer);
        halt.store(true, Ordering::SeqCst);
        (solved, helper.and_then(|h| h.join().ok()))
    });
    let (outcome, paused) = solved;
    let Some(mut outcome) = outcome else {
        return;
    };
    // A tree that used its node budget is done: only one its time cut short goes on later.
    let paused = paused.filter(|_| outcome.stop == Stop::TimeLimit && resumable.is_some());
    if let Some(Polishing { model: s, .. }) = polishing.as_deref() {
        // The reduced model holds the incumbent, so its optimum and bound are the component's.
        outcome.values = s.expand(&outcome.values, model.milp.cols.len());
        outcome.bound = Some(outcome.bound.map_or(s.bound, |b| b.max(s.bound)));
    }
    drop(model);
    let (nodes, neighbourhoods) = (best.nodes, best.neighbourhoods);
    best.take_whole(instance, residual, component, &outcome, improved);
    if let Some(found) = helped {
        best.nodes += found.nodes - nodes;
        best.neighbourhoods += found.neighbourhoods - neighbourhoods;
        if found.cost >= best.cost - IMPROVEMENT * best.cost.abs().max(1.0) {
            if let Some(p) = &polishing {
                p.helped_in_vain.store(true, Ordering::SeqCst);
            }
        } else if outcome.stop != Stop::ProvenOptimal {
            best.quantities = found.quantities;
            best.cost = found.cost;
            improved(Event::Incumbent(best.cost));
        }
    }
    if let (Some(p), Some(tree)) = (polishing, paused) {
        if p.lots == best.quantities {
            if let Ok(mut kept) = p.tree.lock() {
                *kept = Some(tree);
            }
        } else {
            // The tree or its helper found lots cheaper than the old ones: the tree's model holds every
            // solution cheaper than the old lots, so every one cheaper than these, and the tree goes on
            // with them as the lots it stands for (it prunes with its own incumbent, never wrongly).
            let (lots, cost, model) = (best.quantities.clone(), best.cost, p.model.clone());
            let next = Polishing::new(lots, cost, model, Some(tree));
            // The same model: the relaxation's regions already drawn for these lots stay drawn.
            if let (Ok(tried), Ok(mut kept)) = (p.relaxation_tried.lock(), next.relaxation_tried.lock()) {
                *kept = *tried;
            }
            best.polishing = Some(next);
        }
    }
    best.ending = match outcome.stop {
        Stop::ProvenOptimal => StoppedBy::ProvenOptimal,
        // The node budget of the polish is not the user's work limit unless that is what was left.
        Stop::WorkLimit if work_left.is_some_and(|w| w <= cap) => StoppedBy::WorkLimit,
        Stop::WorkLimit => StoppedBy::NoImprovement,
        Stop::TimeLimit => StoppedBy::TimeLimit,
    };
}

/// A lower bound of the component's cost that ignores what lines share (capacity) and minimum lots:
/// per line, the LP with y = x/U (a lot costs F/U per unit), the clause row moved to the objective with a
/// multiplier λ ∈ [0, Q] (Lagrangian relaxation: any such λ gives a valid bound; the best of a few is
/// kept). Each line is then a fractional knapsack: cheapest units first while cheaper than a uncovered
/// one. Cheap (a sort per line) where the LP of a giant component is not.
fn line_relaxation_bound(instance: &Instance, residual: &Residual, component: &Component) -> f64 {
    let w = instance.weights;
    let mut on_line: HashMap<usize, Vec<&Pair>> = HashMap::new();
    for p in &component.pairs {
        on_line.entry(p.line).or_default().push(p);
    }
    let mut total = 0.0;
    for &l in &component.lines {
        let pairs = on_line.get(&l).map(Vec::as_slice).unwrap_or_default();
        let (demand, clause) = (residual.demand[l], residual.clause[l]);
        let steps = if clause > EPS { 8 } else { 0 };
        let mut best = f64::NEG_INFINITY;
        for step in 0..=steps {
            let lambda = if steps == 0 { 0.0 } else { w.per_clause_hour_shortfall * step as f64 / steps as f64 };
            let mut gains: Vec<(f64, f64)> = pairs
                .iter()
                .map(|p| {
                    let rate = instance.suppliers[p.supplier].insertion_rate;
                    (p.unit_cost + w.per_lot / p.upper - lambda * rate - w.per_unit_shortfall, p.upper)
                })
                .filter(|(gain, _)| *gain < 0.0)
                .collect();
            gains.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut value = lambda * clause + w.per_unit_shortfall * demand;
            let mut open = demand;
            for (gain, upper) in gains {
                let take = upper.min(open);
                value += gain * take;
                open -= take;
                if open <= EPS {
                    break;
                }
            }
            best = best.max(value);
        }
        total += best.max(0.0);
    }
    total
}

/// Iterations of the subgradient method behind [`lagrangian_bound`].
const LAGRANGIAN_ITERATIONS: usize = 120;

/// A lower bound for a component too large for its LP: the capacity rows (and the clause rows) moved to
/// the objective with multipliers μ ≥ 0 (and λ ∈ [0, Q]); what is left splits into one fractional
/// knapsack per line, as in [`line_relaxation_bound`], and every μ, λ gives a valid bound. The subgradient
/// method (Polyak steps towards `upper`, the cost of a known solution) climbs towards the best of them,
/// which is the LP bound. Deterministic: a fixed number of iterations.
fn lagrangian_bound(instance: &Instance, residual: &Residual, component: &Component, upper: f64) -> f64 {
    let w = instance.weights;
    let lines = &component.lines;
    let line_index: HashMap<usize, usize> = lines.iter().enumerate().map(|(j, &l)| (l, j)).collect();
    let mut group_of: HashMap<(usize, usize), usize> = HashMap::new();
    let mut capacity: Vec<f64> = Vec::new();
    let mut reachable: Vec<f64> = Vec::new();
    // Per pair: line (position), capacity group, cost per unit with the lot's fixed cost spread, U, rate.
    let pairs: Vec<(usize, usize, f64, f64, f64)> = component
        .pairs
        .iter()
        .map(|p| {
            let key = (p.supplier, instance.lines[p.line].sector);
            let g = *group_of.entry(key).or_insert_with(|| {
                capacity.push(residual.capacity(key.0, key.1));
                reachable.push(0.0);
                capacity.len() - 1
            });
            reachable[g] += p.upper;
            let rate = instance.suppliers[p.supplier].insertion_rate;
            (line_index[&p.line], g, p.unit_cost + w.per_lot / p.upper, p.upper, rate)
        })
        .collect();
    // Only a row that can bind gets a multiplier.
    let binding: Vec<bool> = capacity.iter().zip(&reachable).map(|(c, r)| r > &(c + EPS)).collect();
    let mut by_line: Vec<Vec<usize>> = vec![Vec::new(); lines.len()];
    for (i, p) in pairs.iter().enumerate() {
        by_line[p.0].push(i);
    }
    let demand: Vec<f64> = lines.iter().map(|&l| residual.demand[l]).collect();
    let clause: Vec<f64> = lines.iter().map(|&l| residual.clause[l]).collect();
    let (q, short) = (w.per_clause_hour_shortfall, w.per_unit_shortfall);
    let mut mu = vec![0.0; capacity.len()];
    let mut lambda: Vec<f64> = clause.iter().map(|&h| if h > EPS { q / 2.0 } else { 0.0 }).collect();
    let (mut best, mut theta, mut since) = (f64::NEG_INFINITY, 1.0, 0);
    let mut x = vec![0.0; pairs.len()];
    let mut order: Vec<(f64, usize)> = Vec::new();
    for _ in 0..LAGRANGIAN_ITERATIONS {
        let mut value: f64 = capacity.iter().zip(&mu).map(|(c, m)| -c * m).sum();
        for (j, members) in by_line.iter().enumerate() {
            value += short * demand[j] + lambda[j] * clause[j];
            order.clear();
            for &i in members {
                let (_, g, cost, _, rate) = pairs[i];
                x[i] = 0.0;
                let gain = cost + mu[g] - lambda[j] * rate - short;
                if gain < 0.0 {
                    order.push((gain, i));
                }
            }
            order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut open = demand[j];
            for &(gain, i) in order.iter() {
                if open <= EPS {
                    break;
                }
                let take = pairs[i].3.min(open);
                x[i] = take;
                value += gain * take;
                open -= take;
            }
        }
        if value > best + 1e-9 * best.abs().max(1.0) {
            best = value;
            since = 0;
        } else {
            since += 1;
            if since >= 5 {
                theta /= 2.0;
                since = 0;
            }
        }
        // Subgradient: capacity used beyond the row, clause hours missing.
        let mut used = vec![0.0; capacity.len()];
        let mut reached = vec![0.0; lines.len()];
        for (i, p) in pairs.iter().enumerate() {
            used[p.1] += x[i];
            reached[p.0] += p.4 * x[i];
        }
        let g_mu: Vec<f64> = (0..capacity.len())
            .map(|g| if binding[g] && (mu[g] > 0.0 || used[g] > capacity[g]) { used[g] - capacity[g] } else { 0.0 })
            .collect();
        let g_lambda: Vec<f64> =
            (0..lines.len()).map(|j| if clause[j] > EPS { clause[j] - reached[j] } else { 0.0 }).collect();
        let norm: f64 = g_mu.iter().chain(&g_lambda).map(|g| g * g).sum();
        if norm <= 1e-12 || theta < 1e-4 {
            break;
        }
        let step = theta * (upper - value).max(1e-6 * upper.abs().max(1.0)) / norm;
        for g in 0..mu.len() {
            mu[g] = (mu[g] + step * g_mu[g]).max(0.0);
        }
        for j in 0..lambda.len() {
            lambda[j] = (lambda[j] + step * g_lambda[j]).clamp(0.0, q);
        }
    }
    best.max(0.0)
}

/// The node budget that keeps a tree on a model of `size` columns and rows within [`TREE_BYTES`] (at
/// least a few hundred nodes, what a neighbourhood gets).
fn tree_nodes(size: usize) -> u64 {
    ((TREE_BYTES / (NODE_BYTES + size as f64 / 8.0)) as u64).max(NEIGHBOURHOOD_NODES)
}

fn seconds_left(deadline: Instant) -> f64 {
    deadline.saturating_duration_since(Instant::now()).as_secs_f64()
}

/// The state of fix-and-optimize on one component.
struct Neighbourhoods<'a> {
    instance: &'a Instance,
    residual: &'a Residual,
    component: &'a Component,
    budget: Budget<'a>,
    backend: Backend,
    rng: Rng,
    /// Target number of free pairs, per kind of neighbourhood.
    size: [f64; 3],
    /// Pair indexes per line of the component, and per supplier.
    by_line: HashMap<usize, Vec<usize>>,
    by_supplier: HashMap<usize, Vec<usize>>,
    /// Seed lines still to visit this cycle.
    seeds: Vec<usize>,
    /// Node budget of one neighbourhood's sub-problem in this round.
    nodes_per_region: u64,
    /// Whether the polish was tried on a plateau already (once per turn: each try costs a cut LP).
    tried_early: bool,
    /// One region at a time (a search beside a branch and bound has one core).
    single: bool,
    /// Where a search beside a branch and bound leaves each better cost and lots, for the tree to take.
    found: Option<&'a Mutex<Option<Found>>>,
}

/// Lots a search beside a branch and bound found: their cost, and a quantity per pair.
type Found = (f64, Vec<f64>);

/// What a neighbourhood frees: the pairs of a few nearby lines, or those of a few suppliers on every
/// line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Lines = 0,
    Suppliers = 1,
    /// The pairs between a few lines linked by the suppliers holding their lots and those suppliers,
    /// with others that could take part (`cross_region`).
    Cross = 2,
    /// The pairs where the polish's cut LP disagrees with the lots (`relaxation_region`), solved on
    /// the cut model.
    Relaxation = 3,
}

/// A region: the component's pairs left free, the others fixed at the current lots.
struct Region {
    lines: Vec<usize>,
    free: Vec<usize>,
}

/// What solving one region gave.
struct Move {
    /// (pair index in the component, new quantity) for every free pair.
    quantities: Vec<(usize, f64)>,
    old_cost: f64,
    new_cost: f64,
    stop: Option<Stop>,
    nodes: u64,
    whole: bool,
}

impl<'a> Neighbourhoods<'a> {
    fn new(
        instance: &'a Instance,
        residual: &'a Residual,
        component: &'a Component,
        budget: Budget<'a>,
        backend: Backend,
        turn: u64,
    ) -> Self {
        let mut by_line: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut by_supplier: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, p) in component.pairs.iter().enumerate() {
            by_line.entry(p.line).or_default().push(i);
            by_supplier.entry(p.supplier).or_default().push(i);
        }
        let seed = component.lines.first().copied().unwrap_or(0) as u64 ^ ((component.pairs.len() as u64) << 20);
        Self {
            instance,
            residual,
            component,
            budget,
            backend,
            rng: Rng(seed ^ 0xF1C5 ^ turn.wrapping_mul(0x9E37_79B9)),
            size: [REGION_START; 3],
            by_line,
            by_supplier,
            seeds: Vec::new(),
            nodes_per_region: NEIGHBOURHOOD_NODES,
            tried_early: false,
            single: false,
            found: None,
        }
    }

    fn run(&mut self, best: &mut ComponentSolution, improved: &(dyn Fn(Event) + Sync)) {
        let stall_limit = (STALL_PER_LINE * self.component.lines.len()).max(STALL_MIN);
        let mut stalled = 0;
        loop {
            if seconds_left(self.budget.deadline()) <= 0.0 {
                best.ending = StoppedBy::TimeLimit;
                return;
            }
            let work_left = self.budget.nodes.map(|n| n.saturating_sub(best.nodes));
            if work_left == Some(0) {
                best.ending = StoppedBy::WorkLimit;
                return;
            }
            if stalled >= stall_limit {
                best.ending = StoppedBy::NoImprovement;
                return;
            }
            if stalled == STALL_MIN
                && !self.tried_early
                && self.backend == Backend::Microlp
                && self.component.pairs.len() <= EXACT_MAX_PAIRS
            {
                self.tried_early = true;
                // A plateau: once the lots are optimal, the cuts often leave a model small enough to
                // prove at once (5000 × 200: a hundred-odd columns of 9 000), long before the stall.
                polish(self, best, improved, true);
                if best.ending == StoppedBy::ProvenOptimal {
                    return;
                }
            }
            let (kind, regions) = self.pick_regions(best, stalled);
            let per_region = self.nodes_per_region;
            let nodes = work_left.map_or(per_region, |w| (w / regions.len() as u64).min(per_region));
            let limits = Limits { seconds: seconds_left(self.budget.deadline()), nodes: Some(nodes.max(1)) };
            // Regions of lines are disjoint and split the capacity nobody uses; regions of suppliers
            // are alternatives (every line, overlapping suppliers): each gets it all, one move is kept.
            let shares = match kind {
                Kind::Lines | Kind::Relaxation => self.capacity_shares(&regions, &best.quantities),
                Kind::Suppliers | Kind::Cross => regions
                    .iter()
                    .flat_map(|r| self.capacity_shares(std::slice::from_ref(r), &best.quantities))
                    .collect(),
            };
            let this = &*self;
            let on_cuts = (kind == Kind::Relaxation).then(|| this.solve_on_cuts(&regions[0], best, limits)).flatten();
            let moves: Vec<Move> = if let Some(on_cuts) = on_cuts {
                vec![on_cuts]
            } else if regions.len() == 1 {
                vec![this.solve_region(&regions[0], &best.quantities, &shares[0], limits)]
            } else {
                let current = &best.quantities;
                std::thread::scope(|scope| {
                    let handles: Vec<_> = regions
                        .iter()
                        .zip(&shares)
                        .map(|(region, share)| scope.spawn(move || this.solve_region(region, current, share, limits)))
                        .collect();
                    handles.into_iter().filter_map(|h| h.join().ok()).collect()
                })
            };
            let mut any = false;
            let mut proven = false;
            // A relaxation's region is as large as its disagreement with the lots: it says nothing of the
            // size the other kinds should take.
            let mut size = self.size.get_mut(kind as usize);
            let mut moves = moves;
            let alternatives = matches!(kind, Kind::Suppliers | Kind::Cross);
            if alternatives {
                for m in &moves {
                    best.nodes += m.nodes;
                    best.neighbourhoods += 1;
                }
                moves.sort_by(|a, b| (a.new_cost - a.old_cost).total_cmp(&(b.new_cost - b.old_cost)));
                moves.truncate(1);
            }
            for m in moves {
                if !alternatives {
                    best.nodes += m.nodes;
                    best.neighbourhoods += 1;
                }
                if let Some(size) = size.as_deref_mut() {
                    *size = if m.stop == Some(Stop::ProvenOptimal) {
                        (*size * 1.25).min(REGION_MAX)
                    } else {
                        (*size * 0.8).max(REGION_MIN)
                    };
                }
                proven |= m.whole && m.stop == Some(Stop::ProvenOptimal);
                if m.new_cost < m.old_cost - IMPROVEMENT * m.old_cost.abs().max(1.0) {
                    for (i, q) in m.quantities {
                        best.quantities[i] = q;
                    }
                    any = true;
                }
            }
            if any {
                best.cost = component_cost(self.instance, self.residual, self.component, &best.quantities);
                improved(Event::Incumbent(best.cost));
                if let Some(mut found) = self.found.and_then(|f| f.lock().ok()) {
                    *found = Some((best.cost, best.quantities.clone()));
                }
            }
            if any {
                stalled = 0;
            } else {
                stalled += 1;
            }
            if proven {
                best.ending = StoppedBy::ProvenOptimal;
                best.bound = Some(best.cost);
                return;
            }
        }
    }

    /// Two disjoint regions of lines (one when the component has no room for two); once the search
    /// has gone [`SUPPLIERS_AFTER`] rounds without improving, two rounds in three take two alternative
    /// regions of suppliers, then two cross regions, instead (variable neighbourhood search: at a local
    /// optimum of one kind of move, try another).
    fn pick_regions(&mut self, best: &ComponentSolution, stalled: usize) -> (Kind, Vec<Region>) {
        if let Some(region) = self.relaxation_region(best) {
            return (Kind::Relaxation, vec![region]);
        }
        if stalled >= SUPPLIERS_AFTER && !stalled.is_multiple_of(3) {
            let useful = |r: &Region| !r.free.is_empty() && r.free.len() < self.component.pairs.len();
            let draws = if self.single { 1 } else { 2 };
            let cross = stalled % 3 == 2;
            let kind = if cross { Kind::Cross } else { Kind::Suppliers };
            let regions: Vec<Region> = (0..draws)
                .map(|_| if cross { self.cross_region(best) } else { self.suppliers_region(best) })
                .filter(useful)
                .collect();
            if !regions.is_empty() {
                return (kind, regions);
            }
        }
        let first = self.region(&[], best);
        if self.single
            || first.free.len() * 2 > self.component.pairs.len()
            || first.lines.len() == self.component.lines.len()
        {
            return (Kind::Lines, vec![first]);
        }
        let second = self.region(&first.lines, best);
        (Kind::Lines, if second.free.is_empty() { vec![first] } else { vec![first, second] })
    }

    /// Once per lots and level of [`RELAXATION_AGREES`], when the polish has cut the component's LP: the
    /// pairs whose binary the LP's point does not set as the lots do, with the lots held on their lines
    /// and by their suppliers (RINS, Danna, Rothberg & Le Pape, « Exploring relaxation induced
    /// neighborhoods to improve MIP solutions », Math. Programming 102, 2005). Where the LP and good
    /// lots agree, better lots mostly agree too; the region frees what they disagree on, whatever its
    /// distance or shape. It is solved on the cut model ([`Self::solve_on_cuts`]).
    fn relaxation_region(&mut self, best: &ComponentSolution) -> Option<Region> {
        let polishing = best.polishing.as_deref()?;
        let relaxation = &polishing.model.relaxation;
        let agrees = {
            let mut tried = polishing.relaxation_tried.lock().ok()?;
            let level = match *tried {
                Some((cost, level)) if cost <= best.cost => level + 1,
                _ => 0,
            };
            let agrees = *RELAXATION_AGREES.get(level)?;
            *tried = Some((best.cost, level));
            agrees
        };
        let pairs = &self.component.pairs;
        let n = pairs.len();
        let disagree: Vec<usize> = (0..n)
            .filter(|&i| {
                let held = if best.quantities[i] > EPS { 1.0 } else { 0.0 };
                (relaxation[n + i] - held).abs() > agrees
            })
            .collect();
        let lines: HashSet<usize> = disagree.iter().map(|&i| pairs[i].line).collect();
        let suppliers: HashSet<usize> = disagree.iter().map(|&i| pairs[i].supplier).collect();
        let mut free = disagree;
        free.extend((0..n).filter(|&i| {
            best.quantities[i] > EPS && (lines.contains(&pairs[i].line) || suppliers.contains(&pairs[i].supplier))
        }));
        free.sort_unstable();
        free.dedup();
        // Larger than the largest region, its sub-problem would take the time of many (a component of
        // thousands of pairs whose LP is far from its lots).
        if free.is_empty() || free.len() == n || free.len() as f64 > REGION_MAX {
            return None;
        }
        let mut lines: Vec<usize> = free.iter().map(|&i| pairs[i].line).collect();
        lines.sort_unstable();
        lines.dedup();
        Some(Region { lines, free })
    }

    /// A seed line not in `taken`, the lines nearest to it (distance scaled by a random factor so that
    /// the same seed gives other regions later) until the region holds about `size` free pairs; on a
    /// seed line with more candidates than that, only its nearest suppliers and those already holding
    /// a lot there.
    fn region(&mut self, taken: &[usize], best: &ComponentSolution) -> Region {
        let lines = &self.component.lines;
        if self.seeds.is_empty() {
            self.seeds = lines.clone();
            self.rng.shuffle(&mut self.seeds);
            // Lines left short first: an hour uncovered costs more than any distance or lot.
            let open = left_open(self.instance, self.residual, self.component, &best.quantities);
            let short: Vec<usize> = lines.iter().zip(open).filter(|(_, o)| o.demand > EPS).map(|(&l, _)| l).collect();
            self.seeds.sort_by_key(|l| !short.contains(l));
        }
        let seed = match self.seeds.iter().position(|l| !taken.contains(l)) {
            Some(at) => self.seeds.remove(at),
            None => return Region { lines: Vec::new(), free: Vec::new() },
        };
        let site = self.instance.lines[seed].site;
        let mut others: Vec<(f64, usize)> = lines
            .iter()
            .filter(|&&l| l != seed && !taken.contains(&l))
            .map(|&l| (haversine_km(site, self.instance.lines[l].site) * self.rng.range(0.5, 1.5), l))
            .collect();
        others.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let target = self.size[Kind::Lines as usize] as usize;
        let on_seed = &self.by_line[&seed];
        if on_seed.len() > target {
            let mut ranked: Vec<(f64, usize)> = on_seed
                .iter()
                .map(|&i| {
                    let p: &Pair = &self.component.pairs[i];
                    let held = best.quantities[i] > EPS;
                    let d = self.instance.distance(seed, p.supplier) * self.rng.range(0.5, 1.5);
                    (if held { -1.0 } else { d }, i)
                })
                .collect();
            ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let free = ranked.into_iter().take(target).map(|(_, i)| i).collect();
            return Region { lines: vec![seed], free };
        }
        let mut region = Region { lines: vec![seed], free: on_seed.clone() };
        for (_, l) in others {
            let more = &self.by_line[&l];
            if region.free.len() + more.len() > target {
                break;
            }
            region.lines.push(l);
            region.free.extend(more);
        }
        region
    }

    /// Every pair of a few suppliers, on every line: a seed supplier holding a lot, then the suppliers
    /// holding lots on the same lines (and so on), in random order, until about `size` free pairs. The
    /// lots of a dense component trade along chains of suppliers that span its lines (one gives up a line
    /// to consolidate on another, freeing room for a third): a region of nearby lines cuts those chains,
    /// this one follows them.
    fn suppliers_region(&mut self, best: &ComponentSolution) -> Region {
        let pairs = &self.component.pairs;
        let active: Vec<usize> = {
            let mut a: Vec<usize> =
                pairs.iter().zip(&best.quantities).filter(|(_, q)| **q > EPS).map(|(p, _)| p.supplier).collect();
            a.sort_unstable();
            a.dedup();
            a
        };
        if active.is_empty() {
            return Region { lines: Vec::new(), free: Vec::new() };
        }
        let target = self.size[Kind::Suppliers as usize] as usize;
        let mut chosen: Vec<usize> = Vec::new();
        let mut queue = vec![active[self.rng.below(active.len())]];
        let mut free: Vec<usize> = Vec::new();
        while let Some(supplier) = queue.pop() {
            if chosen.contains(&supplier) {
                continue;
            }
            let theirs = &self.by_supplier[&supplier];
            if !free.is_empty() && free.len() + theirs.len() > target {
                break;
            }
            chosen.push(supplier);
            free.extend(theirs);
            // The suppliers holding lots on the lines where this one holds lots, visited next.
            let next: Vec<usize> = theirs
                .iter()
                .filter(|&&i| best.quantities[i] > EPS)
                .flat_map(|&i| &self.by_line[&pairs[i].line])
                .filter(|&&k| best.quantities[k] > EPS && !chosen.contains(&pairs[k].supplier))
                .map(|&k| pairs[k].supplier)
                .collect();
            // Breadth first: the seed's neighbours before theirs.
            visit_next(&mut self.rng, &mut queue, next);
        }
        let mut lines: Vec<usize> = free.iter().map(|&i| pairs[i].line).collect();
        lines.sort_unstable();
        lines.dedup();
        Region { lines, free }
    }

    /// The pairs between some lines and some suppliers: from a seed line holding lots, the suppliers
    /// holding its lots, the other lines where they hold lots (breadth first, in random order), until
    /// about two thirds of `size` pairs; then, on those lines, other suppliers that could take part
    /// (cheapest per hour there first, scaled by a random factor) until about `size`.
    fn cross_region(&mut self, best: &ComponentSolution) -> Region {
        let pairs = &self.component.pairs;
        let held = |i: usize| best.quantities[i] > EPS;
        let with_lots: Vec<usize> =
            self.component.lines.iter().copied().filter(|l| self.by_line[l].iter().any(|&i| held(i))).collect();
        if with_lots.is_empty() {
            return Region { lines: Vec::new(), free: Vec::new() };
        }
        let target = self.size[Kind::Cross as usize] as usize;
        let mut lines: Vec<usize> = Vec::new();
        let mut suppliers: HashSet<usize> = HashSet::new();
        let size = |lines: &[usize], suppliers: &HashSet<usize>| {
            lines
                .iter()
                .map(|l| self.by_line[l].iter().filter(|&&i| suppliers.contains(&pairs[i].supplier)).count())
                .sum::<usize>()
        };
        let mut queue = vec![with_lots[self.rng.below(with_lots.len())]];
        while let Some(line) = queue.pop() {
            if lines.contains(&line) {
                continue;
            }
            let holders: Vec<usize> =
                self.by_line[&line].iter().filter(|&&i| held(i)).map(|&i| pairs[i].supplier).collect();
            let mut with_line = lines.clone();
            with_line.push(line);
            let mut with_holders = suppliers.clone();
            with_holders.extend(holders.iter().copied());
            if !lines.is_empty() && size(&with_line, &with_holders) * 3 > target * 2 {
                break;
            }
            lines = with_line;
            suppliers = with_holders;
            let next: Vec<usize> = holders
                .iter()
                .flat_map(|s| &self.by_supplier[s])
                .filter(|&&i| held(i) && !lines.contains(&pairs[i].line))
                .map(|&i| pairs[i].line)
                .collect();
            visit_next(&mut self.rng, &mut queue, next);
        }
        // Other suppliers on those lines: their mean cost per hour there, scaled at random.
        // In a BTreeMap: the random factors are drawn in the same order on every run.
        let mut others: BTreeMap<usize, (f64, usize)> = BTreeMap::new();
        for l in &lines {
            for &i in &self.by_line[l] {
                let p = &pairs[i];
                if !suppliers.contains(&p.supplier) {
                    let e = others.entry(p.supplier).or_default();
                    e.0 += p.unit_cost;
                    e.1 += 1;
                }
            }
        }
        let mut ranked: Vec<(f64, usize, usize)> =
            others.into_iter().map(|(s, (c, k))| (c / k as f64 * self.rng.range(0.5, 1.5), s, k)).collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut count = size(&lines, &suppliers);
        for (_, s, k) in ranked {
            if count + k > target {
                break;
            }
            suppliers.insert(s);
            count += k;
        }
        let mut free: Vec<usize> = lines
            .iter()
            .flat_map(|l| &self.by_line[l])
            .copied()
            .filter(|&i| suppliers.contains(&pairs[i].supplier))
            .collect();
        free.sort_unstable();
        lines.sort_unstable();
        Region { lines, free }
    }

    /// Per region, the capacity each (supplier, sector) offers it: what the region's own lots use now,
    /// plus its part of what nobody uses (split between the regions that could use it).
    fn capacity_shares(&self, regions: &[Region], current: &[f64]) -> Vec<HashMap<(usize, usize), f64>> {
        let key = |i: usize| {
            let p = &self.component.pairs[i];
            (p.supplier, self.instance.lines[p.line].sector)
        };
        let mut used: HashMap<(usize, usize), f64> = HashMap::new();
        for (i, &q) in current.iter().enumerate() {
            *used.entry(key(i)).or_default() += q;
        }
        let mut users: HashMap<(usize, usize), usize> = HashMap::new();
        let mut own: Vec<HashMap<(usize, usize), f64>> = Vec::with_capacity(regions.len());
        for region in regions {
            let mut mine: HashMap<(usize, usize), f64> = HashMap::new();
            for &i in &region.free {
                *mine.entry(key(i)).or_default() += current[i];
            }
            for k in mine.keys() {
                *users.entry(*k).or_default() += 1;
            }
            own.push(mine);
        }
        for mine in &mut own {
            for (k, q) in mine.iter_mut() {
                let slack = (self.residual.capacity(k.0, k.1) - used.get(k).copied().unwrap_or(0.0)).max(0.0);
                *q += slack / users[k] as f64;
            }
        }
        own
    }

    /// Solves the relaxation's `region` on the polish's cut model rather than on the plain one: every
    /// pair outside it keeps whether it holds a lot, and every quantity may change (RINS fixes the
    /// binaries only). The cuts keep the sub-problem's LP near its integer optimum, so its few hundred
    /// nodes reach lots the plain model's do not: on metro 150 × 30 seed 8, whose largest component no
    /// neighbourhood of the plain model improved after 12 s, the same regions solved on the plain model
    /// end at 131 278.5, on the cut model at HiGHS's optimum, 131 237.8. None when no cut model holds the
    /// lots.
    fn solve_on_cuts(&self, region: &Region, best: &ComponentSolution, limits: Limits) -> Option<Move> {
        let polishing = best.polishing.as_deref().filter(|p| p.holds(&best.quantities, best.cost))?;
        let s = &polishing.model;
        let (instance, residual, component) = (self.instance, self.residual, self.component);
        let n = component.pairs.len();
        let model = ComponentModel::build(instance, residual, component);
        let columns = model.start(instance, residual, component, &best.quantities);
        let mut free = vec![false; n];
        for &i in &region.free {
            free[i] = true;
        }
        // A pair outside the region without a lot leaves the sub-problem, quantity and all (its terms are
        // 0): a region then takes 0.05–0.6 s instead of 1–5 s on metro 150 × 30 seed 6, and seeds 2, 7
        // and 9 were proven in 15.4, 19.8 and 22.2 s (on the whole cut model: 17.6–19.9, 20.3 s or not at
        // all, 24.1–26.8 s). A pair outside it with a lot keeps its binary at 1, a column whose bounds
        // meet (microlp's binaries take no bounds).
        let fixed = |j: usize| (n..2 * n).contains(&j) && !free[j - n];
        let mut cols = s.milp.cols.clone();
        for (col, &j) in cols.iter_mut().zip(&s.kept) {
            if fixed(j) && columns[j] > 0.5 {
                *col = milp::Col { lower: 1.0, upper: 1.0, binary: false, ..*col };
            }
        }
        // A quantity (column i < n) goes with its pair's binary (n + i).
        let binary_of = |j: usize| if j < n { n + j } else { j };
        let fixed_zero: Vec<bool> =
            s.kept.iter().map(|&j| binary_of(j)).map(|y| fixed(y) && columns[y] < 0.5).collect();
        let (sub, kept) = cuts::without(&cols, &s.milp.rows, &fixed_zero);
        let original: Vec<usize> = kept.iter().map(|&k| s.kept[k]).collect();
        let warm: Vec<f64> = original.iter().map(|&j| columns[j]).collect();
        let outcome = milp::solve(&sub, &warm, limits, self.backend)?;
        let mut values = vec![0.0; columns.len()];
        for (&j, &v) in original.iter().zip(&outcome.values) {
            values[j] = v;
        }
        let quantities = ComponentModel::quantities_of(component, &values);
        let new_cost = component_cost(instance, residual, component, &quantities);
        Some(Move {
            quantities: quantities.into_iter().enumerate().collect(),
            old_cost: best.cost,
            new_cost,
            stop: Some(outcome.stop),
            nodes: outcome.nodes,
            whole: false,
        })
    }

    /// Solves `region` with every other lot of `current` fixed.
    fn solve_region(
        &self,
        region: &Region,
        current: &[f64],
        capacity: &HashMap<(usize, usize), f64>,
        limits: Limits,
    ) -> Move {
        let instance = self.instance;
        let mut residual = Residual {
            demand: self.residual.demand.clone(),
            capacity: capacity.clone(),
            clause: self.residual.clause.clone(),
        };
        let mut is_free = vec![false; self.component.pairs.len()];
        for &i in &region.free {
            is_free[i] = true;
        }
        for &l in &region.lines {
            for &i in &self.by_line[&l] {
                if !is_free[i] && current[i] > EPS {
                    let p = &self.component.pairs[i];
                    residual.demand[l] = (residual.demand[l] - current[i]).max(0.0);
                    residual.clause[l] =
                        (residual.clause[l] - instance.suppliers[p.supplier].insertion_rate * current[i]).max(0.0);
                }
            }
        }
        let mut sub = Component { lines: region.lines.clone(), pairs: Vec::with_capacity(region.free.len()) };
        let mut index = Vec::with_capacity(region.free.len());
        for &i in &region.free {
            let p = &self.component.pairs[i];
            let upper =
                p.upper.min(residual.capacity(p.supplier, instance.lines[p.line].sector)).min(residual.demand[p.line]);
            if upper > EPS && upper + EPS >= instance.suppliers[p.supplier].min_lot {
                sub.pairs.push(Pair { upper, ..p.clone() });
                index.push(i);
            }
        }
        let start: Vec<f64> = index.iter().zip(&sub.pairs).map(|(&i, p)| current[i].min(p.upper)).collect();
        let old_cost = component_cost(instance, &residual, &sub, &start);
        let model = ComponentModel::build(instance, &residual, &sub);
        let values = model.start(instance, &residual, &sub, &start);
        let outcome = milp::solve(&model.milp, &values, limits, self.backend);
        let whole = region.free.len() == self.component.pairs.len();
        // A free pair dropped from the sub-problem can hold nothing (its room is below its minimum lot).
        let mut quantities: Vec<(usize, f64)> = region.free.iter().map(|&i| (i, 0.0)).collect();
        let position: HashMap<usize, usize> = region.free.iter().enumerate().map(|(k, &i)| (i, k)).collect();
        let Some(outcome) = outcome else {
            return Move { quantities: Vec::new(), old_cost, new_cost: old_cost, stop: None, nodes: 1, whole };
        };
        let found = ComponentModel::quantities_of(&sub, &outcome.values);
        for (&i, &q) in index.iter().zip(&found) {
            quantities[position[&i]].1 = q;
        }
        let new_cost = component_cost(instance, &residual, &sub, &found);
        Move { quantities, old_cost, new_cost, stop: Some(outcome.stop), nodes: outcome.nodes, whole }
    }
}

/// Puts `next` (items found from the one just taken, with repeats) at the front of `queue`, whose next
/// item is taken from the back: breadth first, each item once per call, in random order.
fn visit_next(rng: &mut Rng, queue: &mut Vec<usize>, mut next: Vec<usize>) {
    next.sort_unstable();
    next.dedup();
    rng.shuffle(&mut next);
    queue.splice(0..0, next);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::generate;
    use crate::model;

    fn greedy_solution(instance: &Instance, residual: &Residual, component: &Component) -> ComponentSolution {
        let quantities = greedy::fill_component(instance, residual, component);
        let cost = component_cost(instance, residual, component, &quantities);
        ComponentSolution {
            quantities,
            cost,
            ending: StoppedBy::TimeLimit,
            bound: None,
            variables: 0,
            constraints: 0,
            nodes: 0,
            neighbourhoods: 0,
            turns: 0,
            polishing: None,
        }
    }

    /// Calls `check` with each component of `instance`, its greedy lots and a search of it with no
    /// budget: its regions are drawn, never solved.
    fn each_search(
        instance: &Instance,
        mut check: impl FnMut(&Component, &ComponentSolution, &mut Neighbourhoods<'_>),
    ) {
        let residual = Residual::new(instance);
        for component in model::components(instance, model::candidate_pairs(instance, &residual)) {
            let best = greedy_solution(instance, &residual, &component);
            let budget = Budget { share_ends: Instant::now(), run: None, nodes: Some(0), halt: None };
            let mut search = Neighbourhoods::new(instance, &residual, &component, budget, Backend::Microlp, 0);
            check(&component, &best, &mut search);
        }
    }

    #[test]
    fn a_turn_runs_past_its_share_only_while_nobody_waits_and_ends_when_halted() {
        let now = Instant::now();
        let (share_ends, run_ends) = (now + Duration::from_secs(5), now + Duration::from_secs(30));
        let waiting = Waiting::default();
        let halt = AtomicBool::new(false);
        let budget = Budget { share_ends, run: Some((run_ends, &waiting)), nodes: None, halt: Some(&halt) };
        // Components not started yet wait for a thread: the share binds.
        assert_eq!(budget.deadline(), share_ends);
        waiting.all_started.store(true, Ordering::SeqCst);
        assert_eq!(budget.deadline(), run_ends, "nobody waits: the turn runs to the run's end");
        waiting.cut_short.store(1, Ordering::SeqCst);
        assert_eq!(budget.deadline(), share_ends, "a component cut short waits: the share binds again");
        assert!(!budget.core_idle());
        waiting.idle.store(1, Ordering::SeqCst);
        assert!(budget.core_idle(), "a thread with nothing left may help");
        halt.store(true, Ordering::SeqCst);
        assert!(budget.deadline() <= Instant::now(), "a halted helper has no time left");
    }

    #[test]
    fn once_a_search_beside_the_tree_found_nothing_the_tree_has_the_idle_core() {
        let model = cuts::Strengthened {
            milp: milp::Milp::default(),
            kept: Vec::new(),
            bound: 0.0,
            cuts: 0,
            fixed: 0,
            relaxation: Vec::new(),
        };
        let polishing = Polishing::new(vec![1.0], 10.0, model, None);
        let ends = Instant::now() + Duration::from_secs(30);
        let waiting = Waiting::default();
        waiting.all_started.store(true, Ordering::SeqCst);
        let budget = Budget { share_ends: ends, run: Some((ends, &waiting)), nodes: None, halt: None };
        assert!(!tree_alone(Some(&polishing), false, &budget), "no core is idle: the other components need it");
        waiting.idle.store(1, Ordering::SeqCst);
        assert!(!tree_alone(Some(&polishing), false, &budget), "a search beside the tree has its chance first");
        polishing.helped_in_vain.store(true, Ordering::SeqCst);
        assert!(tree_alone(Some(&polishing), false, &budget), "it found nothing: the tree has both cores");
        assert!(!tree_alone(Some(&polishing), true, &budget), "the early polish on a plateau stays short");
        assert!(!tree_alone(None, false, &budget));
        let work_limit = Budget { nodes: Some(1_000), ..budget };
        assert!(!tree_alone(Some(&polishing), false, &work_limit), "under a work limit, cores never decide");
    }

    /// A backend's « optimal » holds within its tolerances: lots it proves that cost a hair more than
    /// the ones held do not replace them, and the bound it gives is never said above the lots kept
    /// (a random case under HiGHS: proven 2 071.4977 against greedy lots at 2 071.4878).
    #[test]
    fn proven_lots_costlier_than_the_held_ones_leave_them_and_cap_the_bound() {
        let instance = generate::metro_instance(30, 6, 1).validate().expect("a generated instance is valid");
        let residual = Residual::new(&instance);
        let mut checked = 0;
        for component in model::components(&instance, model::candidate_pairs(&instance, &residual)) {
            let mut best = greedy_solution(&instance, &residual, &component);
            let Some(i) = best.quantities.iter().position(|&q| q > 1.0) else { continue };
            let mut costlier = best.quantities.clone();
            costlier[i] -= 1e-3;
            let model = ComponentModel::build(&instance, &residual, &component);
            let values = model.start(&instance, &residual, &component, &costlier);
            let proven_cost = component_cost(&instance, &residual, &component, &costlier);
            assert!(proven_cost > best.cost, "a lot a hair smaller leaves a hair more short");
            let (held, cost) = (best.quantities.clone(), best.cost);
            let outcome = milp::Outcome { values, stop: Stop::ProvenOptimal, bound: Some(proven_cost), nodes: 7 };
            let heard = Mutex::new(Vec::new());
            let hear = |e: Event| heard.lock().expect("not poisoned").push(format!("{e:?}"));
            best.take_whole(&instance, &residual, &component, &outcome, &hear);
            assert_eq!(best.quantities, held, "the cheaper lots stay");
            assert_eq!(best.cost, cost);
            assert_eq!(best.bound, Some(cost), "the bound stops at the lots kept");
            assert_eq!(best.nodes, 7);
            assert_eq!(heard.into_inner().expect("not poisoned"), vec![format!("{:?}", Event::Bound(cost))]);

            // Cheaper proven lots still replace the held ones.
            let mut worse = greedy_solution(&instance, &residual, &component);
            worse.quantities[i] -= 1e-3;
            worse.cost = proven_cost;
            let values = model.start(&instance, &residual, &component, &held);
            let outcome = milp::Outcome { values, stop: Stop::ProvenOptimal, bound: Some(cost), nodes: 1 };
            worse.take_whole(&instance, &residual, &component, &outcome, &|_| {});
            assert_eq!((worse.quantities, worse.cost, worse.bound), (held, cost, Some(cost)));
            checked += 1;
        }
        assert!(checked >= 1, "no component with a lot over one unit");
    }

    /// The relaxation's region frees the pairs whose lot the polish's cut LP sets otherwise than the
    /// lots, with the lots held on their lines or by their suppliers; it is drawn once per lots; and
    /// solved, it finds cheaper lots than the greedy ones on dense components.
    #[test]
    fn a_relaxation_region_frees_what_the_cut_lp_and_the_lots_disagree_on() {
        let far = Instant::now() + Duration::from_secs(600);
        let (mut drawn, mut cheaper) = (0, 0);
        for seed in 1..=4 {
            let instance = generate::metro_instance(30, 6, seed).validate().expect("a generated instance is valid");
            let residual = Residual::new(&instance);
            for component in model::components(&instance, model::candidate_pairs(&instance, &residual)) {
                let mut best = greedy_solution(&instance, &residual, &component);
                let budget = Budget { share_ends: far, run: None, nodes: None, halt: None };
                let mut search = Neighbourhoods::new(&instance, &residual, &component, budget, Backend::Microlp, 0);
                assert!(search.relaxation_region(&best).is_none(), "no cut LP yet, no region");
                let model = ComponentModel::build(&instance, &residual, &component);
                let start = model.start(&instance, &residual, &component, &best.quantities);
                let strengthened = cuts::strengthen(&model.milp, &start, far).expect("the LP solves");
                let (pairs, n) = (&component.pairs, component.pairs.len());
                let point = strengthened.relaxation.clone();
                let (lots, cost) = (best.quantities.clone(), best.cost);
                best.polishing = Some(Polishing::new(lots, cost, strengthened, None));
                let held = |i: usize| best.quantities[i] > EPS;
                let mut first = None;
                for (level, agrees) in RELAXATION_AGREES.into_iter().enumerate() {
                    let disagree: Vec<usize> =
                        (0..n).filter(|&i| (point[n + i] - if held(i) { 1.0 } else { 0.0 }).abs() > agrees).collect();
                    let expected: Vec<usize> = (0..n)
                        .filter(|&i| {
                            let linked = disagree
                                .iter()
                                .any(|&d| pairs[d].line == pairs[i].line || pairs[d].supplier == pairs[i].supplier);
                            disagree.contains(&i) || (held(i) && linked)
                        })
                        .collect();
                    let Some(region) = search.relaxation_region(&best) else {
                        assert!(expected.is_empty() || expected.len() == n, "a region of {} pairs", expected.len());
                        continue;
                    };
                    drawn += 1;
                    assert_eq!(region.free, expected, "freed at {agrees}");
                    if level == 0 {
                        first = Some(region.free.clone());
                    }
                    let mut lines: Vec<usize> = region.free.iter().map(|&i| pairs[i].line).collect();
                    lines.sort_unstable();
                    lines.dedup();
                    assert_eq!(region.lines, lines);
                    let limits = Limits { seconds: 600.0, nodes: Some(NEIGHBOURHOOD_NODES) };
                    let found = search.solve_on_cuts(&region, &best, limits).expect("the cut model holds the lots");
                    let mut quantities = best.quantities.clone();
                    for &(i, q) in &found.quantities {
                        quantities[i] = q;
                    }
                    // Outside the region every pair keeps whether it holds a lot.
                    for i in (0..n).filter(|i| !region.free.contains(i)) {
                        assert_eq!(quantities[i] > EPS, held(i), "pair {i} outside the region");
                    }
                    let columns = model.start(&instance, &residual, &component, &quantities);
                    cuts::tests::assert_rows_hold(&model.milp.rows, &columns, "the lots found on the cut model");
                    assert!(
                        (found.new_cost - component_cost(&instance, &residual, &component, &quantities)).abs() < 1e-6
                    );
                    assert!(found.new_cost <= found.old_cost + 1e-6, "the lots are the sub-problem's start");
                    if found.new_cost < best.cost - IMPROVEMENT * best.cost.abs() {
                        cheaper += 1;
                    }
                }
                assert!(search.relaxation_region(&best).is_none(), "drawn twice at a level for the same lots");
                let mut helper = Neighbourhoods::new(&instance, &residual, &component, budget, Backend::Microlp, 1);
                assert!(helper.relaxation_region(&best).is_none(), "another search on the same lots draws it again");
                best.cost -= 1.0;
                let again = helper.relaxation_region(&best).map(|r| r.free);
                assert_eq!(again, first, "cheaper lots start again from the first level");
            }
        }
        assert!(drawn >= 8, "too few regions drawn ({drawn})");
        assert!(cheaper >= 2, "the relaxation's region found cheaper lots on {cheaper} of {drawn} regions");
    }

    #[test]
    fn a_cross_region_frees_linked_lines_with_every_supplier_holding_their_lots() {
        let mut checked = 0;
        let mut with_others = 0;
        for seed in 1..=2 {
            let instance = generate::metro_instance(60, 12, seed).validate().expect("a generated instance is valid");
            each_search(&instance, |component, best, search| {
                let pairs = &component.pairs;
                let held = |i: usize| best.quantities[i] > EPS;
                for _ in 0..5 {
                    let region = search.cross_region(best);
                    let chosen: HashSet<usize> = region.free.iter().map(|&i| pairs[i].supplier).collect();
                    // Every pair between the region's lines and its suppliers is free, and only those.
                    let expected: Vec<usize> = (0..pairs.len())
                        .filter(|&i| region.lines.contains(&pairs[i].line) && chosen.contains(&pairs[i].supplier))
                        .collect();
                    assert_eq!(region.free, expected, "the region is not its lines × its suppliers");
                    // Every lot on its lines is free: the region can move them all.
                    for (i, p) in pairs.iter().enumerate() {
                        if region.lines.contains(&p.line) && held(i) {
                            assert!(chosen.contains(&p.supplier), "a lot on line {} stays fixed", p.line);
                        }
                    }
                    // Its lines are linked by suppliers holding lots on two of them.
                    let holds = |s: usize, l: usize| {
                        (0..pairs.len()).any(|i| held(i) && pairs[i].supplier == s && pairs[i].line == l)
                    };
                    let mut reached = vec![region.lines[0]];
                    let mut grew = true;
                    while grew {
                        grew = false;
                        for &l in &region.lines {
                            if !reached.contains(&l)
                                && chosen.iter().any(|&s| holds(s, l) && reached.iter().any(|&r| holds(s, r)))
                            {
                                reached.push(l);
                                grew = true;
                            }
                        }
                    }
                    assert_eq!(reached.len(), region.lines.len(), "lines {:?} are not linked", region.lines);
                    assert!(
                        region.lines.len() == 1 || region.free.len() <= search.size[Kind::Cross as usize] as usize,
                        "{} free pairs for a target of {}",
                        region.free.len(),
                        search.size[Kind::Cross as usize]
                    );
                    // Some regions also take suppliers holding no lot on their lines.
                    if chosen.iter().any(|&s| !region.lines.iter().any(|&l| holds(s, l))) {
                        with_others += 1;
                    }
                    checked += 1;
                }
            });
        }
        assert!(checked >= 5, "too few regions drawn ({checked})");
        assert!(with_others > 0, "no region took a supplier without a lot on its lines");
    }

    #[test]
    fn regions_of_lines_start_from_the_lines_left_short() {
        let mut components_with_short_lines = 0;
        // A national territory: many lines in one component, few of them left short by the greedy lots.
        for seed in 1..=3 {
            let instance =
                generate::national_instance(300, 30, seed).validate().expect("a generated instance is valid");
            each_search(&instance, |component, best, search| {
                let open = model::left_open(&instance, search.residual, component, &best.quantities);
                let short: Vec<usize> =
                    component.lines.iter().zip(open).filter(|(_, o)| o.demand > EPS).map(|(&l, _)| l).collect();
                if short.is_empty() || short.len() == component.lines.len() {
                    return;
                }
                components_with_short_lines += 1;
                // The first regions of a cycle are seeded on the short lines, every one of them.
                let mut seeded: Vec<usize> = (0..short.len()).map(|_| search.region(&[], best).lines[0]).collect();
                seeded.sort_unstable();
                let mut expected = short.clone();
                expected.sort_unstable();
                assert_eq!(seeded, expected, "the first seeds are not the lines left short");
            });
        }
        assert!(components_with_short_lines >= 2, "too few components with a line left short");
    }

    #[test]
    fn a_region_of_suppliers_frees_whole_suppliers_linked_by_the_lines_they_hold() {
        let mut checked = 0;
        // A national territory: lines far apart in one component, so that linked suppliers are few.
        for seed in 1..=2 {
            let instance =
                generate::national_instance(120, 12, seed).validate().expect("a generated instance is valid");
            each_search(&instance, |component, best, search| {
                let pairs = &component.pairs;
                let holds = |s: usize, l: usize| {
                    pairs.iter().zip(&best.quantities).any(|(p, &q)| p.supplier == s && p.line == l && q > EPS)
                };
                for _ in 0..5 {
                    let region = search.suppliers_region(best);
                    let mut chosen: Vec<usize> = Vec::new();
                    for &i in &region.free {
                        if !chosen.contains(&pairs[i].supplier) {
                            chosen.push(pairs[i].supplier);
                        }
                    }
                    // Every pair of a chosen supplier is free, on every line, and only those.
                    let expected = pairs.iter().filter(|p| chosen.contains(&p.supplier)).count();
                    assert_eq!(region.free.len(), expected, "a chosen supplier keeps some of its pairs fixed");
                    assert!(
                        chosen.len() == 1 || region.free.len() <= search.size[Kind::Suppliers as usize] as usize,
                        "{} free pairs for a target of {}",
                        region.free.len(),
                        search.size[Kind::Suppliers as usize]
                    );
                    let mut lines: Vec<usize> = region.free.iter().map(|&i| pairs[i].line).collect();
                    lines.sort_unstable();
                    lines.dedup();
                    assert_eq!(region.lines, lines);
                    // The first holds a lot; each next one holds a lot on a line where one chosen before
                    // it holds a lot (the chain the region follows).
                    assert!(component.lines.iter().any(|&l| holds(chosen[0], l)), "the seed supplier holds no lot");
                    for (k, &s) in chosen.iter().enumerate().skip(1) {
                        let linked =
                            chosen[..k].iter().any(|&o| component.lines.iter().any(|&l| holds(s, l) && holds(o, l)));
                        assert!(linked, "supplier {s} is not linked to those before it by a line they both hold");
                    }
                    checked += 1;
                }
            });
        }
        assert!(checked >= 10, "too few regions drawn ({checked})");
    }
}
