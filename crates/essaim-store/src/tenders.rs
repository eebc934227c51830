//! Tenders and their lines, kept in the order the buyer wrote them.

use chrono::{DateTime, FixedOffset, NaiveDate};
use essaim_core::{Buyer, DomainError, GeoPoint, GroupementCode, Sector, Siret, Tender, TenderLine, TenderRef, Window};
use serde_json::json;

use crate::events::tender_stream;
use crate::store::now;
use crate::{Store, StoreError};

/// A tender as listed (without its lines).
#[derive(Debug, Clone, PartialEq)]
pub struct TenderSummary {
    pub reference: TenderRef,
    pub title: String,
    pub buyer_name: String,
    pub buyer_siret: Option<Siret>,
    pub deadline: Option<DateTime<FixedOffset>>,
    pub groupement: Option<GroupementCode>,
    /// How many lines the tender has.
    pub lines: usize,
}

#[derive(sqlx::FromRow)]
struct TenderRow {
    reference: String,
    title: String,
    buyer_name: String,
    buyer_siret: Option<String>,
    deadline: Option<String>,
    groupement: Option<String>,
    groupement_kind: Option<String>,
    buyer_kind: Option<String>,
    buyer_oeth_contribution: Option<f64>,
    buyer_direct_employment_rate: Option<f64>,
    mandataire_solidaire: bool,
    buyer_email: Option<String>,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    reference: String,
    title: String,
    buyer_name: String,
    buyer_siret: Option<String>,
    deadline: Option<String>,
    groupement: Option<String>,
    lines: i64,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    line_id: String,
    title: Option<String>,
    sector: String,
    quantity: f64,
    unit: String,
    site_lat: f64,
    site_lon: f64,
    max_share: f64,
    unit_price: Option<f64>,
    window_start: Option<NaiveDate>,
    window_end: Option<NaiveDate>,
    participation: String,
    reserved: Option<String>,
    insertion_hours_min: Option<f64>,
    cpv: Option<String>,
    vat_rate: Option<f64>,
    address: Option<String>,
}

/// Whether a write may overwrite a tender already registered under the same reference.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Overwrite {
    Refuse,
    Replace,
}

impl Store {
    /// Registers a new tender with its lines (in their order) and a `tender_imported` event on the
    /// tender's stream. Refuses with [`StoreError::TenderExists`] when the reference is already
    /// registered: nothing is overwritten silently (see [`Store::replace_tender`]).
    #[tracing::instrument(skip(self, tender), fields(reference = %tender.reference))]
    pub async fn insert_tender(&self, tender: &Tender) -> Result<(), StoreError> {
        self.write_tender(tender, Overwrite::Refuse).await.map(|_| ())
    }

    /// Registers a tender, replacing the one with the same reference if any (its record and lines;
    /// past allocations stay). Returns whether a tender was replaced; records `tender_replaced` or
    /// `tender_imported`.
    #[tracing::instrument(skip(self, tender), fields(reference = %tender.reference))]
    pub async fn replace_tender(&self, tender: &Tender) -> Result<bool, StoreError> {
        self.write_tender(tender, Overwrite::Replace).await
    }

    async fn write_tender(&self, tender: &Tender, overwrite: Overwrite) -> Result<bool, StoreError> {
        let reference = tender.reference.as_str();
        let deadline = tender.deadline.map(|d| d.to_rfc3339());
        let groupement_kind = tender.groupement_kind.map(essaim_core::GroupementKind::as_str);
        let at = now();
        let exists_error = || StoreError::TenderExists { reference: reference.to_owned() };
        let replaced = in_transaction!(self, |tx| {
            let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenders WHERE reference = $1")
                .bind(reference)
                .fetch_one(&mut *tx)
                .await?;
            let exists = known > 0;
            if exists && overwrite == Overwrite::Refuse {
                return Err(exists_error());
            }
            if let Some(code) = &tender.groupement {
                let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM groupements WHERE code = $1")
                    .bind(code.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
                if known == 0 {
                    return Err(StoreError::UnknownGroupement { code: code.to_string() });
                }
            }
            if exists {
                sqlx::query(
                    "UPDATE tenders SET title = $2, buyer_name = $3, buyer_siret = $4, \
                     deadline = $5, groupement = $6, updated_at = $7, groupement_kind = $8, buyer_kind = $9, \
                     buyer_oeth_contribution = $10, buyer_direct_employment_rate = $11, \
                     mandataire_solidaire = $12, buyer_email = $13 WHERE reference = $1",
                )
                .bind(reference)
                .bind(&tender.title)
                .bind(&tender.buyer.name)
                .bind(tender.buyer.siret.as_ref().map(Siret::as_str))
                .bind(deadline.as_deref())
                .bind(tender.groupement.as_ref().map(GroupementCode::as_str))
                .bind(at)
                .bind(groupement_kind)
                .bind(tender.buyer.kind.map(essaim_core::BuyerKind::as_str))
                .bind(tender.buyer.oeth_contribution)
                .bind(tender.buyer.direct_employment_rate)
                .bind(tender.mandataire_solidaire)
                .bind(tender.buyer.email.as_deref())
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM tender_lines WHERE tender_ref = $1").bind(reference).execute(&mut *tx).await?;
            } else {
                sqlx::query(
                    "INSERT INTO tenders (reference, title, buyer_name, buyer_siret, deadline, \
                     groupement, created_at, updated_at, groupement_kind, buyer_kind, buyer_oeth_contribution, \
                     buyer_direct_employment_rate, mandataire_solidaire, buyer_email) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(reference)
                .bind(&tender.title)
                .bind(&tender.buyer.name)
                .bind(tender.buyer.siret.as_ref().map(Siret::as_str))
                .bind(deadline.as_deref())
                .bind(tender.groupement.as_ref().map(GroupementCode::as_str))
                .bind(at)
                .bind(groupement_kind)
                .bind(tender.buyer.kind.map(essaim_core::BuyerKind::as_str))
                .bind(tender.buyer.oeth_contribution)
                .bind(tender.buyer.direct_employment_rate)
                .bind(tender.mandataire_solidaire)
                .bind(tender.buyer.email.as_deref())
                .execute(&mut *tx)
                .await
                .map_err(|e| match e {
                    // Another writer registered it between our check and our insert.
                    sqlx::Error::Database(d) if d.is_unique_violation() => exists_error(),
                    other => StoreError::Database(other),
                })?;
            }
            for (position, line) in tender.lines.iter().enumerate() {
                let position = i64::try_from(position).unwrap_or(i64::MAX);
                sqlx::query(
                    "INSERT INTO tender_lines (tender_ref, line_id, position, title, sector, \
                     quantity, unit, site_lat, site_lon, max_share, unit_price, window_start, \
                     window_end, participation, reserved, insertion_hours_min, cpv, vat_rate, address) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
                )
                .bind(reference)
                .bind(&line.id)
                .bind(position)
                .bind(line.title.as_deref())
                .bind(line.sector.as_str())
                .bind(line.quantity)
                .bind(&line.unit)
                .bind(line.site.lat)
                .bind(line.site.lon)
                .bind(line.max_share)
                .bind(line.unit_price)
                .bind(line.window.map(|w| w.start))
                .bind(line.window.map(|w| w.end))
                .bind(line.participation.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(","))
                .bind(line.reserved.map(essaim_core::Reservation::as_str))
                .bind(line.insertion_hours_min)
                .bind(line.cpv.as_ref().map(essaim_core::Cpv::as_str))
                .bind(line.vat_rate)
                .bind(line.address.as_deref())
                .execute(&mut *tx)
                .await?;
            }
            let kind = if exists { "tender_replaced" } else { "tender_imported" };
            let payload = json!({
                "reference": reference,
                "title": tender.title,
                "lines": tender.lines.len(),
            });
            insert_event!(&mut *tx, tender_stream(&tender.reference), kind, payload);
            exists
        });
        Ok(replaced)
    }

    /// One tender with its lines in their original order, or `None` when the reference is unknown.
    #[tracing::instrument(skip(self), fields(reference = %reference))]
    pub async fn tender(&self, reference: &TenderRef) -> Result<Option<Tender>, StoreError> {
        let (row, line_rows) = with_pool!(self, |pool| {
            let row: Option<TenderRow> = sqlx::query_as(
                "SELECT reference, title, buyer_name, buyer_siret, deadline, groupement, groupement_kind, \
                 buyer_kind, buyer_oeth_contribution, buyer_direct_employment_rate, mandataire_solidaire, \
                 buyer_email FROM tenders WHERE reference = $1",
            )
            .bind(reference.as_str())
            .fetch_optional(pool)
            .await?;
            let lines: Vec<LineRow> = sqlx::query_as(
                "SELECT line_id, title, sector, quantity, unit, site_lat, site_lon, max_share, \
                 unit_price, window_start, window_end, participation, reserved, insertion_hours_min, cpv, \
                 vat_rate, address FROM tender_lines \
                 WHERE tender_ref = $1 ORDER BY position",
            )
            .bind(reference.as_str())
            .fetch_all(pool)
            .await?;
            (row, lines)
        });
        let Some(row) = row else {
            return Ok(None);
        };
        let what = |e: DomainError| StoreError::corrupt(format!("tender row (reference {}): {e}", row.reference));
        let buyer_siret =
            row.buyer_siret.as_deref().map(|s| Siret::parse_field("buyer_siret", s)).transpose().map_err(what)?;
        let lines =
            line_rows.into_iter().map(|line| line_from_row(&row.reference, line)).collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Tender {
            reference: TenderRef::parse("reference", &row.reference).map_err(what)?,
            deadline: parse_deadline(&row.reference, row.deadline.as_deref())?,
            groupement: parse_groupement(&row.reference, row.groupement.as_deref())?,
            groupement_kind: match row.groupement_kind.as_deref() {
                None => None,
                Some(k) => Some(essaim_core::GroupementKind::parse(k).ok_or_else(|| {
                    StoreError::corrupt(format!("tender row (reference {}): groupement_kind « {k} »", row.reference))
                })?),
            },
            title: row.title,
            buyer: Buyer {
                name: row.buyer_name,
                siret: buyer_siret,
                kind: match row.buyer_kind.as_deref() {
                    None => None,
                    Some(k) => Some(essaim_core::BuyerKind::parse(k).ok_or_else(|| {
                        StoreError::corrupt(format!("tender row (reference {}): buyer_kind « {k} »", row.reference))
                    })?),
                },
                oeth_contribution: row.buyer_oeth_contribution,
                direct_employment_rate: row.buyer_direct_employment_rate,
                email: row.buyer_email,
            },
            mandataire_solidaire: row.mandataire_solidaire,
            lines,
        }))
    }

    /// Every tender, without lines, ordered by reference.
    #[tracing::instrument(skip(self))]
    pub async fn tenders(&self) -> Result<Vec<TenderSummary>, StoreError> {
        let rows: Vec<SummaryRow> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT t.reference, t.title, t.buyer_name, t.buyer_siret, t.deadline, t.groupement, \
                 (SELECT COUNT(*) FROM tender_lines l WHERE l.tender_ref = t.reference) AS lines \
                 FROM tenders t",
            )
            .fetch_all(pool)
            .await?
        });
        let mut tenders =
            rows.into_iter()
                .map(|row| {
                    Ok(TenderSummary {
                        reference: TenderRef::parse("reference", &row.reference).map_err(|e| {
                            StoreError::corrupt(format!("tender row (reference {}): {e}", row.reference))
                        })?,
                        deadline: parse_deadline(&row.reference, row.deadline.as_deref())?,
                        groupement: parse_groupement(&row.reference, row.groupement.as_deref())?,
                        lines: usize::try_from(row.lines).unwrap_or(0),
                        buyer_siret: row.buyer_siret.as_deref().map(Siret::parse).transpose().map_err(|e| {
                            StoreError::corrupt(format!("tender row (reference {}): {e}", row.reference))
                        })?,
                        title: row.title,
                        buyer_name: row.buyer_name,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
        tenders.sort_by(|a, b| a.reference.cmp(&b.reference));
        Ok(tenders)
    }
}

fn parse_deadline(reference: &str, deadline: Option<&str>) -> Result<Option<DateTime<FixedOffset>>, StoreError> {
    deadline
        .map(|d| {
            DateTime::parse_from_rfc3339(d).map_err(|e| {
                StoreError::corrupt(format!(
                    "tender row (reference {reference}): deadline « {d} » is not RFC 3339: {e}"
                ))
            })
        })
        .transpose()
}

fn parse_groupement(reference: &str, code: Option<&str>) -> Result<Option<GroupementCode>, StoreError> {
    code.map(|c| GroupementCode::parse("groupement", c))
        .transpose()
        .map_err(|e| StoreError::corrupt(format!("tender row (reference {reference}): {e}")))
}

fn line_from_row(reference: &str, row: LineRow) -> Result<TenderLine, StoreError> {
    let what = |e: DomainError| {
        StoreError::corrupt(format!("tender line row (tender {reference}, line {}): {e}", row.line_id))
    };
    let sector = Sector::parse("sector", &row.sector).map_err(what)?;
    let site = GeoPoint::checked("site_lat", row.site_lat, "site_lon", row.site_lon).map_err(what)?;
    let window = match (row.window_start, row.window_end) {
        (Some(start), Some(end)) => Some(Window { start, end }),
        (None, None) => None,
        _ => {
            return Err(StoreError::corrupt(format!(
                "tender line row (tender {reference}, line {}): window has a start or an end but not both",
                row.line_id
            )));
        }
    };
    let participation = row
        .participation
        .split(',')
        .filter(|m| !m.trim().is_empty())
        .map(|m| essaim_core::ParticipationMode::parse_field("participation", m))
        .collect::<Result<Vec<_>, _>>()
        .map_err(what)?;
    if participation.is_empty() {
        return Err(StoreError::corrupt(format!(
            "tender line row (tender {reference}, line {}): no participation mode",
            row.line_id
        )));
    }
    let reserved = row
        .reserved
        .as_deref()
        .map(|r| essaim_core::Reservation::parse_field("reserved", r))
        .transpose()
        .map_err(what)?;
    let cpv = row.cpv.as_deref().map(|c| essaim_core::Cpv::parse("cpv", c)).transpose().map_err(what)?;
    Ok(TenderLine {
        id: row.line_id,
        title: row.title,
        sector,
        quantity: row.quantity,
        unit: row.unit,
        site,
        max_share: row.max_share,
        unit_price: row.unit_price,
        window,
        participation,
        reserved,
        insertion_hours_min: row.insertion_hours_min,
        cpv,
        vat_rate: row.vat_rate,
        address: row.address,
    })
}
