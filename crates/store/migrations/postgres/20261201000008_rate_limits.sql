-- Rate limits every node shares (GCRA): one theoretical arrival time per key.
-- SQLite twin: ../sqlite/20261201000008_rate_limits.sql.
-- UNLOGGED: no WAL for a counter that is worth nothing after a crash (it
-- comes back empty, which only forgives recent attempts).
CREATE UNLOGGED TABLE rate_limits (
    key     BYTEA PRIMARY KEY,         -- SHA-256 of the kind and what is limited, never the credential
    tat_us  BIGINT NOT NULL            -- theoretical arrival time, microseconds since 1970
);
