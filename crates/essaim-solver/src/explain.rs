//! Why part of a line stays uncovered, as structured causes (rendered in English for the JSON contract,
//! in French for people).

use std::collections::HashMap;

use essaim_core::ShortfallCause;

use crate::input::Instance;
use crate::model::EPS;

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

/// Explains the shortfall of line `l`, given the final quantity of every (line, supplier) pair and
/// the quantity used per (supplier, sector).
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
    let with_sector: Vec<usize> =
        (0..instance.suppliers.len()).filter(|&s| instance.capacity(s, line.sector) > 0.0).collect();
    if with_sector.is_empty() {
        return vec![ShortfallCause::NoSupplierInSector { sector }];
    }
    let in_reach: Vec<usize> = with_sector
        .iter()
        .copied()
        .filter(|&s| {
            instance.fixed.contains_key(&(l, s)) || instance.distance(l, s) <= instance.suppliers[s].max_distance_km
        })
        .collect();
    let declined = in_reach.iter().filter(|&&s| instance.excluded.contains(&(l, s))).count();
    let open: Vec<usize> = in_reach.iter().copied().filter(|&s| !instance.excluded.contains(&(l, s))).collect();
    if open.is_empty() {
        let nearest = with_sector
            .iter()
            .copied()
            .filter(|&s| !in_reach.contains(&s))
            .map(|s| (instance.distance(l, s), s))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(d, s)| {
                let supplier = &instance.suppliers[s];
                (supplier.id.clone(), (d * 10.0).round() / 10.0, supplier.max_distance_km)
            });
        return vec![ShortfallCause::NoneWithinReach { sector, declined, nearest }];
    }

    let share_cap = line.max_share * line.quantity;
    let mut blocked: Vec<(Blocker, usize)> = Vec::new();
    for &s in &open {
        let supplier = &instance.suppliers[s];
        let x = quantities.get(&(l, s)).copied().unwrap_or(0.0);
        let left = instance.capacity(s, line.sector) - used.get(&(s, line.sector)).copied().unwrap_or(0.0);
        let blocker = if instance.fixed.contains_key(&(l, s)) {
            Blocker::Accepted
        } else if left <= EPS {
            Blocker::CapacityExhausted
        } else if x >= share_cap - EPS {
            Blocker::MaxShare
        } else if x <= EPS && (left.min(share_cap) + EPS < supplier.min_lot || shortfall + EPS < supplier.min_lot) {
            Blocker::MinLot
        } else if instance.weights.per_unit_km * instance.distance(l, s) >= instance.weights.per_unit_shortfall {
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
            Blocker::Accepted => ShortfallCause::AcceptedLotsKept { suppliers: ids },
            Blocker::NotWorthIt => ShortfallCause::TooFarForTheWeights { suppliers: ids },
            Blocker::TimeLimit => ShortfallCause::TimeLimit { suppliers: ids },
        });
    }
    if declined > 0 {
        causes.push(ShortfallCause::Declined { count: declined });
    }
    causes
}
