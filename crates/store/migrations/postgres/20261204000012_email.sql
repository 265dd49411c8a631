-- E-mail: the outbox of messages, written in the same transaction as the change
-- that causes each and sent by the mail worker; one-time links (address
-- verification, password reset) as hashes only; the kinds each user turned off.
-- SQLite twin: ../sqlite/20261204000012_email.sql (same tables, same names).

-- When the account's current address was proven to reach its owner; NULL: not yet.
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMPTZ;

-- A charge whose outcome its payer has not been written to yet (a receipt, or
-- a declined payment). Billing sets it in the statement that records the
-- outcome; the mail worker writes the messages later, at its own pace, so
-- that a run of a million charges does not write a million messages too.
ALTER TABLE charges ADD COLUMN mail_due BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX charges_mail_due ON charges (id) WHERE mail_due;

CREATE TABLE emails (
    id               BIGINT PRIMARY KEY,   -- also the Message-ID: a resend is recognisable
    user_id          BIGINT NOT NULL REFERENCES users (id),
    kind             TEXT NOT NULL,         -- maecenas_domain::EmailKind
    to_address       TEXT NOT NULL,
    subject          TEXT NOT NULL,
    -- What the message says (JSON: maecenas_services::email::messages::Stored),
    -- written out as text and HTML at sending time, so that a billing run's
    -- receipts stay small. Kept only until the message is handed to the mail
    -- server (it may carry a one-time link); a sent message keeps its subject,
    -- address and dates.
    content          TEXT,
    -- The hash of this message's unsubscribe link (NULL: a kind that cannot be turned off).
    unsubscribe_hash BYTEA UNIQUE,
    -- pending: due (or being sent, while claimed); sent; failed: given up on.
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    give_up_at       TIMESTAMPTZ NOT NULL,
    claimed_until    TIMESTAMPTZ,
    last_error       TEXT,
    sent_ref         TEXT,                  -- what took it: the SMTP server's reply, or the file written
    created_at       TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ
);
CREATE INDEX emails_due ON emails (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX emails_user ON emails (user_id, id);

CREATE TABLE email_tokens (
    id          BIGINT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    purpose     TEXT NOT NULL CHECK (purpose IN ('verify', 'reset')),
    email       TEXT NOT NULL,          -- the address it was sent to (verify: the one it proves)
    token_hash  BYTEA NOT NULL UNIQUE,   -- SHA-256 of the link's token
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

CREATE TABLE email_opt_outs (
    user_id     BIGINT NOT NULL REFERENCES users (id),
    kind        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, kind)
);
