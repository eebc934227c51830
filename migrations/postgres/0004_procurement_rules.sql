-- Procurement rules and capacity across tenders, PostgreSQL flavour. Keep in step with
-- ../sqlite/0004_procurement_rules.sql.

-- A tender line's rules (DESIGN §3): the participation modes it accepts (comma-separated, e.g.
-- 'execution,mise_a_disposition'), the family it is reserved to ('handicap': Code de la commande publique
-- L2113-12; 'insertion': L2113-13), its social-clause hours and its CPV code.
ALTER TABLE tender_lines ADD COLUMN participation TEXT NOT NULL DEFAULT 'execution';
ALTER TABLE tender_lines ADD COLUMN reserved TEXT CHECK (reserved IN ('handicap', 'insertion'));
ALTER TABLE tender_lines ADD COLUMN insertion_hours_min DOUBLE PRECISION;
ALTER TABLE tender_lines ADD COLUMN cpv TEXT;

-- Every quantity a structure holds on a tender: offered (waiting for its answer) or accepted. A projection of
-- the campaign's events, rewritten in the same transaction as every append to the campaign, so that another
-- tender's allocation can take these hours off the structure's capacity. `since`: when the offer was made or
-- accepted (recent volumes for fairness count accepted lots of the last 12 months).
CREATE TABLE holdings (
    tender_ref     TEXT NOT NULL REFERENCES tenders (reference),
    offer_id       BIGINT NOT NULL,
    line_id        TEXT NOT NULL,
    supplier_siret TEXT NOT NULL,
    sector         TEXT NOT NULL,
    quantity       DOUBLE PRECISION NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('offered', 'accepted')),
    window_start   DATE,
    window_end     DATE,
    since          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tender_ref, offer_id)
);

CREATE INDEX holdings_by_supplier ON holdings (supplier_siret, sector);

-- The campaign version the holdings were computed at: a campaign whose holdings lag behind (one recorded
-- before this migration) is replayed by `essaim migrate`.
ALTER TABLE campaigns ADD COLUMN holdings_version BIGINT NOT NULL DEFAULT -1;

-- Bumped by every decision that offers a structure new hours: two decisions that both book the same
-- structure on the same read conflict, and the second is made again on fresh holdings.
ALTER TABLE suppliers ADD COLUMN booking_version BIGINT NOT NULL DEFAULT 0;
