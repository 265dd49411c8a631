-- Browser sessions and the OAuth2 authorization server's state.
-- Every secret (session id, code, access and refresh token) is stored as its SHA-256 only.

CREATE TABLE sessions (
    token_hash  BYTEA PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- One person's consent to one client: the family of the code and every token
-- refreshed from it, revoked together when a code or refresh token is replayed.
CREATE TABLE oauth_grants (
    id             BIGINT PRIMARY KEY,
    client_row_id  BIGINT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id        BIGINT NOT NULL REFERENCES users (id),
    scope          TEXT NOT NULL,             -- space-separated
    created_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ
);
CREATE INDEX oauth_grants_user ON oauth_grants (user_id);
CREATE INDEX oauth_grants_client ON oauth_grants (client_row_id);

CREATE TABLE oauth_codes (
    code_hash       BYTEA PRIMARY KEY,
    grant_id        BIGINT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    redirect_uri    TEXT NOT NULL,            -- as presented at authorize time
    code_challenge  TEXT,                     -- PKCE S256 challenge, if one was sent
    expires_at      TIMESTAMPTZ NOT NULL,
    used_at         TIMESTAMPTZ
);
CREATE INDEX oauth_codes_grant ON oauth_codes (grant_id);

CREATE TABLE oauth_tokens (
    id                 BIGINT PRIMARY KEY,
    grant_id           BIGINT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    access_hash        BYTEA NOT NULL UNIQUE,
    refresh_hash       BYTEA NOT NULL UNIQUE,
    created_at         TIMESTAMPTZ NOT NULL,
    access_expires_at  TIMESTAMPTZ NOT NULL,
    refreshed_at       TIMESTAMPTZ,           -- its refresh token was used: both are dead
    revoked_at         TIMESTAMPTZ
);
CREATE INDEX oauth_tokens_grant ON oauth_tokens (grant_id);
