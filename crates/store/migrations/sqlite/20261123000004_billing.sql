-- Billing: charges (what patrons owe and pay), the double-entry ledger, payouts,
-- and the built-in test gateway's own books.
-- PostgreSQL twin: ../postgres/20261123000004_billing.sql (same tables, same names).

-- One amount a patron owes: a pledge's billing period, or a donation. A pledge is
-- charged at most once per period (charges_pledge_period), whatever crashes.
CREATE TABLE charges (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT NOT NULL CHECK (kind IN ('pledge', 'donation')),
    pledge_id           INTEGER REFERENCES pledges (id),
    donation_id         INTEGER REFERENCES donations (id),
    period              TEXT,                     -- 'YYYY-MM' (UTC) for pledges
    patron_id           INTEGER NOT NULL REFERENCES users (id),
    campaign_id         INTEGER NOT NULL REFERENCES campaigns (id),
    payment_method_id   INTEGER REFERENCES payment_methods (id),
    currency            TEXT NOT NULL,
    amount_minor        INTEGER NOT NULL CHECK (amount_minor > 0),   -- gross, what the patron pays
    gateway_fee_minor   INTEGER NOT NULL CHECK (gateway_fee_minor >= 0),
    platform_fee_minor  INTEGER NOT NULL CHECK (platform_fee_minor >= 0),
    creator_net_minor   INTEGER NOT NULL CHECK (creator_net_minor >= 0),
    -- pending: an attempt is due or in flight; retrying: the last attempt failed
    -- and another is scheduled; succeeded; failed: no attempt is left; refunded.
    status              TEXT NOT NULL CHECK (status IN ('pending', 'retrying', 'succeeded', 'failed', 'refunded')),
    attempts            INTEGER NOT NULL DEFAULT 1,   -- the current (or last) attempt's number
    next_attempt_at     TEXT NOT NULL,
    first_failed_at     TEXT,
    failure_code        TEXT,
    failure_message     TEXT,
    gateway             TEXT NOT NULL,
    gateway_ref         TEXT,                         -- the gateway's payment id once it succeeded
    claimed_by          TEXT,                         -- the billing run that last took it
    claimed_until       TEXT,                         -- its lease; after that another run may
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    succeeded_at        TEXT,
    CHECK (amount_minor = gateway_fee_minor + platform_fee_minor + creator_net_minor),
    CHECK ((kind = 'pledge' AND pledge_id IS NOT NULL AND period IS NOT NULL)
        OR (kind = 'donation' AND donation_id IS NOT NULL))
);
CREATE UNIQUE INDEX charges_pledge_period ON charges (pledge_id, period) WHERE pledge_id IS NOT NULL;
CREATE UNIQUE INDEX charges_donation ON charges (donation_id) WHERE donation_id IS NOT NULL;
CREATE INDEX charges_open ON charges (next_attempt_at, id) WHERE status IN ('pending', 'retrying');
CREATE INDEX charges_campaign ON charges (campaign_id, period);
CREATE INDEX charges_patron ON charges (patron_id, id);

-- A creator's balance leaves through payouts. Scheduled ones are one per campaign and period.
CREATE TABLE payouts (
    id               INTEGER PRIMARY KEY,
    campaign_id      INTEGER NOT NULL REFERENCES campaigns (id),
    period           TEXT,
    currency         TEXT NOT NULL,
    amount_minor     INTEGER NOT NULL CHECK (amount_minor > 0),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed')),
    gateway          TEXT NOT NULL,
    gateway_ref      TEXT,
    failure_message  TEXT,
    created_at       TEXT NOT NULL,
    paid_at          TEXT
);
CREATE UNIQUE INDEX payouts_scheduled ON payouts (campaign_id, period) WHERE period IS NOT NULL;
CREATE INDEX payouts_campaign ON payouts (campaign_id, id);

-- Double entry: every posting (journal) is several lines that sum to zero per
-- currency. Debits are positive, credits negative. Accounts:
--   gateway_cash      money held at the gateway (asset)
--   creator_payable   what the platform owes a campaign's creator (liability; per campaign)
--   platform_revenue  the platform's fees
CREATE TABLE ledger_entries (
    id            INTEGER PRIMARY KEY,
    journal_id    INTEGER NOT NULL,
    account       TEXT NOT NULL CHECK (account IN ('gateway_cash', 'creator_payable', 'platform_revenue')),
    campaign_id   INTEGER REFERENCES campaigns (id),
    line          TEXT NOT NULL CHECK (line IN ('charge', 'gateway_fee', 'platform_fee', 'creator_share', 'payout',
                                                'refund', 'refund_platform_fee', 'refund_creator_share')),
    amount_minor  INTEGER NOT NULL,
    currency      TEXT NOT NULL,
    charge_id     INTEGER REFERENCES charges (id),
    payout_id     INTEGER REFERENCES payouts (id),
    created_at    TEXT NOT NULL,
    CHECK ((account = 'creator_payable') = (campaign_id IS NOT NULL))
);
-- A charge or payout posts once.
CREATE UNIQUE INDEX ledger_charge_line ON ledger_entries (charge_id, line) WHERE charge_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_payout_line ON ledger_entries (payout_id, account) WHERE payout_id IS NOT NULL;
CREATE INDEX ledger_journal ON ledger_entries (journal_id);
CREATE INDEX ledger_creator ON ledger_entries (campaign_id, currency) WHERE campaign_id IS NOT NULL;

-- The built-in `test` gateway's books, kept as an outside processor keeps them:
-- written in their own transactions, so a crash of a billing run cannot undo them.
CREATE TABLE test_gateway_operations (
    id               TEXT PRIMARY KEY,            -- pi_test_... / po_test_... / re_test_...
    kind             TEXT NOT NULL CHECK (kind IN ('payment', 'payout', 'refund')),
    idempotency_key  TEXT NOT NULL UNIQUE,
    reference        TEXT NOT NULL,               -- the metadata Maecenas attached
    payment_method   TEXT,
    amount_minor     INTEGER NOT NULL,
    currency         TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
    failure_code     TEXT,
    created_at       TEXT NOT NULL
);
CREATE INDEX test_gateway_reference ON test_gateway_operations (reference);
