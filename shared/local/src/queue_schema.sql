-- Stage queues and their dead-letter queues. Times are Unix milliseconds.

CREATE TABLE IF NOT EXISTS messages (
    -- AUTOINCREMENT: ids are never reused, so an old receipt can never match a new message.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    stage         TEXT NOT NULL,
    body          TEXT NOT NULL,
    visible_at    INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    -- Deliveries that ended in a postponement (a transient failure, retried with backoff): they
    -- do not count toward max_receives. Added to older files on open.
    postponed     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (stage, visible_at, id);

CREATE TABLE IF NOT EXISTS dead_letters (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    stage         TEXT NOT NULL,
    body          TEXT NOT NULL,
    reason        TEXT NOT NULL,
    at            INTEGER NOT NULL,
    -- Receives before it was dead-lettered (0: not recorded). Added to older files on open.
    receive_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS dead_letters_stage ON dead_letters (stage, id);
