-- What a grouped bid needs beyond the allocation, PostgreSQL flavour. Keep in step with ../sqlite/0005_bid.sql.

-- A structure's own price per unit, excluding VAT, by sector (directory column `prices`, `/tarif`): a lot
-- is priced at it, else at the line's reference price.
CREATE TABLE supplier_prices (
    siret      TEXT NOT NULL REFERENCES suppliers (siret) ON DELETE CASCADE,
    sector     TEXT NOT NULL,
    unit_price DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (siret, sector)
);

-- A structure's postal address (shown to buyers with its commune).
ALTER TABLE suppliers ADD COLUMN address TEXT;

-- The buyer: public (FIPHFP) or private (AGEFIPH) employer, its OETH contribution before deductions and
-- its direct employment rate of disabled workers, when the tender gives them (the OETH estimate and cap).
ALTER TABLE tenders ADD COLUMN buyer_kind TEXT CHECK (buyer_kind IN ('public', 'private'));
ALTER TABLE tenders ADD COLUMN buyer_oeth_contribution DOUBLE PRECISION;
ALTER TABLE tenders ADD COLUMN buyer_direct_employment_rate DOUBLE PRECISION;
-- A conjoint groupement whose mandataire is jointly liable (Code de la commande publique R2142-24).
ALTER TABLE tenders ADD COLUMN mandataire_solidaire BOOLEAN NOT NULL DEFAULT FALSE;

-- A line's VAT rate (0–1; NULL: the configured default) and the site's address as the buyer writes it.
ALTER TABLE tender_lines ADD COLUMN vat_rate DOUBLE PRECISION;
ALTER TABLE tender_lines ADD COLUMN address TEXT;
