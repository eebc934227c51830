//! What structures hold across tenders: the `holdings` projection of every campaign (open and accepted
//! offers, with the line's sector and period), read by the next allocation so that two tenders never book
//! the same hours, and by a structure's `/mes_lots` and `/capacite`.
//!
//! The projection is written by [`Store::apply`] in the same transaction as the campaign's events (see
//! [`crate::CampaignAppend::holdings`]); `essaim migrate` rebuilds it for campaigns recorded before it
//! existed. Deciding what counts against a capacity (which periods overlap) is the caller's business.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use essaim_core::{Holding, HoldingState, Sector, Siret, TenderRef, Window};

use crate::{Store, StoreError};

/// What an allocation of one tender needs to know about the others, read from one snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CapacityContext {
    /// Holdings on every other tender.
    pub holdings: Vec<Holding>,
    /// Each supplier's booking version (SIRET → version), to give back in
    /// [`crate::CampaignAppend::bookings`] for the suppliers a decision offers new hours to.
    pub booking_versions: HashMap<String, i64>,
}

#[derive(sqlx::FromRow)]
struct HoldingRow {
    tender_ref: String,
    offer_id: i64,
    line_id: String,
    supplier_siret: String,
    sector: String,
    quantity: f64,
    state: String,
    window_start: Option<NaiveDate>,
    window_end: Option<NaiveDate>,
    since: DateTime<Utc>,
}

/// The columns of a [`HoldingRow`], as a literal for `concat!` (sqlx takes static SQL only).
macro_rules! holding_columns {
    () => {
        "tender_ref, offer_id, line_id, supplier_siret, sector, quantity, state, window_start, window_end, since"
    };
}

fn holding_from_row(row: HoldingRow) -> Result<Holding, StoreError> {
    let what = |e: String| {
        StoreError::corrupt(format!("holding row (tender {}, offer {}): {e}", row.tender_ref, row.offer_id))
    };
    let window = match (row.window_start, row.window_end) {
        (Some(start), Some(end)) => Some(Window { start, end }),
        (None, None) => None,
        _ => return Err(what("window has a start or an end but not both".into())),
    };
    Ok(Holding {
        tender: TenderRef::parse("tender_ref", &row.tender_ref).map_err(|e| what(e.to_string()))?,
        offer: u32::try_from(row.offer_id).map_err(|e| what(e.to_string()))?,
        sector: Sector::parse("sector", &row.sector).map_err(|e| what(e.to_string()))?,
        state: HoldingState::parse(&row.state).ok_or_else(|| what(format!("state « {} »", row.state)))?,
        line: row.line_id,
        supplier: row.supplier_siret,
        quantity: row.quantity,
        window,
        since: row.since,
    })
}

/// Replaces the holdings of one tender inside the caller's transaction `$tx`.
macro_rules! replace_holdings {
    ($tx:expr, $tender:expr, $holdings:expr) => {{
        sqlx::query("DELETE FROM holdings WHERE tender_ref = $1").bind($tender).execute(&mut *$tx).await?;
        for h in $holdings {
            sqlx::query(
                "INSERT INTO holdings (tender_ref, offer_id, line_id, supplier_siret, sector, quantity, state, \
                 window_start, window_end, since) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind($tender)
            .bind(i64::from(h.offer))
            .bind(&h.line)
            .bind(&h.supplier)
            .bind(h.sector.as_str())
            .bind(h.quantity)
            .bind(h.state.as_str())
            .bind(h.window.map(|w| w.start))
            .bind(h.window.map(|w| w.end))
            .bind(h.since)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}
pub(crate) use replace_holdings;

impl Store {
    /// The holdings on every tender but `tender`, and every supplier's booking version, from one snapshot.
    #[tracing::instrument(skip(self), fields(tender = %tender))]
    pub async fn capacity_context(&self, tender: &TenderRef) -> Result<CapacityContext, StoreError> {
        let (rows, versions) = in_snapshot!(self, |tx| {
            let rows: Vec<HoldingRow> =
                sqlx::query_as(concat!("SELECT ", holding_columns!(), " FROM holdings WHERE tender_ref <> $1"))
                    .bind(tender.as_str())
                    .fetch_all(&mut *tx)
                    .await?;
            let versions: Vec<(String, i64)> =
                sqlx::query_as("SELECT siret, booking_version FROM suppliers").fetch_all(&mut *tx).await?;
            (rows, versions)
        });
        Ok(CapacityContext {
            holdings: rows.into_iter().map(holding_from_row).collect::<Result<_, _>>()?,
            booking_versions: versions.into_iter().collect(),
        })
    }

    /// Everything one structure holds, on every tender, oldest first.
    #[tracing::instrument(skip(self), fields(siret = %siret))]
    pub async fn holdings_of_supplier(&self, siret: &Siret) -> Result<Vec<Holding>, StoreError> {
        let rows: Vec<HoldingRow> = with_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                holding_columns!(),
                " FROM holdings WHERE supplier_siret = $1 ORDER BY since, tender_ref, offer_id"
            ))
            .bind(siret.as_str())
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(holding_from_row).collect()
    }

    /// Rebuilds the holdings of every campaign whose projection lags behind its events (campaigns recorded
    /// before the projection existed). Returns how many were rebuilt. A campaign that moves meanwhile is
    /// left for the next run (its own append rewrites its holdings anyway).
    #[tracing::instrument(skip(self))]
    pub async fn rebuild_stale_holdings(&self) -> Result<usize, StoreError> {
        let stale: Vec<(String, i64)> = with_pool!(self, |pool| {
            sqlx::query_as("SELECT tender_ref, version FROM campaigns WHERE holdings_version <> version")
                .fetch_all(pool)
                .await?
        });
        let mut rebuilt = 0;
        for (reference, _) in stale {
            let reference = TenderRef::parse("tender_ref", &reference)
                .map_err(|e| StoreError::corrupt(format!("campaign row (tender {reference}): {e}")))?;
            let Some(tender) = self.tender(&reference).await? else { continue };
            let (version, campaign) = self.campaign(&reference).await?;
            let holdings = campaign.map(|c| c.holdings(&tender)).unwrap_or_default();
            let reference = reference.as_str();
            let moved = in_transaction!(self, |tx| {
                let updated = sqlx::query(
                    "UPDATE campaigns SET holdings_version = version WHERE tender_ref = $1 AND version = $2",
                )
                .bind(reference)
                .bind(version)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 1 {
                    replace_holdings!(tx, reference, &holdings);
                }
                updated
            });
            rebuilt += usize::try_from(moved).unwrap_or(0);
        }
        if rebuilt > 0 {
            tracing::info!(rebuilt, "campaign holdings rebuilt from their events");
        }
        Ok(rebuilt)
    }
}
