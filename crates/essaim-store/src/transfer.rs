//! A whole installation as one file, to move it from one database to another (SQLite → PostgreSQL or
//! back): `essaim export FILE` writes it, `essaim import --all FILE` reads it into an empty database in
//! one transaction.
//!
//! # Format (version 1), JSON lines
//! ```text
//! {"format":"essaim-export","format_version":1,"schema_version":8}
//! {"table":"suppliers","columns":["address","booking_version",…]}
//! ["12 rue …",0,…]                       one line per row, values in the order of "columns"
//! {"table":"supplier_capacities","columns":[…]}
//! …
//! {"end":true,"tables":21,"rows":1234}
//! ```
//! - `schema_version` is the last migration applied: a file is read only by a database at the same
//!   version (both backends share their migration versions).
//! - Tables come parents first (ordered by their foreign keys, then by name), columns by name, rows by
//!   primary key (compared as values, not by the database's collation): the same data gives the same
//!   bytes whichever backend it comes from.
//! - Values are written as SQLite stores them, the lowest common form: text, integer, float, null;
//!   a PostgreSQL timestamp as sqlx writes one on SQLite (RFC 3339, `+00:00`), a date as `YYYY-MM-DD`,
//!   a boolean as 0/1. On import into PostgreSQL each value is converted back to its column's type.
//! - The closing line tells a complete file from a truncated one.
//!
//! Tables and columns are read from the database, not listed here: a migration that adds one is
//! exported without a change to this file.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Value, json};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Column, Row, TypeInfo, ValueRef};

use crate::store::Pool;
use crate::{Store, StoreError};

/// The version of the file format written by [`Store::export_all`].
pub const EXPORT_FORMAT_VERSION: i64 = 1;
const FORMAT_NAME: &str = "essaim-export";

/// What an export wrote or an import read: rows per table, in the file's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferSummary {
    pub schema_version: i64,
    pub tables: Vec<(String, u64)>,
}

impl TransferSummary {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

fn transfer_error(message: impl Into<String>) -> StoreError {
    StoreError::Transfer { message: message.into() }
}

/// One table as the database describes it.
struct TableInfo {
    name: String,
    /// Column name → PostgreSQL `data_type` (`information_schema`), or SQLite declared type.
    columns: BTreeMap<String, String>,
    primary_key: Vec<String>,
    /// PostgreSQL identity columns, whose sequence must follow the imported values.
    identity: Vec<String>,
}

impl TableInfo {
    fn column_names(&self) -> Vec<String> {
        self.columns.keys().cloned().collect()
    }
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

impl Store {
    /// Writes every table of the database to `out` (format in the module documentation), from one
    /// consistent read. Returns what was written.
    pub async fn export_all(&self, out: &mut (dyn Write + Send)) -> Result<TransferSummary, StoreError> {
        let io = |e: std::io::Error| transfer_error(format!("could not write the export: {e}"));
        let schema_version = self.schema_version().await?;
        let tables = self.tables().await?;
        let mut summary = TransferSummary { schema_version, tables: Vec::new() };
        writeln!(
            out,
            "{}",
            json!({"format": FORMAT_NAME, "format_version": EXPORT_FORMAT_VERSION, "schema_version": schema_version})
        )
        .map_err(io)?;
        // One read transaction: a serve running beside the export cannot make it inconsistent.
        let rows_by_table = match &self.pool {
            Pool::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                let mut all = Vec::new();
                for table in &tables {
                    let sql = select_all(table);
                    let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *tx).await?;
                    all.push(rows.iter().map(sqlite_row).collect::<Result<Vec<_>, _>>()?);
                }
                tx.commit().await?;
                all
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut *tx).await?;
                let mut all = Vec::new();
                for table in &tables {
                    let sql = select_all(table);
                    let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *tx).await?;
                    all.push(rows.iter().map(postgres_row).collect::<Result<Vec<_>, _>>()?);
                }
                tx.commit().await?;
                all
            }
        };
        for (table, mut rows) in tables.iter().zip(rows_by_table) {
            let names = table.column_names();
            let key: Vec<usize> = if table.primary_key.is_empty() {
                (0..names.len()).collect()
            } else {
                table.primary_key.iter().filter_map(|k| names.iter().position(|n| n == k)).collect()
            };
            rows.sort_by(|a, b| {
                key.iter().map(|&i| compare(&a[i], &b[i])).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
            });
            // Written by hand: the table's name first, where a reader looks for it.
            writeln!(out, "{{\"table\":{},\"columns\":{}}}", json!(table.name), json!(names)).map_err(io)?;
            for row in &rows {
                writeln!(out, "{}", Value::Array(row.clone())).map_err(io)?;
            }
            summary.tables.push((table.name.clone(), rows.len() as u64));
        }
        writeln!(out, "{}", json!({"end": true, "tables": summary.tables.len(), "rows": summary.rows()}))
            .map_err(io)?;
        out.flush().map_err(io)?;
        Ok(summary)
    }

    /// Reads an export into this database, migrated to the export's schema version, in one transaction:
    /// on any error nothing is written. Refuses a database that holds any row unless `allow_non_empty`
    /// (then a row that collides with an existing one aborts the whole import). On PostgreSQL the
    /// identity sequences are moved past the imported ids.
    pub async fn import_all(
        &self,
        input: &mut (dyn BufRead + Send),
        allow_non_empty: bool,
    ) -> Result<TransferSummary, StoreError> {
        let mut lines = input.lines().enumerate().map(|(i, line)| {
            let line = line.map_err(|e| transfer_error(format!("could not read the export: {e}")))?;
            let value: Value = serde_json::from_str(&line)
                .map_err(|e| transfer_error(format!("line {}: not JSON ({e}); is this an essaim export?", i + 1)))?;
            Ok::<_, StoreError>((i + 1, value))
        });
        let (_, header) = lines.next().transpose()?.ok_or_else(|| transfer_error("the export file is empty"))?;
        if header.get("format").and_then(Value::as_str) != Some(FORMAT_NAME) {
            return Err(transfer_error("line 1: not an essaim export (no \"format\": \"essaim-export\")"));
        }
        let format_version = header.get("format_version").and_then(Value::as_i64).unwrap_or_default();
        if format_version != EXPORT_FORMAT_VERSION {
            return Err(transfer_error(format!(
                "line 1: export format version {format_version}; this essaim reads version {EXPORT_FORMAT_VERSION}"
            )));
        }
        let schema_version = header
            .get("schema_version")
            .and_then(Value::as_i64)
            .ok_or_else(|| transfer_error("line 1: no schema_version"))?;
        let ours = self.schema_version().await?;
        if schema_version != ours {
            return Err(transfer_error(format!(
                "the export is of schema version {schema_version} and this database is at {ours}: export and \
                 import with the same essaim version (run `essaim migrate` on the source first)"
            )));
        }
        let tables: BTreeMap<String, TableInfo> =
            self.tables().await?.into_iter().map(|t| (t.name.clone(), t)).collect();
        if !allow_non_empty {
            for table in tables.values() {
                let sql = format!("SELECT COUNT(*) FROM {}", quote(&table.name));
                let n: i64 = with_pool!(self, |pool| sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(pool).await?);
                if n > 0 {
                    return Err(transfer_error(format!(
                        "the database is not empty (table {} holds {n} row(s)): import into a new database, or \
                         pass --allow-non-empty to add to it (any collision then aborts the whole import)",
                        table.name
                    )));
                }
            }
        }
        let mut summary = TransferSummary { schema_version, tables: Vec::new() };
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let mut current: Option<(&TableInfo, Vec<String>, String)> = None;
                let mut ended = false;
                for next in lines.by_ref() {
                    let (line, value) = next?;
                    match classify(line, value, &tables, &mut current, &mut summary, &mut ended)? {
                        Some(row) => {
                            let (_, columns, sql) = current.as_ref().ok_or_else(|| no_table(line))?;
                            let mut query = sqlx::query(AssertSqlSafe(sql.clone()));
                            for (column, value) in columns.iter().zip(row) {
                                query = match value {
                                    Value::Null => query.bind(None::<String>),
                                    Value::String(s) => query.bind(s),
                                    Value::Number(n) if n.is_i64() => query.bind(n.as_i64()),
                                    Value::Number(n) => query.bind(n.as_f64()),
                                    Value::Bool(b) => query.bind(b),
                                    other => return Err(bad_value(line, column, &other)),
                                };
                            }
                            query.execute(&mut *tx).await.map_err(|e| row_refused(line, e))?;
                        }
                        None if ended => break,
                        None => {}
                    }
                }
                if !ended {
                    return Err(transfer_error("the export ends before its closing line: it was cut short"));
                }
                tx.commit().await?;
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let mut current: Option<(&TableInfo, Vec<String>, String)> = None;
                let mut ended = false;
                for next in lines.by_ref() {
                    let (line, value) = next?;
                    match classify(line, value, &tables, &mut current, &mut summary, &mut ended)? {
                        Some(row) => {
                            let (table, columns, sql) = current.as_ref().ok_or_else(|| no_table(line))?;
                            let mut query = sqlx::query(AssertSqlSafe(sql.clone()));
                            for (column, value) in columns.iter().zip(row) {
                                let data_type = table.columns.get(column).map(String::as_str).unwrap_or("text");
                                query = bind_postgres(query, data_type, value).map_err(|e| {
                                    transfer_error(format!("line {line}: column {}.{column}: {e}", table.name))
                                })?;
                            }
                            query.execute(&mut *tx).await.map_err(|e| row_refused(line, e))?;
                        }
                        None if ended => break,
                        None => {}
                    }
                }
                if !ended {
                    return Err(transfer_error("the export ends before its closing line: it was cut short"));
                }
                // New rows must not take an id the import already used.
                for table in tables.values() {
                    for column in &table.identity {
                        let sql = format!(
                            "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX({c}), 0) + 1, false) FROM {t}",
                            c = quote(column),
                            t = quote(&table.name)
                        );
                        sqlx::query(AssertSqlSafe(sql)).bind(quote(&table.name)).bind(column).execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
            }
        }
        Ok(summary)
    }

    /// The last migration applied to this database.
    async fn schema_version(&self) -> Result<i64, StoreError> {
        let version: Option<i64> =
            with_pool!(self, |pool| sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await?);
        version.ok_or_else(|| transfer_error("the database has no schema yet: run `essaim migrate` first"))
    }

    /// The tables of the installation, parents before children.
    async fn tables(&self) -> Result<Vec<TableInfo>, StoreError> {
        let mut tables: BTreeMap<String, TableInfo> = BTreeMap::new();
        let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        match &self.pool {
            Pool::Sqlite(pool) => {
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                     AND name NOT LIKE '_sqlx_%'",
                )
                .fetch_all(pool)
                .await?;
                for name in names {
                    let columns: Vec<(String, String, i64)> =
                        sqlx::query_as("SELECT name, type, pk FROM pragma_table_info($1)")
                            .bind(&name)
                            .fetch_all(pool)
                            .await?;
                    let mut primary_key: Vec<(i64, String)> =
                        columns.iter().filter(|c| c.2 > 0).map(|c| (c.2, c.0.clone())).collect();
                    primary_key.sort();
                    let refs: Vec<String> = sqlx::query_scalar("SELECT \"table\" FROM pragma_foreign_key_list($1)")
                        .bind(&name)
                        .fetch_all(pool)
                        .await?;
                    parents.insert(name.clone(), refs.into_iter().filter(|p| *p != name).collect());
                    tables.insert(
                        name.clone(),
                        TableInfo {
                            name,
                            columns: columns.into_iter().map(|c| (c.0, c.1)).collect(),
                            primary_key: primary_key.into_iter().map(|p| p.1).collect(),
                            identity: Vec::new(),
                        },
                    );
                }
            }
            Pool::Postgres(pool) => {
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT table_name::TEXT FROM information_schema.tables WHERE table_schema = current_schema() \
                     AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_sqlx\\_%'",
                )
                .fetch_all(pool)
                .await?;
                for name in names {
                    let columns: Vec<(String, String, String)> = sqlx::query_as(
                        "SELECT column_name::TEXT, data_type::TEXT, is_identity::TEXT FROM information_schema.columns \
                         WHERE table_schema = current_schema() AND table_name = $1",
                    )
                    .bind(&name)
                    .fetch_all(pool)
                    .await?;
                    let primary_key: Vec<String> = sqlx::query_scalar(
                        "SELECT a.attname::TEXT FROM pg_index i \
                         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                         WHERE i.indrelid = to_regclass($1) AND i.indisprimary \
                         ORDER BY array_position(i.indkey::INT2[], a.attnum)",
                    )
                    .bind(quote(&name))
                    .fetch_all(pool)
                    .await?;
                    let refs: Vec<String> = sqlx::query_scalar(
                        "SELECT DISTINCT c.confrelid::regclass::TEXT FROM pg_constraint c \
                         WHERE c.contype = 'f' AND c.conrelid = to_regclass($1)",
                    )
                    .bind(quote(&name))
                    .fetch_all(pool)
                    .await?;
                    let refs = refs.into_iter().map(|r| r.trim_matches('"').to_owned());
                    parents.insert(name.clone(), refs.filter(|p| *p != name).collect());
                    tables.insert(
                        name.clone(),
                        TableInfo {
                            name,
                            identity: columns.iter().filter(|c| c.2 == "YES").map(|c| c.0.clone()).collect(),
                            columns: columns.into_iter().map(|c| (c.0, c.1)).collect(),
                            primary_key,
                        },
                    );
                }
            }
        }
        // Parents first; among the tables ready at each step, by name (stable across backends).
        let mut ordered = Vec::with_capacity(tables.len());
        let mut done = BTreeSet::new();
        while done.len() < tables.len() {
            let ready: Vec<String> = tables
                .keys()
                .filter(|t| !done.contains(*t))
                .filter(|t| {
                    parents.get(*t).is_none_or(|ps| ps.iter().all(|p| done.contains(p) || !tables.contains_key(p)))
                })
                .cloned()
                .collect();
            let Some(first) = ready.into_iter().next() else {
                return Err(transfer_error("the tables' foreign keys form a cycle; export cannot order them"));
            };
            done.insert(first.clone());
            ordered.push(first);
        }
        Ok(ordered.into_iter().filter_map(|name| tables.remove(&name)).collect())
    }
}

fn select_all(table: &TableInfo) -> String {
    let columns: Vec<String> = table.columns.keys().map(|c| quote(c)).collect();
    format!("SELECT {} FROM {}", columns.join(", "), quote(&table.name))
}

fn no_table(line: usize) -> StoreError {
    transfer_error(format!("line {line}: a row before any table line"))
}

fn bad_value(line: usize, column: &str, value: &Value) -> StoreError {
    transfer_error(format!("line {line}: column {column}: unexpected value {value}"))
}

fn row_refused(line: usize, e: sqlx::Error) -> StoreError {
    transfer_error(format!("line {line}: the database refused the row: {e}"))
}

/// Reads one line after the header: a table line (prepares its insert), a row (returned), or the end.
fn classify<'t>(
    line: usize,
    value: Value,
    tables: &'t BTreeMap<String, TableInfo>,
    current: &mut Option<(&'t TableInfo, Vec<String>, String)>,
    summary: &mut TransferSummary,
    ended: &mut bool,
) -> Result<Option<Vec<Value>>, StoreError> {
    match value {
        Value::Array(row) => {
            let Some((table, columns, _)) = current.as_ref() else { return Err(no_table(line)) };
            if row.len() != columns.len() {
                return Err(transfer_error(format!(
                    "line {line}: {} value(s) for the {} column(s) of {}",
                    row.len(),
                    columns.len(),
                    table.name
                )));
            }
            if let Some(last) = summary.tables.last_mut() {
                last.1 += 1;
            }
            Ok(Some(row))
        }
        Value::Object(object) if object.get("end") == Some(&Value::Bool(true)) => {
            let expected = object.get("rows").and_then(Value::as_u64);
            if expected != Some(summary.rows()) {
                return Err(transfer_error(format!(
                    "line {line}: the export announces {} row(s) but holds {}",
                    expected.map_or("?".to_owned(), |n| n.to_string()),
                    summary.rows()
                )));
            }
            *ended = true;
            Ok(None)
        }
        Value::Object(object) => {
            let name = object
                .get("table")
                .and_then(Value::as_str)
                .ok_or_else(|| transfer_error(format!("line {line}: neither a table, a row nor the end")))?;
            let table = tables
                .get(name)
                .ok_or_else(|| transfer_error(format!("line {line}: table {name} does not exist in this database")))?;
            let columns: Vec<String> = object
                .get("columns")
                .and_then(Value::as_array)
                .map(|c| c.iter().filter_map(|c| c.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            let given: BTreeSet<&String> = columns.iter().collect();
            let ours: BTreeSet<&String> = table.columns.keys().collect();
            if given != ours {
                return Err(transfer_error(format!(
                    "line {line}: table {name} has columns {:?} here but {:?} in the export",
                    ours, given
                )));
            }
            // An identity column on PostgreSQL takes the exported id only when told to.
            let overriding = if table.identity.is_empty() { "" } else { " OVERRIDING SYSTEM VALUE" };
            let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "INSERT INTO {} ({}){overriding} VALUES ({})",
                quote(name),
                columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", "),
                placeholders.join(", ")
            );
            summary.tables.push((name.to_owned(), 0));
            *current = Some((table, columns, sql));
            Ok(None)
        }
        other => Err(transfer_error(format!("line {line}: unexpected {other}"))),
    }
}

fn sqlite_row(row: &SqliteRow) -> Result<Vec<Value>, StoreError> {
    (0..row.columns().len())
        .map(|i| {
            let raw = row.try_get_raw(i)?;
            if raw.is_null() {
                return Ok(Value::Null);
            }
            let kind = raw.type_info().name().to_owned();
            Ok(match kind.as_str() {
                "INTEGER" => json!(row.try_get_unchecked::<i64, _>(i)?),
                "REAL" => finite(row.try_get_unchecked::<f64, _>(i)?, row.columns()[i].name())?,
                "TEXT" => json!(row.try_get_unchecked::<String, _>(i)?),
                other => {
                    return Err(transfer_error(format!(
                        "column {} holds a {other} value, which an export cannot carry",
                        row.columns()[i].name()
                    )));
                }
            })
        })
        .collect()
}

fn postgres_row(row: &PgRow) -> Result<Vec<Value>, StoreError> {
    (0..row.columns().len())
        .map(|i| {
            let column = &row.columns()[i];
            if row.try_get_raw(i)?.is_null() {
                return Ok(Value::Null);
            }
            Ok(match column.type_info().name() {
                "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => json!(row.try_get::<String, _>(i)?),
                "INT8" => json!(row.try_get::<i64, _>(i)?),
                "INT4" => json!(row.try_get::<i32, _>(i)?),
                "INT2" => json!(row.try_get::<i16, _>(i)?),
                "FLOAT8" => finite(row.try_get::<f64, _>(i)?, column.name())?,
                "FLOAT4" => finite(f64::from(row.try_get::<f32, _>(i)?), column.name())?,
                "BOOL" => json!(i64::from(row.try_get::<bool, _>(i)?)),
                // As sqlx writes a DateTime<Utc> on SQLite.
                "TIMESTAMPTZ" => {
                    json!(row.try_get::<DateTime<Utc>, _>(i)?.to_rfc3339_opts(SecondsFormat::AutoSi, false))
                }
                "DATE" => json!(row.try_get::<NaiveDate, _>(i)?.format("%F").to_string()),
                other => {
                    return Err(transfer_error(format!(
                        "column {} is of type {other}, which an export cannot carry",
                        column.name()
                    )));
                }
            })
        })
        .collect()
}

fn finite(x: f64, column: &str) -> Result<Value, StoreError> {
    serde_json::Number::from_f64(x)
        .map(Value::Number)
        .ok_or_else(|| transfer_error(format!("column {column} holds {x}, which JSON cannot carry")))
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds an exported value to a PostgreSQL column of `data_type` (`information_schema` spelling).
fn bind_postgres<'q>(query: PgQuery<'q>, data_type: &str, value: Value) -> Result<PgQuery<'q>, String> {
    let null = value.is_null();
    Ok(match data_type {
        "timestamp with time zone" => {
            let at = match &value {
                Value::String(s) => Some(
                    DateTime::parse_from_rfc3339(s)
                        .map_err(|e| format!("« {s} » is not an RFC 3339 time: {e}"))?
                        .with_timezone(&Utc),
                ),
                _ if null => None,
                other => return Err(format!("expected a time, found {other}")),
            };
            query.bind(at)
        }
        "date" => {
            let date = match &value {
                Value::String(s) => Some(
                    NaiveDate::parse_from_str(s, "%F").map_err(|e| format!("« {s} » is not a date YYYY-MM-DD: {e}"))?,
                ),
                _ if null => None,
                other => return Err(format!("expected a date, found {other}")),
            };
            query.bind(date)
        }
        "boolean" => {
            let flag = match &value {
                Value::Number(n) => Some(n.as_i64() != Some(0)),
                Value::Bool(b) => Some(*b),
                _ if null => None,
                other => return Err(format!("expected 0 or 1, found {other}")),
            };
            query.bind(flag)
        }
        "bigint" => query.bind(integer(&value)?),
        "integer" => query.bind(integer(&value)?.map(i32::try_from).transpose().map_err(|e| e.to_string())?),
        "smallint" => query.bind(integer(&value)?.map(i16::try_from).transpose().map_err(|e| e.to_string())?),
        "double precision" | "real" => {
            let x = match &value {
                Value::Number(n) => n.as_f64(),
                _ if null => None,
                other => return Err(format!("expected a number, found {other}")),
            };
            query.bind(x)
        }
        _ => {
            let text = match value {
                Value::String(s) => Some(s),
                Value::Null => None,
                other => return Err(format!("expected text, found {other}")),
            };
            query.bind(text)
        }
    })
}

fn integer(value: &Value) -> Result<Option<i64>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_i64().map(Some).ok_or_else(|| format!("expected an integer, found {n}")),
        other => Err(format!("expected an integer, found {other}")),
    }
}

/// Orders exported values: null first, then numbers, then text (by bytes, not by a collation).
fn compare(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            _ => 4,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => x.as_f64().unwrap_or_default().total_cmp(&y.as_f64().unwrap_or_default()),
        },
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}
