-- A platform's « wait until » shared by every replica, PostgreSQL flavour. Keep in step with
-- ../sqlite/0010_send_waits.sql.
--
-- When a send gets HTTP 429 the platform names how long to wait (`retry_after`). The dispatcher that got
-- it records « not before » for the chat and for the whole bot (`chat_id` = ''), and every dispatcher's
-- claim skips the rows of a platform or chat whose wait has not run out: a 429 seen by one replica holds
-- them all, not only the process that got it. One row per (platform, chat), kept at its latest end; a
-- past wait is inert and is overwritten by the next.
CREATE TABLE send_waits (
    platform   TEXT NOT NULL,
    chat_id    TEXT NOT NULL,
    not_before TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (platform, chat_id)
);
