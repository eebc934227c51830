//! The two macros that let every query be written once and compiled for each driver.

/// Evaluates `$body` with `$pool` bound to the store's typed pool (`&SqlitePool` or `&PgPool`).
/// The body is the same text in both arms; the compiler checks it against each driver.
macro_rules! with_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}

/// Evaluates `$body` inside a write transaction bound to `$tx`, then commits. An early return (`?`)
/// drops the transaction, which rolls it back: all or nothing. On SQLite the transaction starts with
/// `BEGIN IMMEDIATE` so that concurrent writers wait on the busy timeout instead of failing on a lock
/// upgrade.
macro_rules! in_transaction {
    ($store:expr, |$tx:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite(pool) => {
                #[allow(unused_mut)]
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let result = $body;
                $tx.commit().await?;
                result
            }
            $crate::store::Pool::Postgres(pool) => {
                #[allow(unused_mut)]
                let mut $tx = pool.begin().await?;
                let result = $body;
                $tx.commit().await?;
                result
            }
        }
    };
}

/// Appends one event through `$conn` (a transaction or connection) and evaluates to its `seq`.
macro_rules! insert_event {
    ($conn:expr, $stream:expr, $kind:expr, $payload:expr) => {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO events (stream, kind, payload, recorded_at) VALUES ($1, $2, $3, $4) RETURNING seq",
        )
        .bind($stream)
        .bind($kind)
        .bind(($payload).to_string())
        .bind($crate::store::now())
        .fetch_one($conn)
        .await?
    };
}

/// Marks a supplier as updated at `$at`, or returns [`StoreError::UnknownSupplier`] when there is none:
/// the first statement of every change to one supplier's record.
macro_rules! touch_supplier {
    ($conn:expr, $at:expr, $siret:expr) => {
        if sqlx::query("UPDATE suppliers SET updated_at = $1 WHERE siret = $2")
            .bind($at)
            .bind($siret)
            .execute($conn)
            .await?
            .rows_affected()
            == 0
        {
            return Err($crate::StoreError::UnknownSupplier { siret: $siret.to_owned() });
        }
    };
}

/// Evaluates `$body` with `$tx` bound to a read-only transaction that sees one snapshot of the
/// database for all its statements (PostgreSQL `REPEATABLE READ`; SQLite's deferred transaction
/// keeps the snapshot of its first read).
macro_rules! in_snapshot {
    ($store:expr, |$tx:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite(pool) => {
                let mut $tx = pool.begin().await?;
                let result = $body;
                $tx.commit().await?;
                result
            }
            $crate::store::Pool::Postgres(pool) => {
                let mut $tx = pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
                let result = $body;
                $tx.commit().await?;
                result
            }
        }
    };
}
