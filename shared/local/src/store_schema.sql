-- The handoff store. Timestamps are fixed-width UTC RFC 3339 text with nanoseconds, so text
-- order is time order.

CREATE TABLE IF NOT EXISTS handoffs (
    id             TEXT PRIMARY KEY NOT NULL,
    version        INTEGER NOT NULL,
    state          TEXT NOT NULL,
    record         TEXT NOT NULL,      -- the HandoffRecord as JSON
    contact_email  TEXT NOT NULL,
    company_domain TEXT,
    created_at     TEXT NOT NULL,
    due_at         TEXT,               -- NULL unless the record awaits its owner (record.due_at())
    expires_at     INTEGER             -- epoch seconds the purge removes it at; NULL: kept (open,
                                       -- or no retention). Added to older files by the migration.
) WITHOUT ROWID;

-- Sparse: only handoffs that await an owner carry a deadline, so the sweep reads what is due.
CREATE INDEX IF NOT EXISTS handoffs_due ON handoffs (due_at, id) WHERE due_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS handoffs_contact ON handoffs (contact_email, created_at);
CREATE INDEX IF NOT EXISTS handoffs_domain ON handoffs (company_domain, created_at)
    WHERE company_domain IS NOT NULL;
CREATE INDEX IF NOT EXISTS handoffs_created ON handoffs (created_at);
-- handoffs_expiry and threads_buyer are created by the migration in store/privacy.rs, after it
-- added their columns to files written by older versions.

CREATE TABLE IF NOT EXISTS timeline (
    handoff_id TEXT NOT NULL,
    version    INTEGER NOT NULL,
    entry      TEXT NOT NULL,          -- the TimelineEntry as JSON
    PRIMARY KEY (handoff_id, version)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS account_owners (
    domain     TEXT PRIMARY KEY NOT NULL,
    rep        TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS rep_load (
    rep   TEXT NOT NULL,
    day   TEXT NOT NULL,               -- YYYY-MM-DD, the rep's local date
    count INTEGER NOT NULL,
    PRIMARY KEY (rep, day)
) WITHOUT ROWID;

-- The round robin's fairness counters (HandoffStore::record_assignment), only ever added to:
-- per rep, the fair shares of the round-robin decisions they competed in (millionths of a
-- handoff) and the decisions they won. A file written by an older version gets the table when
-- opened (this script runs on every open); a missing row is a rep at zero.
CREATE TABLE IF NOT EXISTS fairness (
    rep   TEXT PRIMARY KEY NOT NULL,
    owed  INTEGER NOT NULL,
    won   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS availability (
    rep   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL                -- the AvailabilityOverride as JSON
) WITHOUT ROWID;

-- Outbound thread context (ThreadIndex): one row per normalised key (a Message-ID without angle
-- brackets, lower-cased, or a reply token), each holding the whole thread; a re-put replaces.
CREATE TABLE IF NOT EXISTS threads (
    key       TEXT PRIMARY KEY NOT NULL,   -- handoff_domain::ports::thread_key(raw)
    thread    TEXT NOT NULL,               -- the OutboundThread as JSON
    stored_at TEXT NOT NULL,               -- when it was (last) put
    buyer_email TEXT                       -- the thread's buyer (erasure looks threads up by it)
) WITHOUT ROWID;

-- One-time tokens (OnceTokens): a token is used while its row exists and has not expired.
CREATE TABLE IF NOT EXISTS once_tokens (
    key        TEXT PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL            -- remember_until, epoch seconds (as DynamoDB's TTL)
) WITHOUT ROWID;
