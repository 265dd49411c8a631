-- Webhooks: creators' targets, the outbox of events, one delivery per event and
-- webhook, and the log of every attempt.
-- PostgreSQL twin: ../postgres/20261123000006_webhooks.sql (same tables, same names).

CREATE TABLE webhooks (
    id                            INTEGER PRIMARY KEY,
    campaign_id                   INTEGER NOT NULL REFERENCES campaigns (id),
    oauth_client_id               INTEGER REFERENCES oauth_clients (id) ON DELETE SET NULL,  -- NULL: made in the portal
    uri                           TEXT NOT NULL,
    triggers                      TEXT NOT NULL,        -- comma-separated trigger names
    -- The signing secret itself, not a hash: signing needs it (see ARCHITECTURE.md).
    secret                        TEXT NOT NULL,
    paused                        BOOLEAN NOT NULL DEFAULT 0,
    num_consecutive_times_failed  INTEGER NOT NULL DEFAULT 0,
    last_attempted_at             TEXT,
    failing_since                 TEXT,          -- set when deliveries were given up on
    created_at                    TEXT NOT NULL,
    updated_at                    TEXT NOT NULL
);
CREATE INDEX webhooks_campaign ON webhooks (campaign_id);

-- The outbox: written in the same transaction as the change it tells of.
CREATE TABLE webhook_events (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    trigger      TEXT NOT NULL,
    pledge_id    INTEGER,
    charge_id    INTEGER,
    is_test      BOOLEAN NOT NULL DEFAULT 0,
    body         TEXT NOT NULL,                       -- the JSON:API document, as it was then
    created_at   TEXT NOT NULL
);

-- One event owed to one webhook. Its id is the `webhook-id` header.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY,
    webhook_id       INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         INTEGER NOT NULL REFERENCES webhook_events (id),
    -- pending: an attempt is due (or in flight, while claimed); delivered; failed: given up on.
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,    -- attempts started so far
    next_attempt_at  TEXT NOT NULL,
    give_up_at       TEXT NOT NULL,
    claimed_by       TEXT,
    claimed_until    TEXT,
    last_status      INTEGER,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    delivered_at     TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);

-- Every attempt, for the portal's delivery log. An attempt number is used once. No foreign
-- key to the delivery: an attempt in flight while its webhook is deleted is still written.
CREATE TABLE webhook_attempts (
    id              INTEGER PRIMARY KEY,
    delivery_id     INTEGER NOT NULL,
    webhook_id      INTEGER NOT NULL,
    attempt         INTEGER NOT NULL,
    started_at      TEXT NOT NULL,
    latency_ms      INTEGER NOT NULL,
    status_code     INTEGER,                          -- NULL: no answer (refused, timed out, unreachable)
    error           TEXT,
    response_start  TEXT,                             -- the first bytes of the answer
    UNIQUE (delivery_id, attempt)
);
CREATE INDEX webhook_attempts_webhook ON webhook_attempts (webhook_id, id);
