-- Webhooks: creators' targets, the outbox of events, one delivery per event and
-- webhook, and the log of every attempt.
-- SQLite twin: ../sqlite/20261123000006_webhooks.sql (same tables, same names).

CREATE TABLE webhooks (
    id                            BIGINT PRIMARY KEY,
    campaign_id                   BIGINT NOT NULL REFERENCES campaigns (id),
    oauth_client_id               BIGINT REFERENCES oauth_clients (id) ON DELETE SET NULL,  -- NULL: made in the portal
    uri                           TEXT NOT NULL,
    triggers                      TEXT NOT NULL,        -- comma-separated trigger names
    -- The signing secret itself, not a hash: signing needs it (see ARCHITECTURE.md).
    secret                        TEXT NOT NULL,
    paused                        BOOLEAN NOT NULL DEFAULT FALSE,
    num_consecutive_times_failed  INTEGER NOT NULL DEFAULT 0,
    last_attempted_at             TIMESTAMPTZ,
    failing_since                 TIMESTAMPTZ,          -- set when deliveries were given up on
    created_at                    TIMESTAMPTZ NOT NULL,
    updated_at                    TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhooks_campaign ON webhooks (campaign_id);

-- The outbox: written in the same transaction as the change it tells of.
CREATE TABLE webhook_events (
    id           BIGINT PRIMARY KEY,
    campaign_id  BIGINT NOT NULL REFERENCES campaigns (id),
    trigger      TEXT NOT NULL,
    pledge_id    BIGINT,
    charge_id    BIGINT,
    is_test      BOOLEAN NOT NULL DEFAULT FALSE,
    body         TEXT NOT NULL,                       -- the JSON:API document, as it was then
    created_at   TIMESTAMPTZ NOT NULL
);

-- One event owed to one webhook. Its id is the `webhook-id` header.
CREATE TABLE webhook_deliveries (
    id               BIGINT PRIMARY KEY,
    webhook_id       BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         BIGINT NOT NULL REFERENCES webhook_events (id),
    -- pending: an attempt is due (or in flight, while claimed); delivered; failed: given up on.
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,    -- attempts started so far
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    give_up_at       TIMESTAMPTZ NOT NULL,
    claimed_by       TEXT,
    claimed_until    TIMESTAMPTZ,
    last_status      INTEGER,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    delivered_at     TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);

-- Every attempt, for the portal's delivery log. An attempt number is used once. No foreign
-- key to the delivery: an attempt in flight while its webhook is deleted is still written.
CREATE TABLE webhook_attempts (
    id              BIGINT PRIMARY KEY,
    delivery_id     BIGINT NOT NULL,
    webhook_id      BIGINT NOT NULL,
    attempt         INTEGER NOT NULL,
    started_at      TIMESTAMPTZ NOT NULL,
    latency_ms      BIGINT NOT NULL,
    status_code     INTEGER,                          -- NULL: no answer (refused, timed out, unreachable)
    error           TEXT,
    response_start  TEXT,                             -- the first bytes of the answer
    UNIQUE (delivery_id, attempt)
);
CREATE INDEX webhook_attempts_webhook ON webhook_attempts (webhook_id, id);
