-- The territory a facilitator acts in, postgres flavour. Keep in step with ../sqlite/0009_facilitator_scope.sql.
--
-- `scope` is `*` (national: every tender) or a comma-separated list of groupement codes and
-- départements (`G-LYON,dep:69`), as essaim_core::Scope writes it; NULL for suppliers and buyers. A
-- facilitator row without one is refused as corrupt (never read as « everywhere »). The facilitator accounts,
-- invites and API tokens that exist before this migration were made when every facilitator saw every tender:
-- they keep doing so (national scope), so that an upgrade locks nobody out; narrow them by issuing new ones.
ALTER TABLE chat_accounts ADD COLUMN scope TEXT;
ALTER TABLE invites ADD COLUMN scope TEXT;
ALTER TABLE api_tokens ADD COLUMN scope TEXT;
UPDATE chat_accounts SET scope = '*' WHERE role = 'facilitator';
UPDATE invites SET scope = '*' WHERE role = 'facilitator';
UPDATE api_tokens SET scope = '*' WHERE role = 'facilitator';
