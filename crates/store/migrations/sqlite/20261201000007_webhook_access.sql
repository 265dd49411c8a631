-- A webhook belongs to the app that registered it, and stops with that app's access.
-- PostgreSQL twin: ../postgres/20261201000007_webhook_access.sql.

-- Why a webhook is paused when its creator did not choose it: NULL (by the
-- creator, or after failing), 'access_revoked' (its app lost the creator's
-- grant; re-authorizing resumes it), 'account_closed' (the creator's account
-- was deleted).
ALTER TABLE webhooks ADD COLUMN paused_reason TEXT;

-- An app's webhooks go with the app. (The column's foreign key says SET NULL,
-- which would turn them into the creator's own; SQLite cannot alter a foreign
-- key in place, and a trigger runs before the key's action.)
CREATE TRIGGER webhooks_go_with_their_client BEFORE DELETE ON oauth_clients
BEGIN
    DELETE FROM webhooks WHERE oauth_client_id = OLD.id;
END;
CREATE INDEX webhooks_client ON webhooks (oauth_client_id) WHERE oauth_client_id IS NOT NULL;
