-- Chat accounts, invites, the inbox of received updates, campaigns, the notification outbox and
-- scheduled jobs, PostgreSQL flavour. Keep in step with ../sqlite/0002_campaigns.sql: same tables, same
-- columns, same meaning. Timestamps are TIMESTAMPTZ; JSON payloads are TEXT as in the event log.

-- One chat user linked to essaim (`/start CODE`). `awaiting` holds the button data of an offer whose
-- typed quantity is expected next (« Accepter une partie »).
CREATE TABLE chat_accounts (
    platform       TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    chat_id        TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('facilitator', 'supplier', 'buyer')),
    supplier_siret TEXT REFERENCES suppliers (siret),
    language       TEXT,
    display_name   TEXT,
    awaiting       TEXT,
    linked_at      TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (platform, user_id)
);

CREATE INDEX chat_accounts_by_supplier ON chat_accounts (supplier_siret);

-- One-time invite codes. `used_by` is `platform:user_id`.
CREATE TABLE invites (
    code           TEXT PRIMARY KEY NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('facilitator', 'supplier', 'buyer')),
    supplier_siret TEXT REFERENCES suppliers (siret),
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ,
    used_at        TIMESTAMPTZ,
    used_by        TEXT
);

-- Updates already handled: a second delivery of the same update changes nothing.
CREATE TABLE inbox (
    platform    TEXT NOT NULL,
    update_id   TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (platform, update_id)
);

-- The workflow around one tender. `version` is the number of events in the stream `campaign:{ref}`:
-- every append checks it (optimistic concurrency).
CREATE TABLE campaigns (
    tender_ref TEXT PRIMARY KEY NOT NULL REFERENCES tenders (reference),
    version    BIGINT NOT NULL CHECK (version >= 0),
    status     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Messages to deliver, written in the same transaction as the decision that causes them. `key` is
-- stable: queuing the same key twice queues it once. A row is claimed for a lease (`claimed_until`)
-- by one dispatcher (SELECT … FOR UPDATE SKIP LOCKED), then marked sent, rescheduled or failed.
CREATE TABLE outbox (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key                 TEXT NOT NULL UNIQUE,
    platform            TEXT NOT NULL,
    chat_id             TEXT NOT NULL,
    payload             TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts            BIGINT NOT NULL DEFAULT 0,
    next_attempt_at     TIMESTAMPTZ NOT NULL,
    claimed_until       TIMESTAMPTZ,
    last_error          TEXT,
    platform_message_id TEXT,
    created_at          TIMESTAMPTZ NOT NULL,
    sent_at             TIMESTAMPTZ
);

CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id);
-- Messages to one chat go in id order: the claim looks for an earlier pending row of the same chat.
CREATE INDEX outbox_by_chat ON outbox (platform, chat_id, status, id);

-- When each scheduled job last ran (reminders…), so that several replicas fire it once.
CREATE TABLE jobs (
    name        TEXT PRIMARY KEY NOT NULL,
    last_run_at TIMESTAMPTZ NOT NULL
);
