//! Why part of a line stays uncovered, or its clause unmet, as structured causes (rendered in English for
//! the JSON contract, in French for people).

use std::collections::HashMap;

use essaim_core::{ClauseCause, ShortfallCause};

use crate::input::{Ineligible, Instance};
use crate::model::{EPS, Residual};

/// Why one supplier in reach cannot take more of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Blocker {
    CapacityExhausted,
    MaxShare,
    MinLot,
    Accepted,
    NotWorthIt,
    TimeLimit,
}

/// The suppliers with capacity in the line's sector and within reach, sorted by what the line's rules
/// make of them.
struct InReach {
    /// May take the line (eligible), or already hold a lot on it.
    eligible: Vec<usize>,
    reserved_out: Vec<usize>,
    mode_out: Vec<usize>,
}

fn in_reach(instance: &Instance, l: usize) -> (Vec<usize>, InReach) {
    let line = &instance.lines[l];
    let with_sector: Vec<usize> =
        (0..instance.suppliers.len()).filter(|&s| instance.capacity(s, line.sector) > 0.0).collect();
    let mut reach = InReach { eligible: Vec::new(), reserved_out: Vec::new(), mode_out: Vec::new() };
    for &s in &with_sector {
        let fixed = instance.fixed.contains_key(&(l, s));
        if !fixed && instance.distance(l, s) > instance.suppliers[s].max_distance_km {
            continue;
        }
        match instance.eligibility(l, s) {
            _ if fixed => reach.eligible.push(s),
            Ok(()) => reach.eligible.push(s),
            Err(Ineligible::Reserved) => reach.reserved_out.push(s),
            Err(Ineligible::Mode) => reach.mode_out.push(s),
        }
    }
    (with_sector, reach)
}

fn ineligible_cause(instance: &Instance, l: usize, reach: &InReach, only: bool) -> Option<ShortfallCause> {
    if reach.reserved_out.is_empty() && reach.mode_out.is_empty() {
        return None;
    }
    let line = &instance.lines[l];
    let ids = |list: &[usize]| list.iter().map(|&s| instance.suppliers[s].id.clone()).collect::<Vec<_>>();
    Some(ShortfallCause::Ineligible {
        sector: instance.sectors[line.sector].clone(),
        reservation: line.reserved,
        reserved_out: ids(&reach.reserved_out),
        modes: line.modes.clone(),
        mode_out: ids(&reach.mode_out),
        only,
    })
}

/// Explains the shortfall of line `l`, given the total quantity of every (line, supplier) pair (fixed lot
/// and addition together) and the quantity used per (supplier, sector).
pub(crate) fn shortfall_causes(
    instance: &Instance,
    l: usize,
    shortfall: f64,
    quantities: &HashMap<(usize, usize), f64>,
    used: &HashMap<(usize, usize), f64>,
    proven: bool,
) -> Vec<ShortfallCause> {
    let line = &instance.lines[l];
    let sector = instance.sectors[line.sector].clone();
    let (with_sector, reach) = in_reach(instance, l);
    if with_sector.is_empty() {
        return vec![ShortfallCause::NoSupplierInSector { sector }];
    }
    let closed = |s: usize| instance.excluded.contains(&(l, s)) && !instance.fixed.contains_key(&(l, s));
    let declined = reach.eligible.iter().filter(|&&s| closed(s)).count();
    let open: Vec<usize> = reach.eligible.iter().copied().filter(|&s| !closed(s)).collect();
    if open.is_empty() {
        if declined == 0
            && let Some(cause) = ineligible_cause(instance, l, &reach, true)
        {
            return vec![cause];
        }
        let all_in_reach: Vec<usize> =
            reach.eligible.iter().chain(&reach.reserved_out).chain(&reach.mode_out).copied().collect();
        let nearest = with_sector
            .iter()
            .copied()
            .filter(|s| !all_in_reach.contains(s))
            .map(|s| (instance.distance(l, s), s))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(d, s)| {
                let supplier = &instance.suppliers[s];
                (supplier.id.clone(), (d * 10.0).round() / 10.0, supplier.max_distance_km)
            });
        let mut causes = vec![ShortfallCause::NoneWithinReach { sector, declined, nearest }];
        causes.extend(ineligible_cause(instance, l, &reach, false));
        return causes;
    }

    let share_cap = line.max_share * line.quantity;
    let w = instance.weights;
    let mut blocked: Vec<(Blocker, usize)> = Vec::new();
    for &s in &open {
        let supplier = &instance.suppliers[s];
        let total = quantities.get(&(l, s)).copied().unwrap_or(0.0);
        let held = instance.fixed.get(&(l, s)).copied().unwrap_or(0.0);
        let left = instance.capacity(s, line.sector) - used.get(&(s, line.sector)).copied().unwrap_or(0.0);
        let closed_for_more = instance.excluded.contains(&(l, s))
            || instance.distance(l, s) > supplier.max_distance_km
            || instance.eligibility(l, s).is_err();
        let blocker = if instance.fixed.contains_key(&(l, s)) && closed_for_more {
            // A partial acceptance (excluded), or a lot kept from before although the supplier is now out
            // of reach or not eligible: it keeps what it holds and cannot take more.
            Blocker::Accepted
        } else if left <= EPS {
            Blocker::CapacityExhausted
        } else if total >= share_cap - EPS {
            Blocker::MaxShare
        } else if total - held <= EPS
            && ((left.min(share_cap - total)) + EPS < supplier.min_lot || shortfall + EPS < supplier.min_lot)
        {
            Blocker::MinLot
        } else if w.per_unit_km * instance.distance(l, s) + supplier.fairness >= w.per_unit_shortfall {
            Blocker::NotWorthIt
        } else if !proven {
            Blocker::TimeLimit
        } else {
            // Proven optimal yet not taking more: doing so would push a lot under its minimum.
            Blocker::MinLot
        };
        blocked.push((blocker, s));
    }
    blocked.sort();
    let mut causes = Vec::new();
    let mut i = 0;
    while i < blocked.len() {
        let kind = blocked[i].0;
        let ids: Vec<String> = blocked[i..]
            .iter()
            .take_while(|(b, _)| *b == kind)
            .map(|(_, s)| instance.suppliers[*s].id.clone())
            .collect();
        i += ids.len();
        causes.push(match kind {
            Blocker::CapacityExhausted => ShortfallCause::CapacityExhausted { suppliers: ids, sector: sector.clone() },
            Blocker::MaxShare => ShortfallCause::MaxShareReached { suppliers: ids, percent: line.max_share * 100.0 },
            Blocker::MinLot => ShortfallCause::MinLotTooLarge { suppliers: ids },
            Blocker::Accepted => ShortfallCause::AcceptedLotsKept { suppliers: ids, pending: Vec::new() },
            Blocker::NotWorthIt => ShortfallCause::TooFarForTheWeights { suppliers: ids },
            Blocker::TimeLimit => ShortfallCause::TimeLimit { suppliers: ids },
        });
    }
    if declined > 0 {
        causes.push(ShortfallCause::Declined { count: declined });
    }
    causes.extend(ineligible_cause(instance, l, &reach, false));
    causes
}

/// Why the clause of line `l` is not met. `OutOfReach` when even the whole line given to the highest
/// insertion rates among the suppliers that may take it (each up to its capacity and the max share,
/// ignoring the other lines) stays below the target.
pub(crate) fn clause_cause(instance: &Instance, residual: &Residual, l: usize, proven: bool) -> ClauseCause {
    let line = &instance.lines[l];
    let (_, reach) = in_reach(instance, l);
    let mut room: Vec<(f64, f64)> = reach
        .eligible
        .iter()
        .copied()
        .filter(|&s| !instance.excluded.contains(&(l, s)))
        .map(|s| {
            let held = instance.fixed.get(&(l, s)).copied().unwrap_or(0.0);
            let upper = residual.capacity(s, line.sector).min(line.max_share * line.quantity - held).max(0.0);
            (instance.suppliers[s].insertion_rate, upper)
        })
        .collect();
    room.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut open = residual.demand[l];
    let mut achievable = instance.fixed_clause_hours(l);
    for (rate, upper) in room {
        let take = upper.min(open);
        achievable += rate * take;
        open -= take;
        if open <= EPS {
            break;
        }
    }
    if achievable + EPS < line.clause_hours {
        ClauseCause::OutOfReach { achievable: essaim_core::round_quantity(achievable) }
    } else if !proven {
        ClauseCause::TimeLimit
    } else {
        ClauseCause::NotWorthIt
    }
}
