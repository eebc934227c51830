//! Allocating a stored tender: who may answer, the solver input, and recording the result.

use anyhow::{Context, Result};
use essaim_core::{Supplier, Tender};
use essaim_solver::{AllocationInput, AllocationResult, LineInput, Site, SupplierInput};
use essaim_store::{AllocationRecord, Store};

use crate::BadInput;
use crate::config::Config;

/// The suppliers that may answer a tender: its groupement's members, or every supplier in the directory.
pub async fn eligible_suppliers(store: &Store, tender: &Tender) -> Result<Vec<Supplier>> {
    let all = store.suppliers().await?;
    match &tender.groupement {
        None => Ok(all),
        Some(code) => {
            let groupement = store.groupement(code).await?.ok_or_else(|| {
                BadInput(format!("tender {}: unknown groupement {code}; import its members first", tender.reference))
            })?;
            Ok(all.into_iter().filter(|s| groupement.members.contains(&s.siret)).collect())
        }
    }
}

/// The solver input for a tender (suppliers are identified by SIRET).
pub fn solver_input(tender: &Tender, suppliers: &[Supplier], config: &Config) -> AllocationInput {
    AllocationInput {
        lines: tender
            .lines
            .iter()
            .map(|l| LineInput {
                id: l.id.clone(),
                sector: l.sector.to_string(),
                quantity: l.quantity,
                unit: Some(l.unit.clone()),
                site: Site { lat: l.site.lat, lon: l.site.lon },
                max_share: Some(l.max_share),
                title: None,
                unit_price: None,
                window: None,
            })
            .collect(),
        suppliers: suppliers
            .iter()
            .map(|s| SupplierInput {
                id: s.siret.to_string(),
                name: Some(s.name.clone()),
                kind: Some(s.kind.to_string()),
                location: Site { lat: s.location.lat, lon: s.location.lon },
                max_distance_km: s.max_distance_km,
                min_lot: s.min_lot,
                capacity: s.capacities.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            })
            .collect(),
        weights: Some(config.weights()),
        fixed: Vec::new(),
        excluded: Vec::new(),
    }
}

/// Solves a stored tender and records the allocation (with its event) in the store.
pub async fn allocate_tender(
    store: &Store,
    tender: &Tender,
    config: &Config,
) -> Result<(i64, AllocationResult, Vec<Supplier>)> {
    let suppliers = eligible_suppliers(store, tender).await?;
    let input = solver_input(tender, &suppliers, config);
    let settings = config.solve_settings();
    let result = tokio::task::spawn_blocking(move || essaim_solver::allocate(&input, &settings))
        .await
        .context("the solver task stopped")?
        .map_err(|e| BadInput(format!("tender {}: {e}", tender.reference)))?;
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
