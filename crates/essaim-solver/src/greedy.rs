//! Nearest-supplier-first baseline. It is only used to compare quality and speed in benchmarks and as a
//! warm start for the exact model; it is never the answer given to users.

use std::collections::HashMap;

use crate::input::Instance;
use crate::model::{Component, EPS, Residual};

/// Fills each line of `component` in order, cheapest supplier first, each taking as much as it can
/// (capacity, max share, open demand) if that is at least its minimum lot. Cheapest is the cost per unit
/// (distance and fairness), less the clause penalty an hour of that supplier avoids while the line's clause
/// is open. Returns a quantity per pair.
pub(crate) fn fill_component(instance: &Instance, residual: &Residual, component: &Component) -> Vec<f64> {
    let mut quantities = vec![0.0; component.pairs.len()];
    let mut remaining: HashMap<(usize, usize), f64> = HashMap::new();
    for &l in &component.lines {
        let mut open = residual.demand[l];
        let clause_weight = if residual.clause[l] > EPS { instance.weights.per_clause_hour_shortfall } else { 0.0 };
        let cost = |i: usize| {
            let p = &component.pairs[i];
            p.unit_cost - clause_weight * instance.suppliers[p.supplier].insertion_rate
        };
        let mut order: Vec<usize> = (0..component.pairs.len()).filter(|&i| component.pairs[i].line == l).collect();
        order.sort_by(|&a, &b| {
            cost(a).total_cmp(&cost(b)).then(component.pairs[a].supplier.cmp(&component.pairs[b].supplier))
        });
        for i in order {
            if open <= EPS {
                break;
            }
            let p = &component.pairs[i];
            let sector = instance.lines[l].sector;
            let cap = remaining.entry((p.supplier, sector)).or_insert_with(|| residual.capacity(p.supplier, sector));
            let take = p.upper.min(*cap).min(open);
            if take <= EPS || take + EPS < instance.suppliers[p.supplier].min_lot {
                continue;
            }
            quantities[i] = take;
            *cap -= take;
            open -= take;
        }
    }
    quantities
}
