//! Plain-data branch & bound tree nodes.

use crate::solver::{Basis, Solver, VarStatus};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One open node of the search tree. Contains no solver machinery — applying
/// `bound_changes` on top of the root bounds plus loading `basis` fully
/// reconstructs the node's starting state.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// Cumulative bound changes from the root, in creation order; for a var that
    /// appears multiple times the LAST entry is its current bounds.
    pub bound_changes: BoundChanges,
    /// Optimal basis of the parent node (dual-feasible warm start after
    /// tightening), shared with the sibling and packed (patched in for essaim,
    /// see `BoundChanges`).
    pub basis: Arc<PackedBasis>,
    /// A valid lower bound for this node in internal (minimize) space, used for
    /// pruning before any LP work: the parent's LP objective, or this node's
    /// own when strong branching solved it (patched in for essaim, change 6).
    pub lp_bound: f64,
    /// The parent's LP objective (internal space), against which this node's
    /// own objective is recorded as a pseudocost observation. Equal to
    /// `lp_bound` unless strong branching measured this node's LP (patched in
    /// for essaim, see PATCHED.md, change 6).
    pub parent_objective: f64,
    pub depth: u32,
    /// Sequence number of the branching that created this node; used to detect
    /// "the solver is already at my parent's optimum" (warm dive).
    pub parent_id: u64,
    /// Which variable this node's creating branch changed. Root-like nodes that
    /// do not represent a variable branch carry `None` and cannot update a
    /// variable pseudocost.
    pub branch_var: Option<usize>,
    /// Direction and parent fractionality for a variable branch.
    pub branch_up: bool,
    pub branch_frac: f64,
}

/// A node's bound changes from the root (patched in for essaim, see PATCHED.md):
/// its own, then a link to its parent's, shared by the siblings. Upstream copies
/// the whole list into each child, so a tree's memory grew with its open nodes
/// times their depth: on a dense 610-pair component with reduced-cost fixing,
/// 12 000 open nodes held 42 MB of copies (and their bases 14 MB more) at the
/// peak, most of the process's memory.
#[derive(Clone, Debug, Default)]
pub(crate) struct BoundChanges {
    own: Vec<(usize, f64, f64)>,
    parent: Option<Arc<Link>>,
}

/// An ancestor's own changes, and its own parent's.
#[derive(Debug)]
struct Link {
    changes: Box<[(usize, f64, f64)]>,
    parent: Option<Arc<Link>>,
}

impl Drop for Link {
    /// Unlinks the chain iteratively: a deep tree's last node would otherwise
    /// drop its ancestors recursively, one stack frame each.
    fn drop(&mut self) {
        let mut next = self.parent.take();
        while let Some(link) = next {
            next = match Arc::try_unwrap(link) {
                Ok(mut only) => only.parent.take(),
                Err(_) => None,
            };
        }
    }
}

impl BoundChanges {
    /// A change after all the others (a fixing at this node).
    pub fn push(&mut self, change: (usize, f64, f64)) {
        self.own.push(change);
    }

    /// The changes of two children, each with its branching change after this
    /// node's, which they share.
    pub fn children(&self, down: (usize, f64, f64), up: (usize, f64, f64)) -> (Self, Self) {
        let parent = if self.own.is_empty() {
            self.parent.clone()
        } else {
            Some(Arc::new(Link {
                changes: self.own.as_slice().into(),
                parent: self.parent.clone(),
            }))
        };
        let child = |change| Self {
            own: vec![change],
            parent: parent.clone(),
        };
        (child(down), child(up))
    }

    /// Collapse the changes to one entry per var (later entries win), sorted by
    /// var index for deterministic application order.
    pub fn effective(&self) -> Vec<(usize, f64, f64)> {
        let mut segments: Vec<&[(usize, f64, f64)]> = vec![&self.own];
        let mut link = self.parent.as_deref();
        while let Some(l) = link {
            segments.push(&l.changes);
            link = l.parent.as_deref();
        }
        let mut map: BTreeMap<usize, (f64, f64)> = BTreeMap::new();
        for &(v, lo, hi) in segments.into_iter().rev().flatten() {
            map.insert(v, (lo, hi));
        }
        map.into_iter().map(|(v, (lo, hi))| (v, lo, hi)).collect()
    }
}

/// A basis at two bits per variable (patched in for essaim): a node waits in
/// the tree with it, and upstream's byte per variable was a quarter of a dense
/// tree's memory.
#[derive(Debug)]
pub(crate) struct PackedBasis {
    len: usize,
    bits: Box<[u8]>,
}

impl PackedBasis {
    /// The solver's current basis, packed, to be shared by a node's children.
    pub fn of(solver: &Solver) -> Arc<Self> {
        Arc::new(Self::pack(&solver.snapshot_basis()))
    }

    pub fn pack(basis: &Basis) -> Self {
        let mut bits = vec![0u8; basis.0.len().div_ceil(4)];
        for (i, status) in basis.0.iter().enumerate() {
            let code = match status {
                VarStatus::Basic => 0,
                VarStatus::AtLower => 1,
                VarStatus::AtUpper => 2,
                VarStatus::Free => 3,
            };
            bits[i / 4] |= code << (2 * (i % 4));
        }
        Self {
            len: basis.0.len(),
            bits: bits.into(),
        }
    }

    pub fn unpack(&self) -> Basis {
        Basis(
            (0..self.len)
                .map(|i| match (self.bits[i / 4] >> (2 * (i % 4))) & 3 {
                    0 => VarStatus::Basic,
                    1 => VarStatus::AtLower,
                    2 => VarStatus::AtUpper,
                    _ => VarStatus::Free,
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_bounds_later_entries_win() {
        let mut changes = BoundChanges::default();
        assert_eq!(changes.effective(), vec![]);
        for change in [(3, 0.0, 7.0), (1, 0.0, 1.0), (3, 2.0, 5.0)] {
            changes.push(change);
        }
        assert_eq!(changes.effective(), vec![(1, 0.0, 1.0), (3, 2.0, 5.0)]);
    }

    #[test]
    fn children_see_their_ancestors_changes_then_their_own() {
        let mut root = BoundChanges::default();
        root.push((5, 0.0, 0.0));
        let (mut down, up) = root.children((3, 0.0, 0.0), (3, 1.0, 1.0));
        down.push((7, 1.0, 1.0));
        assert_eq!(
            up.effective(),
            vec![(3, 1.0, 1.0), (5, 0.0, 0.0)],
            "the sibling's fixing is not the up child's"
        );
        // A grandchild overrides an ancestor's bound; the ancestors keep theirs.
        let (left, _) = down.children((5, 0.0, 2.0), (9, 1.0, 1.0));
        assert_eq!(
            left.effective(),
            vec![(3, 0.0, 0.0), (5, 0.0, 2.0), (7, 1.0, 1.0)]
        );
        assert_eq!(
            down.effective(),
            vec![(3, 0.0, 0.0), (5, 0.0, 0.0), (7, 1.0, 1.0)]
        );
        drop(root);
        drop(down);
        assert_eq!(
            left.effective(),
            vec![(3, 0.0, 0.0), (5, 0.0, 2.0), (7, 1.0, 1.0)],
            "a node outlives its ancestors' own nodes"
        );
    }

    #[test]
    fn a_deep_chain_drops_without_recursing() {
        let mut node = BoundChanges::default();
        for v in 0..200_000 {
            node.push((v, 0.0, 0.0));
            node = node.children((v, 0.0, 0.0), (v, 1.0, 1.0)).0;
        }
        assert_eq!(node.effective().len(), 200_000);
        drop(node);
    }

    #[test]
    fn a_packed_basis_unpacks_to_the_same_statuses() {
        let statuses = [
            VarStatus::Basic,
            VarStatus::AtLower,
            VarStatus::AtUpper,
            VarStatus::Free,
            VarStatus::AtUpper,
            VarStatus::Basic,
            VarStatus::Free,
        ];
        for len in 0..=statuses.len() {
            let basis = Basis(statuses[..len].to_vec());
            assert_eq!(PackedBasis::pack(&basis).unpack().0, basis.0);
        }
    }
}
