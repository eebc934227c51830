-- Erasure of a person (RGPD art. 17), SQLite flavour. Keep in step with ../postgres/0007_erasure.sql.
--
-- The event log stays append-only for everything but one operation: replacing a person's identifiers
-- (account id, chat id, display name) in an event by a pseudonym, when that person asks to be forgotten
-- (`/oublier`). The commitments they made stay, as the structure's, under the pseudonym. Each such
-- rewrite counts one more in `redactions`, keeps the event's place, stream, kind and time, and is listed
-- in the `account_forgotten` event that follows it; any other UPDATE is refused as before.
ALTER TABLE events ADD COLUMN redactions INTEGER NOT NULL DEFAULT 0;

DROP TRIGGER events_refuse_update;

CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events
WHEN NOT (
    NEW.redactions = OLD.redactions + 1
    AND NEW.seq = OLD.seq
    AND NEW.stream = OLD.stream
    AND NEW.kind = OLD.kind
    AND NEW.recorded_at = OLD.recorded_at
)
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: UPDATE refused (only a redaction of personal data)');
END;
