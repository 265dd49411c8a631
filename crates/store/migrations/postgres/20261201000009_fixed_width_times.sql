-- TIMESTAMPTZ compares as time already; the SQLite twin rewrites its text
-- times into one fixed width (../sqlite/20261201000009_fixed_width_times.sql).
SELECT 1;
