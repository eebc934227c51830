//! Why part of a line stays uncovered, in words a facilitator can act on.

use std::collections::HashMap;

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

/// Explains the shortfall of line `l`, given the final quantity of every (line, supplier) pair.
pub(crate) fn shortfall_reason(
    instance: &Instance,
    l: usize,
    shortfall: f64,
    quantities: &HashMap<(usize, usize), f64>,
    used: &HashMap<(usize, usize), f64>,
    proven: bool,
) -> String {
    let line = &instance.lines[l];
    let sector = &instance.sectors[line.sector];
    let with_sector: Vec<usize> =
        (0..instance.suppliers.len()).filter(|&s| instance.capacity(s, line.sector) > 0.0).collect();
    if with_sector.is_empty() {
        return format!("no supplier has {sector} capacity");
    }
    let in_reach: Vec<usize> = with_sector
        .iter()
        .copied()
        .filter(|&s| instance.distance(l, s) <= instance.suppliers[s].max_distance_km)
        .collect();
    let declined = in_reach.iter().filter(|&&s| instance.excluded.contains(&(l, s))).count();
    let open: Vec<usize> = in_reach.iter().copied().filter(|&s| !instance.excluded.contains(&(l, s))).collect();
    if open.is_empty() {
        let nearest = with_sector
            .iter()
            .copied()
            .filter(|&s| !instance.excluded.contains(&(l, s)))
            .map(|s| (instance.distance(l, s), s))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let mut reason = format!("no supplier with {sector} capacity within reach");
        if declined > 0 {
            reason.push_str(&format!(" ({declined} in reach declined)"));
        }
        if let Some((d, s)) = nearest
            && !in_reach.contains(&s)
        {
            let supplier = &instance.suppliers[s];
            reason.push_str(&format!(
                "; nearest: {} at {:.1} km, travels up to {} km",
                supplier.id, d, supplier.max_distance_km
            ));
        }
        return reason;
    }

    let share_cap = line.max_share * line.quantity;
    let mut blocked: Vec<(Blocker, usize)> = Vec::new();
    for &s in &open {
        let supplier = &instance.suppliers[s];
        let x = quantities.get(&(l, s)).copied().unwrap_or(0.0);
        let capacity = instance.capacity(s, line.sector);
        let left = capacity - used.get(&(s, line.sector)).copied().unwrap_or(0.0);
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
            // Taking more here would push another lot under its minimum: a min-lot effect.
            Blocker::MinLot
        };
        blocked.push((blocker, s));
    }
    blocked.sort();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < blocked.len() {
        let kind = blocked[i].0;
        let ids: Vec<&str> =
            blocked[i..].iter().take_while(|(b, _)| *b == kind).map(|(_, s)| instance.suppliers[*s].id.as_str()).collect();
        i += ids.len();
        let who = name_list(&ids);
        parts.push(match kind {
            Blocker::CapacityExhausted => format!("capacity exhausted ({who} fully booked in {sector})"),
            Blocker::MaxShare => format!(
                "max share reached ({who} already at {:.0}% of the line)",
                line.max_share * 100.0
            ),
            Blocker::MinLot => format!("min lots too large ({who}: minimum lot above what is left to give)"),
            Blocker::Accepted => format!("accepted lots kept as they are ({who})"),
            Blocker::NotWorthIt => format!("too far to be worth covering under the weights ({who})"),
            Blocker::TimeLimit => format!("not placed within the solver time limit ({who})"),
        });
    }
    let mut reason = parts.join("; ");
    if declined > 0 {
        reason.push_str(&format!("; {declined} declined"));
    }
    reason
}

fn name_list(ids: &[&str]) -> String {
    const SHOWN: usize = 4;
    if ids.len() <= SHOWN {
        ids.join(", ")
    } else {
        format!("{} and {} others", ids[..SHOWN].join(", "), ids.len() - SHOWN)
    }
}
