//! The directory of inclusive structures (SIAE, GEIQ, ESAT, EA, EATT, TIH): suppliers with their per-sector capacities, and groupements.

use std::collections::BTreeMap;

use essaim_core::{Capacities, Contact, GeoPoint, Groupement, GroupementCode, Sector, Siret, Supplier, SupplierKind};
use serde_json::json;

use crate::events::DIRECTORY_STREAM;
use crate::store::now;
use crate::{Store, StoreError};

/// What an import changed. Counting is by SIRET (suppliers) and by code (groupements): importing
/// the same directory twice gives `updated`, never duplicates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Suppliers that were not in the directory.
    pub inserted: usize,
    /// Suppliers already there, whose record and capacities were replaced.
    pub updated: usize,
    pub groupements_inserted: usize,
    pub groupements_updated: usize,
}

#[derive(sqlx::FromRow)]
struct SupplierRow {
    siret: String,
    name: String,
    kind: String,
    lat: f64,
    lon: f64,
    commune: Option<String>,
    max_distance_km: f64,
    min_lot: f64,
    insertion_rate: Option<f64>,
    contact_name: Option<String>,
    contact_email: Option<String>,
    contact_phone: Option<String>,
    address: Option<String>,
}

#[derive(sqlx::FromRow)]
struct PriceRow {
    siret: String,
    sector: String,
    unit_price: f64,
}

#[derive(sqlx::FromRow)]
struct CapacityRow {
    siret: String,
    sector: String,
    quantity: f64,
}

/// A structure whose capacity is unknown: imported from an export that does not know capacities (Le Marché,
/// data·inclusion, FINESS), and that has not said them all since (docs/import.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCapacity {
    pub siret: Siret,
    pub name: String,
    /// The sectors its source listed that it has given no capacity for yet (empty when its source listed
    /// none, or none that maps to a sector: then it has given no capacity at all).
    pub sectors: Vec<Sector>,
}

#[derive(sqlx::FromRow)]
struct UnknownRow {
    siret: String,
    name: String,
}

#[derive(sqlx::FromRow)]
struct SectorRow {
    siret: String,
    sector: String,
}

#[derive(sqlx::FromRow)]
struct GroupementRow {
    code: String,
    name: String,
    lead_siret: String,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    code: String,
    siret: String,
}

/// `SELECT … FROM suppliers` followed by a clause, as one `&'static str`.
macro_rules! select_suppliers {
    ($clause:literal) => {
        concat!(
            "SELECT siret, name, kind, lat, lon, commune, max_distance_km, min_lot, insertion_rate, ",
            "contact_name, contact_email, contact_phone, address FROM suppliers ",
            $clause
        )
    };
}

const UPSERT_SUPPLIER: &str = "INSERT INTO suppliers (siret, name, kind, lat, lon, commune, \
    max_distance_km, min_lot, insertion_rate, contact_name, contact_email, contact_phone, \
    created_at, updated_at, address, capacity_unknown) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15) \
    ON CONFLICT (siret) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
    lat = excluded.lat, lon = excluded.lon, commune = excluded.commune, \
    max_distance_km = excluded.max_distance_km, min_lot = excluded.min_lot, \
    insertion_rate = excluded.insertion_rate, contact_name = excluded.contact_name, \
    contact_email = excluded.contact_email, contact_phone = excluded.contact_phone, \
    updated_at = excluded.updated_at, address = excluded.address";

const UPSERT_GROUPEMENT: &str = "INSERT INTO groupements (code, name, lead_siret, created_at, \
    updated_at) VALUES ($1, $2, $3, $4, $4) \
    ON CONFLICT (code) DO UPDATE SET name = excluded.name, lead_siret = excluded.lead_siret, \
    updated_at = excluded.updated_at";

impl Store {
    /// Imports suppliers and groupements in one transaction: suppliers are upserted by SIRET (their
    /// capacities replaced by the imported ones), then groupements by code (their members replaced).
    /// Every member and lead must be in the directory once the suppliers are in; otherwise nothing
    /// at all is written ([`StoreError::UnknownSupplier`]). Records a `directory_imported` event.
    #[tracing::instrument(skip(self, suppliers, groupements), fields(suppliers = suppliers.len(), groupements = groupements.len()))]
    pub async fn import_directory(
        &self,
        suppliers: &[Supplier],
        groupements: &[Groupement],
    ) -> Result<ImportSummary, StoreError> {
        self.import(suppliers, None, groupements).await
    }

    /// Imports structures read from an export that does not know capacities, each with the sectors its
    /// source listed, in one transaction: as [`Store::import_directory`] (no groupement), and the listed
    /// sectors replace those of a previous import. A structure that was not in the directory starts with its
    /// capacity unknown (not zero) until it gives one for each listed sector ([`Store::unknown_capacities`]);
    /// one already there keeps what it was.
    #[tracing::instrument(skip(self, structures), fields(structures = structures.len()))]
    pub async fn import_structures(&self, structures: &[(Supplier, Vec<Sector>)]) -> Result<ImportSummary, StoreError> {
        let (suppliers, listed): (Vec<Supplier>, Vec<Vec<Sector>>) = structures.iter().cloned().unzip();
        self.import(&suppliers, Some(&listed), &[]).await
    }

    /// `listed`: for each supplier (same order), the sectors an export listed, when it comes from one.
    async fn import(
        &self,
        suppliers: &[Supplier],
        listed: Option<&[Vec<Sector>]>,
        groupements: &[Groupement],
    ) -> Result<ImportSummary, StoreError> {
        let at = now();
        let mut summary = ImportSummary::default();
        in_transaction!(self, |tx| {
            for (index, supplier) in suppliers.iter().enumerate() {
                let siret = supplier.siret.as_str();
                let exported = listed.and_then(|l| l.get(index));
                let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM suppliers WHERE siret = $1")
                    .bind(siret)
                    .fetch_one(&mut *tx)
                    .await?;
                if known > 0 {
                    summary.updated += 1;
                } else {
                    summary.inserted += 1;
                }
                sqlx::query(UPSERT_SUPPLIER)
                    .bind(siret)
                    .bind(&supplier.name)
                    .bind(supplier.kind.code())
                    .bind(supplier.location.lat)
                    .bind(supplier.location.lon)
                    .bind(supplier.commune.as_deref())
                    .bind(supplier.max_distance_km)
                    .bind(supplier.min_lot)
                    .bind(supplier.insertion_rate)
                    .bind(supplier.contact.name.as_deref())
                    .bind(supplier.contact.email.as_deref())
                    .bind(supplier.contact.phone.as_deref())
                    .bind(at)
                    .bind(supplier.address.as_deref())
                    // A new structure from an export: unknown; the conflict clause leaves a known one's as it was.
                    .bind(exported.is_some())
                    .execute(&mut *tx)
                    .await?;
                match exported {
                    Some(sectors) => {
                        if known > 0 {
                            sqlx::query("DELETE FROM supplier_sectors WHERE siret = $1")
                                .bind(siret)
                                .execute(&mut *tx)
                                .await?;
                        }
                        for sector in sectors.iter().collect::<std::collections::BTreeSet<_>>() {
                            sqlx::query("INSERT INTO supplier_sectors (siret, sector) VALUES ($1, $2)")
                                .bind(siret)
                                .bind(sector.as_str())
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    // The directory's own CSV states capacities (its column is required): they are known.
                    None if known > 0 => {
                        sqlx::query("UPDATE suppliers SET capacity_unknown = $1 WHERE siret = $2")
                            .bind(false)
                            .bind(siret)
                            .execute(&mut *tx)
                            .await?;
                    }
                    None => {}
                }
                if known > 0 {
                    sqlx::query("DELETE FROM supplier_capacities WHERE siret = $1")
                        .bind(siret)
                        .execute(&mut *tx)
                        .await?;
                }
                for (sector, quantity) in &supplier.capacities {
                    sqlx::query("INSERT INTO supplier_capacities (siret, sector, quantity) VALUES ($1, $2, $3)")
                        .bind(siret)
                        .bind(sector.as_str())
                        .bind(*quantity)
                        .execute(&mut *tx)
                        .await?;
                }
                if known > 0 {
                    sqlx::query("DELETE FROM supplier_prices WHERE siret = $1").bind(siret).execute(&mut *tx).await?;
                }
                for (sector, price) in &supplier.prices {
                    sqlx::query("INSERT INTO supplier_prices (siret, sector, unit_price) VALUES ($1, $2, $3)")
                        .bind(siret)
                        .bind(sector.as_str())
                        .bind(*price)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            for groupement in groupements {
                let code = groupement.code.as_str();
                for siret in std::iter::once(&groupement.lead).chain(&groupement.members) {
                    let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM suppliers WHERE siret = $1")
                        .bind(siret.as_str())
                        .fetch_one(&mut *tx)
                        .await?;
                    if known == 0 {
                        return Err(StoreError::UnknownSupplier { siret: siret.to_string() });
                    }
                }
                let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM groupements WHERE code = $1")
                    .bind(code)
                    .fetch_one(&mut *tx)
                    .await?;
                if known > 0 {
                    summary.groupements_updated += 1;
                } else {
                    summary.groupements_inserted += 1;
                }
                sqlx::query(UPSERT_GROUPEMENT)
                    .bind(code)
                    .bind(&groupement.name)
                    .bind(groupement.lead.as_str())
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM groupement_members WHERE code = $1").bind(code).execute(&mut *tx).await?;
                for member in &groupement.members {
                    sqlx::query("INSERT INTO groupement_members (code, siret) VALUES ($1, $2)")
                        .bind(code)
                        .bind(member.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
            }
            let payload = json!({
                "suppliers_inserted": summary.inserted,
                "suppliers_updated": summary.updated,
                "groupements_inserted": summary.groupements_inserted,
                "groupements_updated": summary.groupements_updated,
            });
            insert_event!(&mut *tx, DIRECTORY_STREAM, "directory_imported", payload);
        });
        Ok(summary)
    }

    /// Every supplier, ordered by SIRET, with its capacities.
    #[tracing::instrument(skip(self))]
    pub async fn suppliers(&self) -> Result<Vec<Supplier>, StoreError> {
        let (rows, capacity_rows, price_rows) = with_pool!(self, |pool| {
            let rows: Vec<SupplierRow> = sqlx::query_as(select_suppliers!("ORDER BY siret")).fetch_all(pool).await?;
            let capacity_rows: Vec<CapacityRow> =
                sqlx::query_as("SELECT siret, sector, quantity FROM supplier_capacities").fetch_all(pool).await?;
            let price_rows: Vec<PriceRow> =
                sqlx::query_as("SELECT siret, sector, unit_price FROM supplier_prices").fetch_all(pool).await?;
            (rows, capacity_rows, price_rows)
        });
        let mut capacities: BTreeMap<String, Capacities> = BTreeMap::new();
        for row in capacity_rows {
            let sector = parse_sector(&row.siret, &row.sector)?;
            capacities.entry(row.siret).or_default().insert(sector, row.quantity);
        }
        let mut prices = prices_by_siret(price_rows)?;
        let mut suppliers = rows
            .into_iter()
            .map(|row| {
                let caps = capacities.remove(&row.siret).unwrap_or_default();
                let prices = prices.remove(&row.siret).unwrap_or_default();
                supplier_from_row(row, caps, prices)
            })
            .collect::<Result<Vec<_>, _>>()?;
        suppliers.sort_by(|a, b| a.siret.cmp(&b.siret));
        Ok(suppliers)
    }

    /// One supplier with its capacities, or `None` when the SIRET is not in the directory.
    #[tracing::instrument(skip(self), fields(siret = %siret))]
    pub async fn supplier(&self, siret: &Siret) -> Result<Option<Supplier>, StoreError> {
        let (row, capacity_rows, price_rows) = with_pool!(self, |pool| {
            let row: Option<SupplierRow> =
                sqlx::query_as(select_suppliers!("WHERE siret = $1")).bind(siret.as_str()).fetch_optional(pool).await?;
            let capacity_rows: Vec<CapacityRow> =
                sqlx::query_as("SELECT siret, sector, quantity FROM supplier_capacities WHERE siret = $1")
                    .bind(siret.as_str())
                    .fetch_all(pool)
                    .await?;
            let price_rows: Vec<PriceRow> =
                sqlx::query_as("SELECT siret, sector, unit_price FROM supplier_prices WHERE siret = $1")
                    .bind(siret.as_str())
                    .fetch_all(pool)
                    .await?;
            (row, capacity_rows, price_rows)
        });
        let Some(row) = row else {
            return Ok(None);
        };
        let capacities = capacity_rows
            .iter()
            .map(|c| Ok((parse_sector(&c.siret, &c.sector)?, c.quantity)))
            .collect::<Result<Capacities, StoreError>>()?;
        let prices = prices_by_siret(price_rows)?.remove(siret.as_str()).unwrap_or_default();
        supplier_from_row(row, capacities, prices).map(Some)
    }

    /// Records a supplier's capacity in one sector (a quantity of 0 is recorded, not removed) and a
    /// `capacity_updated` event on the supplier's stream, with the previous value.
    #[tracing::instrument(skip(self), fields(siret = %siret, sector = %sector))]
    pub async fn set_capacity(&self, siret: &Siret, sector: &Sector, quantity: f64) -> Result<(), StoreError> {
        // One code path with the chat's /capacite, which records the same change inside a changeset.
        let change = crate::CapacityChange { supplier: siret.clone(), sector: sector.clone(), quantity };
        self.apply(&crate::Changeset { capacity: Some(change), ..crate::Changeset::default() }).await.map(|_| ())
    }

    /// The structures whose capacity is unknown, ordered by name then SIRET: imported from an export with
    /// no capacity, and since then with no capacity at all or none for a sector their source listed.
    #[tracing::instrument(skip(self))]
    pub async fn unknown_capacities(&self) -> Result<Vec<UnknownCapacity>, StoreError> {
        let (rows, listed, known) = with_pool!(self, |pool| {
            let rows: Vec<UnknownRow> =
                sqlx::query_as("SELECT siret, name FROM suppliers WHERE capacity_unknown = $1 ORDER BY name, siret")
                    .bind(true)
                    .fetch_all(pool)
                    .await?;
            let listed: Vec<SectorRow> = sqlx::query_as(
                "SELECT l.siret, l.sector FROM supplier_sectors l JOIN suppliers s ON s.siret = l.siret \
                 WHERE s.capacity_unknown = $1",
            )
            .bind(true)
            .fetch_all(pool)
            .await?;
            let known: Vec<SectorRow> = sqlx::query_as(
                "SELECT c.siret, c.sector FROM supplier_capacities c JOIN suppliers s ON s.siret = c.siret \
                 WHERE s.capacity_unknown = $1",
            )
            .bind(true)
            .fetch_all(pool)
            .await?;
            (rows, listed, known)
        });
        unknown_from_rows(rows, listed, known)
    }

    /// One structure's unknown capacity ([`Store::unknown_capacities`]), `None` when it is known (or the
    /// SIRET is not in the directory).
    #[tracing::instrument(skip(self), fields(siret = %siret))]
    pub async fn unknown_capacity(&self, siret: &Siret) -> Result<Option<UnknownCapacity>, StoreError> {
        let (rows, listed, known) = with_pool!(self, |pool| {
            let rows: Vec<UnknownRow> =
                sqlx::query_as("SELECT siret, name FROM suppliers WHERE capacity_unknown = $1 AND siret = $2")
                    .bind(true)
                    .bind(siret.as_str())
                    .fetch_all(pool)
                    .await?;
            let listed: Vec<SectorRow> = sqlx::query_as("SELECT siret, sector FROM supplier_sectors WHERE siret = $1")
                .bind(siret.as_str())
                .fetch_all(pool)
                .await?;
            let known: Vec<SectorRow> =
                sqlx::query_as("SELECT siret, sector FROM supplier_capacities WHERE siret = $1")
                    .bind(siret.as_str())
                    .fetch_all(pool)
                    .await?;
            (rows, listed, known)
        });
        Ok(unknown_from_rows(rows, listed, known)?.pop())
    }

    /// Every groupement, ordered by code, members ordered by SIRET.
    #[tracing::instrument(skip(self))]
    pub async fn groupements(&self) -> Result<Vec<Groupement>, StoreError> {
        let (rows, member_rows) = with_pool!(self, |pool| {
            let rows: Vec<GroupementRow> =
                sqlx::query_as("SELECT code, name, lead_siret FROM groupements").fetch_all(pool).await?;
            let members: Vec<MemberRow> =
                sqlx::query_as("SELECT code, siret FROM groupement_members").fetch_all(pool).await?;
            (rows, members)
        });
        let mut members: BTreeMap<String, Vec<MemberRow>> = BTreeMap::new();
        for member in member_rows {
            members.entry(member.code.clone()).or_default().push(member);
        }
        let mut groupements = rows
            .into_iter()
            .map(|row| {
                let rows = members.remove(&row.code).unwrap_or_default();
                groupement_from_rows(row, &rows)
            })
            .collect::<Result<Vec<_>, _>>()?;
        groupements.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(groupements)
    }

    /// One groupement, or `None` when the code is unknown.
    #[tracing::instrument(skip(self), fields(code = %code))]
    pub async fn groupement(&self, code: &GroupementCode) -> Result<Option<Groupement>, StoreError> {
        let (row, member_rows) = with_pool!(self, |pool| {
            let row: Option<GroupementRow> =
                sqlx::query_as("SELECT code, name, lead_siret FROM groupements WHERE code = $1")
                    .bind(code.as_str())
                    .fetch_optional(pool)
                    .await?;
            let members: Vec<MemberRow> = sqlx::query_as("SELECT code, siret FROM groupement_members WHERE code = $1")
                .bind(code.as_str())
                .fetch_all(pool)
                .await?;
            (row, members)
        });
        row.map(|row| groupement_from_rows(row, &member_rows)).transpose()
    }

    /// The suppliers that may answer `tender`: the members of its groupement, or every supplier of the
    /// directory when it names none. `None` when the groupement it names is not in the directory.
    pub async fn eligible_suppliers(&self, tender: &essaim_core::Tender) -> Result<Option<Vec<Supplier>>, StoreError> {
        let all = self.suppliers().await?;
        match &tender.groupement {
            None => Ok(Some(all)),
            Some(code) => Ok(self
                .groupement(code)
                .await?
                .map(|g| all.into_iter().filter(|s| g.members.contains(&s.siret)).collect())),
        }
    }
}

fn parse_sector(siret: &str, sector: &str) -> Result<Sector, StoreError> {
    Sector::parse("sector", sector)
        .map_err(|e| StoreError::corrupt(format!("capacity or price row (supplier {siret}, sector {sector}): {e}")))
}

/// The unknown capacities of `rows` (flagged structures): a structure with a capacity in every sector its
/// source listed — and at least one capacity — is known.
fn unknown_from_rows(
    rows: Vec<UnknownRow>,
    listed: Vec<SectorRow>,
    known: Vec<SectorRow>,
) -> Result<Vec<UnknownCapacity>, StoreError> {
    let mut listed_by: BTreeMap<String, Vec<Sector>> = BTreeMap::new();
    for row in listed {
        let sector = parse_sector(&row.siret, &row.sector)?;
        listed_by.entry(row.siret).or_default().push(sector);
    }
    let mut known_by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in known {
        known_by.entry(row.siret).or_default().push(row.sector);
    }
    let mut unknown = Vec::new();
    for row in rows {
        let known = known_by.remove(&row.siret).unwrap_or_default();
        let mut sectors = listed_by.remove(&row.siret).unwrap_or_default();
        sectors.retain(|s| !known.iter().any(|k| k == s.as_str()));
        sectors.sort();
        if sectors.is_empty() && !known.is_empty() {
            continue;
        }
        let siret = Siret::parse(&row.siret)
            .map_err(|e| StoreError::corrupt(format!("supplier row (siret {}): {e}", row.siret)))?;
        unknown.push(UnknownCapacity { siret, name: row.name, sectors });
    }
    Ok(unknown)
}

fn prices_by_siret(rows: Vec<PriceRow>) -> Result<BTreeMap<String, BTreeMap<Sector, f64>>, StoreError> {
    let mut prices: BTreeMap<String, BTreeMap<Sector, f64>> = BTreeMap::new();
    for row in rows {
        let sector = parse_sector(&row.siret, &row.sector)?;
        prices.entry(row.siret).or_default().insert(sector, row.unit_price);
    }
    Ok(prices)
}

fn supplier_from_row(
    row: SupplierRow,
    capacities: Capacities,
    prices: BTreeMap<Sector, f64>,
) -> Result<Supplier, StoreError> {
    let what = |e: essaim_core::DomainError| StoreError::corrupt(format!("supplier row (siret {}): {e}", row.siret));
    let siret = Siret::parse(&row.siret).map_err(what)?;
    let kind = SupplierKind::parse_field("kind", &row.kind).map_err(what)?;
    let location = GeoPoint::checked("lat", row.lat, "lon", row.lon).map_err(what)?;
    Ok(Supplier {
        siret,
        name: row.name,
        kind,
        location,
        commune: row.commune,
        max_distance_km: row.max_distance_km,
        min_lot: row.min_lot,
        capacities,
        insertion_rate: row.insertion_rate,
        contact: Contact { name: row.contact_name, email: row.contact_email, phone: row.contact_phone },
        prices,
        address: row.address,
    })
}

fn groupement_from_rows(row: GroupementRow, members: &[MemberRow]) -> Result<Groupement, StoreError> {
    let what = |e: essaim_core::DomainError| StoreError::corrupt(format!("groupement row (code {}): {e}", row.code));
    let code = GroupementCode::parse("code", &row.code).map_err(what)?;
    let lead = Siret::parse_field("lead_siret", &row.lead_siret).map_err(what)?;
    let mut sirets =
        members.iter().map(|m| Siret::parse_field("members", &m.siret).map_err(what)).collect::<Result<Vec<_>, _>>()?;
    sirets.sort();
    Ok(Groupement { code, name: row.name, lead, members: sirets })
}
