-- essaim schema, SQLite flavour. Keep in step with ../postgres/0001_initial.sql: same tables, same columns,
-- same meaning. Floats are REAL (8-byte IEEE, exact round trip); timestamps are RFC 3339 TEXT written by
-- the store; a tender's deadline keeps the offset the buyer wrote (TEXT on both backends).

CREATE TABLE suppliers (
    siret           TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    lat             REAL NOT NULL,
    lon             REAL NOT NULL,
    commune         TEXT,
    max_distance_km REAL NOT NULL,
    min_lot         REAL NOT NULL,
    insertion_rate  REAL,
    contact_name    TEXT,
    contact_email   TEXT,
    contact_phone   TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;

CREATE TABLE supplier_capacities (
    siret    TEXT NOT NULL REFERENCES suppliers (siret) ON DELETE CASCADE,
    sector   TEXT NOT NULL,
    quantity REAL NOT NULL,
    PRIMARY KEY (siret, sector)
) STRICT;

CREATE TABLE groupements (
    code       TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    lead_siret TEXT NOT NULL REFERENCES suppliers (siret),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE groupement_members (
    code  TEXT NOT NULL REFERENCES groupements (code) ON DELETE CASCADE,
    siret TEXT NOT NULL REFERENCES suppliers (siret),
    PRIMARY KEY (code, siret)
) STRICT;

CREATE TABLE tenders (
    reference   TEXT PRIMARY KEY NOT NULL,
    title       TEXT NOT NULL,
    buyer_name  TEXT NOT NULL,
    buyer_siret TEXT,
    deadline    TEXT,
    groupement  TEXT REFERENCES groupements (code),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE tender_lines (
    tender_ref   TEXT NOT NULL REFERENCES tenders (reference) ON DELETE CASCADE,
    line_id      TEXT NOT NULL,
    position     INTEGER NOT NULL,
    title        TEXT,
    sector       TEXT NOT NULL,
    quantity     REAL NOT NULL,
    unit         TEXT NOT NULL,
    site_lat     REAL NOT NULL,
    site_lon     REAL NOT NULL,
    max_share    REAL NOT NULL,
    unit_price   REAL,
    window_start TEXT,
    window_end   TEXT,
    PRIMARY KEY (tender_ref, line_id),
    UNIQUE (tender_ref, position)
) STRICT;

CREATE TABLE allocations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tender_ref TEXT NOT NULL REFERENCES tenders (reference),
    status     TEXT NOT NULL,
    objective  REAL NOT NULL,
    gap        REAL,
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX allocations_by_tender ON allocations (tender_ref, id);

CREATE TABLE micro_lots (
    allocation_id  INTEGER NOT NULL REFERENCES allocations (id) ON DELETE CASCADE,
    line_id        TEXT NOT NULL,
    supplier_siret TEXT NOT NULL REFERENCES suppliers (siret),
    quantity       REAL NOT NULL,
    distance_km    REAL NOT NULL,
    PRIMARY KEY (allocation_id, line_id, supplier_siret)
) STRICT;

CREATE TABLE shortfalls (
    allocation_id INTEGER NOT NULL REFERENCES allocations (id) ON DELETE CASCADE,
    line_id       TEXT NOT NULL,
    quantity      REAL NOT NULL,
    reason        TEXT NOT NULL,
    PRIMARY KEY (allocation_id, line_id)
) STRICT;

-- The event log: append-only. No code path updates or deletes an event; the triggers below make the
-- database itself refuse it.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    stream      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    recorded_at TEXT NOT NULL
) STRICT;

CREATE INDEX events_by_stream ON events (stream, seq);

CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: UPDATE refused');
END;

CREATE TRIGGER events_refuse_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: DELETE refused');
END;
