-- Rate limits every node shares (GCRA): one theoretical arrival time per key.
-- PostgreSQL twin: ../postgres/20261201000008_rate_limits.sql. SQLite runs on one
-- node and keeps its limits in memory; the table is here so the schemas match.
CREATE TABLE rate_limits (
    key     BLOB PRIMARY KEY,          -- SHA-256 of the kind and what is limited, never the credential
    tat_us  INTEGER NOT NULL           -- theoretical arrival time, microseconds since 1970
);
