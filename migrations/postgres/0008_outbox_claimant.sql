-- Who holds an outbox claim, PostgreSQL flavour. Keep in step with ../sqlite/0008_outbox_claimant.sql.
--
-- `claimed_instance` names the dispatcher that claimed the row (`serve.instance`, the same across its
-- restarts) and `claimed_by` the run of it (new at every start). A dispatcher that starts, once it holds its
-- instance's lock (proof that no other live process runs under that name), gives back at once the claims
-- of its instance's earlier runs: their process is dead, so a message it had in flight does not wait out
-- the whole lease. The claims of other instances keep their lease. Both stay NULL for rows claimed
-- without a name; after the claim ends they tell who last held the row.
ALTER TABLE outbox ADD COLUMN claimed_instance TEXT;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
