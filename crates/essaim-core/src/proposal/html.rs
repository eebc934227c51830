//! The proposal as a printable HTML page (to be written).

use super::Proposal;

/// Renders the proposal as one self-contained HTML page.
pub fn render(proposal: &Proposal) -> String {
    format!("<!doctype html><title>{}</title>", proposal.tender.reference)
}
