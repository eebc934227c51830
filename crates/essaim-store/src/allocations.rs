//! Allocation runs: one row per solver run, with its micro-lots and shortfalls.

use essaim_core::{MicroLot, Shortfall, TenderRef};
use serde_json::json;

use crate::events::tender_stream;
use crate::store::now;
use crate::{Store, StoreError};

/// One allocation (a solver run) as recorded: what the solver said, as it said it.
#[derive(Debug, Clone, PartialEq)]
pub struct AllocationRecord {
    /// `optimal`, `feasible`… (the solver's word; the store does not interpret it).
    pub status: String,
    pub objective: f64,
    /// Relative optimality gap when the run stopped on a time limit.
    pub gap: Option<f64>,
    /// `MicroLot::supplier` is the supplier's SIRET.
    pub lots: Vec<MicroLot>,
    pub shortfall: Vec<Shortfall>,
}

#[derive(sqlx::FromRow)]
struct AllocationRow {
    id: i64,
    status: String,
    objective: f64,
    gap: Option<f64>,
}

#[derive(sqlx::FromRow)]
struct LotRow {
    line_id: String,
    supplier_siret: String,
    quantity: f64,
    distance_km: f64,
    position: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ShortfallRow {
    line_id: String,
    quantity: f64,
    reason: String,
    position: Option<i64>,
}

impl Store {
    /// Records an allocation of a registered tender and an `allocation_recorded` event on the
    /// tender's stream; returns the allocation's id. Every lot must name a line of the tender and a
    /// supplier of the directory (by SIRET), every shortfall a line of the tender.
    #[tracing::instrument(skip(self, record), fields(reference = %reference, lots = record.lots.len()))]
    pub async fn record_allocation(&self, reference: &TenderRef, record: &AllocationRecord) -> Result<i64, StoreError> {
        let at = now();
        let tender_ref = reference.as_str();
        let id = in_transaction!(self, |tx| {
            let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenders WHERE reference = $1")
                .bind(tender_ref)
                .fetch_one(&mut *tx)
                .await?;
            if known == 0 {
                return Err(StoreError::UnknownTender { reference: tender_ref.to_owned() });
            }
            let lines: Vec<String> = sqlx::query_scalar("SELECT line_id FROM tender_lines WHERE tender_ref = $1")
                .bind(tender_ref)
                .fetch_all(&mut *tx)
                .await?;
            let check_line = |line: &str| {
                if lines.iter().any(|l| l == line) {
                    Ok(())
                } else {
                    Err(StoreError::UnknownLine { reference: tender_ref.to_owned(), line: line.to_owned() })
                }
            };
            for lot in &record.lots {
                check_line(&lot.line)?;
                let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM suppliers WHERE siret = $1")
                    .bind(&lot.supplier)
                    .fetch_one(&mut *tx)
                    .await?;
                if known == 0 {
                    return Err(StoreError::UnknownSupplier { siret: lot.supplier.clone() });
                }
            }
            for shortfall in &record.shortfall {
                check_line(&shortfall.line)?;
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO allocations (tender_ref, status, objective, gap, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(tender_ref)
            .bind(&record.status)
            .bind(record.objective)
            .bind(record.gap)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            for lot in &record.lots {
                sqlx::query(
                    "INSERT INTO micro_lots (allocation_id, line_id, supplier_siret, quantity, \
                     distance_km) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(&lot.line)
                .bind(&lot.supplier)
                .bind(lot.quantity)
                .bind(lot.distance_km)
                .execute(&mut *tx)
                .await?;
            }
            for shortfall in &record.shortfall {
                sqlx::query(
                    "INSERT INTO shortfalls (allocation_id, line_id, quantity, reason) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(&shortfall.line)
                .bind(shortfall.quantity)
                .bind(&shortfall.reason)
                .execute(&mut *tx)
                .await?;
            }
            let payload = json!({
                "allocation": id,
                "status": record.status,
                "objective": record.objective,
                "gap": record.gap,
                "lots": record.lots.len(),
                "shortfall": record.shortfall.iter().map(|s| s.quantity).sum::<f64>(),
            });
            insert_event!(&mut *tx, tender_stream(reference), "allocation_recorded", payload);
            id
        });
        Ok(id)
    }

    /// The most recent allocation of a tender with its id, or `None` when none was recorded. Lots
    /// come in the order of the tender's lines, then by supplier SIRET; shortfalls by line.
    #[tracing::instrument(skip(self), fields(reference = %reference))]
    pub async fn latest_allocation(
        &self,
        reference: &TenderRef,
    ) -> Result<Option<(i64, AllocationRecord)>, StoreError> {
        let tender_ref = reference.as_str();
        let found = with_pool!(self, |pool| {
            let row: Option<AllocationRow> = sqlx::query_as(
                "SELECT id, status, objective, gap FROM allocations \
                 WHERE tender_ref = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(tender_ref)
            .fetch_optional(pool)
            .await?;
            match row {
                None => None,
                Some(row) => {
                    let lots: Vec<LotRow> = sqlx::query_as(
                        "SELECT m.line_id, m.supplier_siret, m.quantity, m.distance_km, l.position \
                         FROM micro_lots m LEFT JOIN tender_lines l \
                         ON l.tender_ref = $2 AND l.line_id = m.line_id \
                         WHERE m.allocation_id = $1",
                    )
                    .bind(row.id)
                    .bind(tender_ref)
                    .fetch_all(pool)
                    .await?;
                    let shortfalls: Vec<ShortfallRow> = sqlx::query_as(
                        "SELECT s.line_id, s.quantity, s.reason, l.position \
                         FROM shortfalls s LEFT JOIN tender_lines l \
                         ON l.tender_ref = $2 AND l.line_id = s.line_id \
                         WHERE s.allocation_id = $1",
                    )
                    .bind(row.id)
                    .bind(tender_ref)
                    .fetch_all(pool)
                    .await?;
                    Some((row, lots, shortfalls))
                }
            }
        });
        let Some((row, mut lots, mut shortfalls)) = found else {
            return Ok(None);
        };
        // Sorted here rather than in SQL so that both backends agree (NULL placement and text
        // collation differ between SQLite and PostgreSQL). Lines no longer in the tender go last.
        lots.sort_by(|a, b| {
            line_order(a.position, &a.line_id)
                .cmp(&line_order(b.position, &b.line_id))
                .then_with(|| a.supplier_siret.cmp(&b.supplier_siret))
        });
        shortfalls.sort_by(|a, b| line_order(a.position, &a.line_id).cmp(&line_order(b.position, &b.line_id)));
        Ok(Some((
            row.id,
            AllocationRecord {
                status: row.status,
                objective: row.objective,
                gap: row.gap,
                lots: lots
                    .into_iter()
                    .map(|l| MicroLot {
                        line: l.line_id,
                        supplier: l.supplier_siret,
                        quantity: l.quantity,
                        distance_km: l.distance_km,
                        fixed: false,
                    })
                    .collect(),
                shortfall: shortfalls
                    .into_iter()
                    .map(|s| Shortfall { line: s.line_id, quantity: s.quantity, reason: s.reason, causes: Vec::new() })
                    .collect(),
            },
        )))
    }
}

fn line_order(position: Option<i64>, line: &str) -> (bool, i64, &str) {
    (position.is_none(), position.unwrap_or(0), line)
}
