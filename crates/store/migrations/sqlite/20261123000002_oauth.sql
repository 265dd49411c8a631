-- Browser sessions and the OAuth2 authorization server's state.
-- Every secret (session id, code, access and refresh token) is stored as its SHA-256 only.

CREATE TABLE sessions (
    token_hash  BLOB PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- One person's consent to one client: the family of the code and every token
-- refreshed from it, revoked together when a code or refresh token is replayed.
CREATE TABLE oauth_grants (
    id             INTEGER PRIMARY KEY,
    client_row_id  INTEGER NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id        INTEGER NOT NULL REFERENCES users (id),
    scope          TEXT NOT NULL,             -- space-separated
    created_at     TEXT NOT NULL,
    revoked_at     TEXT
);
CREATE INDEX oauth_grants_user ON oauth_grants (user_id);
CREATE INDEX oauth_grants_client ON oauth_grants (client_row_id);

CREATE TABLE oauth_codes (
    code_hash       BLOB PRIMARY KEY,
    grant_id        INTEGER NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    redirect_uri    TEXT NOT NULL,            -- as presented at authorize time
    code_challenge  TEXT,                     -- PKCE S256 challenge, if one was sent
    expires_at      TEXT NOT NULL,
    used_at         TEXT
);
CREATE INDEX oauth_codes_grant ON oauth_codes (grant_id);

CREATE TABLE oauth_tokens (
    id                 INTEGER PRIMARY KEY,
    grant_id           INTEGER NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    access_hash        BLOB NOT NULL UNIQUE,
    refresh_hash       BLOB NOT NULL UNIQUE,
    created_at         TEXT NOT NULL,
    access_expires_at  TEXT NOT NULL,
    refreshed_at       TEXT,           -- its refresh token was used: both are dead
    revoked_at         TEXT
);
CREATE INDEX oauth_tokens_grant ON oauth_tokens (grant_id);
