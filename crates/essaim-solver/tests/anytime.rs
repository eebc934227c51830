//! The anytime search on dense instances, where branch and bound alone cannot prove the optimum: a work
//! limit makes a run reproducible, the reported gap is honest (the optimum lies within it), lots never
//! add up to more than a line or a capacity, and the lots of a result read back as fixed lots.

mod common;

use std::time::Duration;

use essaim_solver::{
    AllocationInput, AllocationResult, Backend, FixedLot, SolveSettings, Status, StoppedBy, allocate, generate,
    greedy_allocate,
};

use common::check_result;

fn with_work_limit(nodes: u64) -> SolveSettings {
    SolveSettings { time_limit: Duration::from_secs(600), work_limit: Some(nodes), backend: Backend::Microlp }
}

fn without_timing(result: &AllocationResult) -> AllocationResult {
    let mut result = result.clone();
    result.stats.solve_ms = 0.0;
    result
}

#[test]
fn a_work_limit_gives_the_same_lots_on_every_run_and_says_it_stopped_the_search() {
    let input = generate::metro_instance(150, 30, 7);
    let settings = with_work_limit(600);
    let first = allocate(&input, &settings).unwrap();
    let second = allocate(&input, &settings).unwrap();
    assert_eq!(without_timing(&first), without_timing(&second));
    assert_eq!(first.status, Status::Feasible, "600 nodes cannot prove this one: {:?}", first.stats);
    assert_eq!(first.stats.stopped_by, StoppedBy::WorkLimit);
    assert!(first.stats.neighbourhoods > 0, "the neighbourhood search ran: {:?}", first.stats);
    check_result(&input, &first).unwrap();
    let greedy = greedy_allocate(&input).unwrap();
    assert!(first.objective < greedy.objective, "{} vs greedy {}", first.objective, greedy.objective);
}

#[test]
fn the_gap_of_a_stopped_search_contains_the_optimum() {
    // Small enough for branch and bound to prove the optimum with no limit; stopped early, the result
    // must say how far from it it may be, and the optimum must lie within that.
    let input = generate::metro_instance(60, 12, 3);
    let optimum = allocate(&input, &SolveSettings::default()).unwrap();
    assert_eq!(optimum.status, Status::Optimal, "{:?}", optimum.stats);
    for nodes in [1, 20, 100] {
        let early = allocate(&input, &with_work_limit(nodes)).unwrap();
        check_result(&input, &early).unwrap();
        assert!(
            early.objective >= optimum.objective - 1e-6,
            "{nodes} nodes: {} < {}",
            early.objective,
            optimum.objective
        );
        if early.status == Status::Feasible {
            let gap = early.gap.expect("a feasible result carries its gap");
            let bound = early.objective * (1.0 - gap);
            assert!(
                bound <= optimum.objective + 1e-3,
                "{nodes} nodes: bound {bound} above the optimum {}",
                optimum.objective
            );
        }
    }
}

#[test]
fn lots_never_add_up_to_more_than_a_line_and_read_back_as_fixed_lots() {
    for seed in 1..=3 {
        let input = generate::metro_instance(100, 20, seed);
        let result = allocate(&input, &with_work_limit(400)).unwrap();
        for line in &input.lines {
            let total: f64 = result.lots.iter().filter(|l| l.line == line.id).map(|l| l.quantity).sum();
            assert!(total <= line.quantity, "seed {seed}: line {} holds {total} of {}", line.id, line.quantity);
        }
        let mut again: AllocationInput = input.clone();
        again.fixed = result
            .lots
            .iter()
            .map(|l| FixedLot { line: l.line.clone(), supplier: l.supplier.clone(), quantity: l.quantity })
            .collect();
        // Every lot kept: the same cost, or less when a top-up now covers a line the search left short.
        let replay = allocate(&again, &with_work_limit(400)).unwrap();
        assert!(
            replay.objective <= result.objective + 1e-6,
            "seed {seed}: {} > {}",
            replay.objective,
            result.objective
        );
        assert!(replay.lots.iter().filter(|l| l.fixed).count() == result.lots.len(), "seed {seed}");
    }
}

#[test]
fn one_giant_component_is_searched_by_neighbourhoods_with_a_bound() {
    // 400 suppliers around eight cities, one sector: one component, too large for an exact solve at
    // once. The result is better than greedy and carries a gap below 100 %.
    let input = generate::national_instance(400, 40, 5);
    let result = allocate(&input, &with_work_limit(2000)).unwrap();
    assert_eq!(result.stats.components, 1);
    check_result(&input, &result).unwrap();
    let greedy = greedy_allocate(&input).unwrap();
    assert!(result.objective <= greedy.objective);
    if result.status == Status::Feasible {
        let gap = result.gap.unwrap();
        assert!((0.0..1.0).contains(&gap), "gap {gap}");
    }
}

#[test]
fn a_core_left_idle_gives_its_time_to_a_component_cut_short() {
    // Three dense components of about the same size (one per sector), none provable in 3 s. Each
    // first turn gets a share of the limit in proportion to its size and to the threads. On two
    // cores, the first two components run side by side until their share ends; one core then takes
    // the third, and the other, left idle, gives another turn to one of the first two until the limit.
    // With a core per component, or a single core, no core is ever idle early: no second turn.
    let input = generate::metro_instance(150, 30, 1);
    let settings = SolveSettings { time_limit: Duration::from_secs(3), work_limit: None, backend: Backend::Microlp };
    let result = allocate(&input, &settings).unwrap();
    check_result(&input, &result).unwrap();
    assert_eq!(result.stats.components, 3, "{:?}", result.stats);
    assert_eq!(result.stats.stopped_by, StoppedBy::TimeLimit, "{:?}", result.stats);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores == 2 {
        assert!(result.stats.turns >= 1, "the idle core took no turn: {:?}", result.stats);
    } else {
        assert_eq!(result.stats.turns, 0, "{cores} cores: {:?}", result.stats);
    }
}

#[test]
fn a_small_dense_component_that_the_plain_tree_cannot_prove_is_proven_from_the_searched_lots() {
    // Metro 100 × 20: three components of 220–290 pairs, everyone within everyone's reach. The plain
    // model's tree needs about 100 000 nodes to prove the largest; after its first 10 000, the search's
    // lots and the cut model prove it within this budget (it takes about 30 000; the plain tree alone,
    // given all 40 000, leaves it unproven).
    let input = generate::metro_instance(100, 20, 1);
    let result = allocate(&input, &with_work_limit(40_000)).unwrap();
    check_result(&input, &result).unwrap();
    assert_eq!(result.status, Status::Optimal, "{:?}", result.stats);
}
