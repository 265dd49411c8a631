-- A webhook belongs to the app that registered it, and stops with that app's access.
-- SQLite twin: ../sqlite/20261201000007_webhook_access.sql.

-- Why a webhook is paused when its creator did not choose it: NULL (by the
-- creator, or after failing), 'access_revoked' (its app lost the creator's
-- grant; re-authorizing resumes it), 'account_closed' (the creator's account
-- was deleted).
ALTER TABLE webhooks ADD COLUMN paused_reason TEXT;

-- An app's webhooks go with the app (they were set to NULL, which made them the creator's own).
ALTER TABLE webhooks DROP CONSTRAINT webhooks_oauth_client_id_fkey;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_oauth_client_id_fkey
    FOREIGN KEY (oauth_client_id) REFERENCES oauth_clients (id) ON DELETE CASCADE;
CREATE INDEX webhooks_client ON webhooks (oauth_client_id) WHERE oauth_client_id IS NOT NULL;
