-- Buyers and API access, SQLite flavour. Keep in step with ../postgres/0003_proposals.sql.

-- A buyer's chat account speaks for the buyer named by this SIRET: it receives the proposals of the
-- tenders whose buyer has it.
ALTER TABLE chat_accounts ADD COLUMN buyer_siret TEXT;
ALTER TABLE invites ADD COLUMN buyer_siret TEXT;
CREATE INDEX chat_accounts_by_buyer ON chat_accounts (buyer_siret);

-- How the groupement answers a tender that requires it: 'conjoint' or 'solidaire' (NULL: the
-- configuration's default).
ALTER TABLE tenders ADD COLUMN groupement_kind TEXT CHECK (groupement_kind IN ('conjoint', 'solidaire'));

-- Bearer tokens of the HTTP API. Only a SHA-256 of the token is kept: the token itself is shown once,
-- when created. A `buyer` token sees the tenders of its buyer only; a `facilitator` token sees all.
CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('facilitator', 'buyer')),
    buyer_siret TEXT,
    label       TEXT,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    CHECK (role <> 'buyer' OR buyer_siret IS NOT NULL)
) STRICT;
