-- essaim schema, PostgreSQL flavour. Keep in step with ../sqlite/0001_initial.sql: same tables, same
-- columns, same meaning. Floats are DOUBLE PRECISION (exact round trip); timestamps are TIMESTAMPTZ; a
-- tender's deadline keeps the offset the buyer wrote (TEXT, RFC 3339, on both backends). Objects are
-- created unqualified, in the first schema of search_path.

CREATE TABLE suppliers (
    siret           TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    lat             DOUBLE PRECISION NOT NULL,
    lon             DOUBLE PRECISION NOT NULL,
    commune         TEXT,
    max_distance_km DOUBLE PRECISION NOT NULL,
    min_lot         DOUBLE PRECISION NOT NULL,
    insertion_rate  DOUBLE PRECISION,
    contact_name    TEXT,
    contact_email   TEXT,
    contact_phone   TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE supplier_capacities (
    siret    TEXT NOT NULL REFERENCES suppliers (siret) ON DELETE CASCADE,
    sector   TEXT NOT NULL,
    quantity DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (siret, sector)
);

CREATE TABLE groupements (
    code       TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    lead_siret TEXT NOT NULL REFERENCES suppliers (siret),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE groupement_members (
    code  TEXT NOT NULL REFERENCES groupements (code) ON DELETE CASCADE,
    siret TEXT NOT NULL REFERENCES suppliers (siret),
    PRIMARY KEY (code, siret)
);

CREATE TABLE tenders (
    reference   TEXT PRIMARY KEY NOT NULL,
    title       TEXT NOT NULL,
    buyer_name  TEXT NOT NULL,
    buyer_siret TEXT,
    deadline    TEXT,
    groupement  TEXT REFERENCES groupements (code),
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE tender_lines (
    tender_ref   TEXT NOT NULL REFERENCES tenders (reference) ON DELETE CASCADE,
    line_id      TEXT NOT NULL,
    position     BIGINT NOT NULL,
    title        TEXT,
    sector       TEXT NOT NULL,
    quantity     DOUBLE PRECISION NOT NULL,
    unit         TEXT NOT NULL,
    site_lat     DOUBLE PRECISION NOT NULL,
    site_lon     DOUBLE PRECISION NOT NULL,
    max_share    DOUBLE PRECISION NOT NULL,
    unit_price   DOUBLE PRECISION,
    window_start DATE,
    window_end   DATE,
    PRIMARY KEY (tender_ref, line_id),
    UNIQUE (tender_ref, position)
);

CREATE TABLE allocations (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tender_ref TEXT NOT NULL REFERENCES tenders (reference),
    status     TEXT NOT NULL,
    objective  DOUBLE PRECISION NOT NULL,
    gap        DOUBLE PRECISION,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX allocations_by_tender ON allocations (tender_ref, id);

CREATE TABLE micro_lots (
    allocation_id  BIGINT NOT NULL REFERENCES allocations (id) ON DELETE CASCADE,
    line_id        TEXT NOT NULL,
    supplier_siret TEXT NOT NULL REFERENCES suppliers (siret),
    quantity       DOUBLE PRECISION NOT NULL,
    distance_km    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (allocation_id, line_id, supplier_siret)
);

CREATE TABLE shortfalls (
    allocation_id BIGINT NOT NULL REFERENCES allocations (id) ON DELETE CASCADE,
    line_id       TEXT NOT NULL,
    quantity      DOUBLE PRECISION NOT NULL,
    reason        TEXT NOT NULL,
    PRIMARY KEY (allocation_id, line_id)
);

-- The event log: append-only. No code path updates or deletes an event; the triggers below make the
-- database itself refuse it (TRUNCATE included).
CREATE TABLE events (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX events_by_stream ON events (stream, seq);

CREATE FUNCTION essaim_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % refused', TG_OP;
END;
$$;

CREATE TRIGGER events_refuse_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION essaim_events_append_only();

CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION essaim_events_append_only();
