//! The proposal as an OCDS 1.1 release package (to be written).

use super::Proposal;

/// Renders the proposal as an OCDS release package.
pub fn release_package(proposal: &Proposal) -> serde_json::Value {
    serde_json::json!({ "uri": proposal.tender.reference })
}
