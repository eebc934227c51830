-- Structures imported from an export that does not know capacities, sqlite flavour. Keep in step with
-- ../postgres/0011_unknown_capacity.sql.
--
-- `capacity_unknown` (0/1): the structure came from an export (Le Marché, data·inclusion, FINESS) with no
-- capacity, which is unknown rather than zero. A sector is known once `supplier_capacities` has a row for it
-- (the structure's `/capacite`); the structure's capacity is unknown while it has none at all, or while a
-- sector its source listed has none. `supplier_sectors`: the sectors its source listed, mapped to essaim
-- sectors (the first question the bot asks it). Rows from before this migration keep their meaning (known).
ALTER TABLE suppliers ADD COLUMN capacity_unknown INTEGER NOT NULL DEFAULT 0;
CREATE TABLE supplier_sectors (
    siret  TEXT NOT NULL REFERENCES suppliers (siret) ON DELETE CASCADE,
    sector TEXT NOT NULL,
    PRIMARY KEY (siret, sector)
) STRICT;
