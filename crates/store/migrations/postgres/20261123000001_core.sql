-- The data model of both seeds. Ids are snowflakes minted by the application.
-- Money is integer minor units; the currency sits beside it (or on the campaign).
-- SQLite twin: ../sqlite/20261123000001_core.sql (same tables, same names).

CREATE TABLE users (
    id             BIGINT PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT,                       -- argon2id PHC string; NULL: cannot log in
    username       TEXT,                       -- Sponsus username / unique_url, Patreon vanity
    first_name     TEXT NOT NULL DEFAULT '',
    last_name      TEXT NOT NULL DEFAULT '',
    about          TEXT NOT NULL DEFAULT '',   -- Markdown
    description    TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT 'public' CHECK (status IN ('public', 'hidden')),
    image_url      TEXT,
    thumb_url      TEXT,
    facebook_id    TEXT,
    youtube        TEXT,
    twitter        TEXT,
    facebook       TEXT,
    is_creator     BOOLEAN NOT NULL DEFAULT FALSE,
    is_admin       BOOLEAN NOT NULL DEFAULT FALSE,
    is_suspended   BOOLEAN NOT NULL DEFAULT FALSE,
    is_deleted     BOOLEAN NOT NULL DEFAULT FALSE,
    is_nuked       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

CREATE TABLE campaigns (
    id                BIGINT PRIMARY KEY,
    creator_id        BIGINT NOT NULL UNIQUE REFERENCES users (id),
    currency          TEXT NOT NULL DEFAULT 'USD',
    summary           TEXT,
    creation_name     TEXT,
    pay_per_name      TEXT,
    one_liner         TEXT,
    main_video_embed  TEXT,
    main_video_url    TEXT,
    image_small_url   TEXT,
    image_url         TEXT,
    thanks_video_url  TEXT,
    thanks_embed      TEXT,
    thanks_msg        TEXT,
    is_monthly        BOOLEAN NOT NULL DEFAULT TRUE,
    is_nsfw           BOOLEAN NOT NULL DEFAULT FALSE,
    show_earnings     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at        TIMESTAMPTZ NOT NULL,
    published_at      TIMESTAMPTZ,
    updated_at        TIMESTAMPTZ NOT NULL
);

-- Patreon "rewards", Sponsus "tiers". Prices are in the campaign's currency.
CREATE TABLE tiers (
    id                 BIGINT PRIMARY KEY,
    campaign_id        BIGINT NOT NULL REFERENCES campaigns (id),
    title              TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    amount_minor       BIGINT NOT NULL CHECK (amount_minor >= 0),
    patron_limit       INTEGER CHECK (patron_limit > 0),
    requires_shipping  BOOLEAN NOT NULL DEFAULT FALSE,
    image_url          TEXT,
    position           INTEGER NOT NULL DEFAULT 0,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    retired_at         TIMESTAMPTZ
);
CREATE INDEX tiers_campaign ON tiers (campaign_id, position);

CREATE TABLE goals (
    id            BIGINT PRIMARY KEY,
    campaign_id   BIGINT NOT NULL REFERENCES campaigns (id),
    amount_minor  BIGINT NOT NULL CHECK (amount_minor > 0),
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    reached_at    TIMESTAMPTZ,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX goals_campaign ON goals (campaign_id, amount_minor);

-- Posts. Paid creations of per-creation campaigns drive billing.
CREATE TABLE creations (
    id            BIGINT PRIMARY KEY,
    campaign_id   BIGINT NOT NULL REFERENCES campaigns (id),
    title         TEXT NOT NULL,
    body          TEXT NOT NULL DEFAULT '',
    is_paid       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL,
    published_at  TIMESTAMPTZ
);
CREATE INDEX creations_campaign ON creations (campaign_id, published_at);

CREATE TABLE addresses (
    id            BIGINT PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id),
    addressee     TEXT NOT NULL,
    line_1        TEXT NOT NULL,
    line_2        TEXT,
    postal_code   TEXT NOT NULL DEFAULT '',
    city          TEXT NOT NULL,
    state         TEXT,
    country       TEXT NOT NULL,              -- ISO 3166-1 alpha-2
    phone_number  TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX addresses_user ON addresses (user_id);

-- Cards as the gateway knows them. Never the number: only brand and last four digits.
CREATE TABLE payment_methods (
    id                  BIGINT PRIMARY KEY,
    user_id             BIGINT NOT NULL REFERENCES users (id),
    gateway             TEXT NOT NULL,        -- 'test' | 'stripe'
    gateway_ref         TEXT NOT NULL,        -- the gateway's payment method / token id
    brand               TEXT NOT NULL,        -- Patreon card_type
    last4               TEXT NOT NULL,
    exp_month           INTEGER NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    exp_year            INTEGER NOT NULL,
    is_verified         BOOLEAN NOT NULL DEFAULT FALSE,
    has_failed_payment  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          TIMESTAMPTZ NOT NULL,
    removed_at          TIMESTAMPTZ,
    UNIQUE (gateway, gateway_ref)
);
CREATE INDEX payment_methods_user ON payment_methods (user_id);

CREATE TABLE pledges (
    id                 BIGINT PRIMARY KEY,
    patron_id          BIGINT NOT NULL REFERENCES users (id),
    campaign_id        BIGINT NOT NULL REFERENCES campaigns (id),
    tier_id            BIGINT REFERENCES tiers (id),
    amount_minor       BIGINT NOT NULL CHECK (amount_minor > 0),
    currency           TEXT NOT NULL,
    pledge_cap_minor   BIGINT CHECK (pledge_cap_minor > 0),
    patron_pays_fees   BOOLEAN NOT NULL DEFAULT FALSE,
    address_id         BIGINT REFERENCES addresses (id),
    payment_method_id  BIGINT REFERENCES payment_methods (id),
    vat_country        TEXT,                  -- Patreon pledge_vat_location.geo_country_code
    status             TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled', 'declined')),
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    cancelled_at       TIMESTAMPTZ,
    ended_at           TIMESTAMPTZ            -- set when the pledge no longer entitles anything
);
-- One current pledge per patron and campaign; history stays.
CREATE UNIQUE INDEX pledges_current ON pledges (patron_id, campaign_id) WHERE ended_at IS NULL;
-- Keyset paging through a campaign's pledges (ids are time-ordered).
CREATE INDEX pledges_campaign_page ON pledges (campaign_id, id);
CREATE INDEX pledges_patron ON pledges (patron_id);

CREATE TABLE donations (
    id                 BIGINT PRIMARY KEY,
    donor_id           BIGINT NOT NULL REFERENCES users (id),
    campaign_id        BIGINT NOT NULL REFERENCES campaigns (id),
    amount_minor       BIGINT NOT NULL CHECK (amount_minor > 0),
    currency           TEXT NOT NULL,
    message            TEXT NOT NULL DEFAULT '',
    payment_method_id  BIGINT REFERENCES payment_methods (id),
    status             TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded')),
    active_until       TIMESTAMPTZ,           -- Sponsus "active" donations: still valid until then
    created_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX donations_campaign_donor ON donations (campaign_id, donor_id);

CREATE TABLE oauth_clients (
    id                 BIGINT PRIMARY KEY,
    client_id          TEXT NOT NULL UNIQUE,  -- public
    owner_id           BIGINT NOT NULL REFERENCES users (id),
    name               TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    icon_url           TEXT,
    secret_hash        BYTEA NOT NULL,        -- SHA-256 of the secret, shown once
    created_at         TIMESTAMPTZ NOT NULL,
    secret_rotated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX oauth_clients_owner ON oauth_clients (owner_id);

CREATE TABLE oauth_client_redirect_uris (
    client_row_id  BIGINT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    uri            TEXT NOT NULL,
    PRIMARY KEY (client_row_id, position),
    UNIQUE (client_row_id, uri)
);

-- Personal API keys (Sponsus `Authorization: <key>`).
CREATE TABLE api_keys (
    id            BIGINT PRIMARY KEY,
    owner_id      BIGINT NOT NULL REFERENCES users (id),
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,              -- shown in lists so a person can tell keys apart
    key_hash      BYTEA NOT NULL UNIQUE,      -- SHA-256 of the key, shown once
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX api_keys_owner ON api_keys (owner_id);
