//! Allocating a stored tender: who may answer, the solver input, and recording the result.

use anyhow::{Context, Result};
use essaim_core::{Supplier, Tender};
use essaim_solver::AllocationResult;
use essaim_store::{AllocationRecord, Store};

use crate::config::Config;

/// Solves a stored tender and records the allocation (with its event) in the store.
pub async fn allocate_tender(
    store: &Store,
    tender: &Tender,
    config: &Config,
) -> Result<(i64, AllocationResult, Vec<Supplier>)> {
    let suppliers = store
        .eligible_suppliers(tender)
        .await?
        .ok_or_else(|| bad_input!("tender {}: unknown groupement; import its members first", tender.reference))?;
    // What the suppliers hold on other tenders comes off their capacity, as in a campaign.
    let context = store.capacity_context(&tender.reference).await?;
    let input = essaim_chat::campaigns::allocation_input(
        tender,
        &suppliers,
        &Default::default(),
        &context.holdings,
        &config.engine_settings()?,
        chrono::Utc::now(),
    );
    let settings = config.solve_settings();
    let result = tokio::task::spawn_blocking(move || essaim_solver::allocate(&input, &settings))
        .await
        .context("the solver task stopped")?
        .map_err(|e| bad_input!("tender {}: {e}", tender.reference))?;
    let record = AllocationRecord {
        status: serde_json::to_value(result.status)?.as_str().unwrap_or("feasible").to_owned(),
        objective: result.objective,
        gap: result.gap,
        lots: result.lots.clone(),
        shortfall: result.shortfall.clone(),
    };
    let id = store.record_allocation(&tender.reference, &record).await?;
    Ok((id, result, suppliers))
}
