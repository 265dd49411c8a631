-- Posts as creators write them on the web: who may read them, an optional
-- link or embed, edits, pictures kept in the database (so every node serves
-- them), and each patron's private feed address.
-- PostgreSQL twin: ../postgres/20261203000010_posts.sql.

-- 'public': everyone; 'patrons': anyone with a current pledge; 'tier': a
-- current pledge of at least min_tier_id's amount.
ALTER TABLE creations ADD COLUMN audience TEXT NOT NULL DEFAULT 'public'
    CHECK (audience IN ('public', 'patrons', 'tier'));
ALTER TABLE creations ADD COLUMN min_tier_id INTEGER REFERENCES tiers (id);
ALTER TABLE creations ADD COLUMN embed_url TEXT;
ALTER TABLE creations ADD COLUMN updated_at TEXT;
UPDATE creations SET updated_at = created_at;
-- What patrons paid for stays theirs.
UPDATE creations SET audience = 'patrons' WHERE is_paid;
-- A campaign's published posts, newest first (keyset paging).
CREATE INDEX creations_published ON creations (campaign_id, published_at DESC, id DESC)
    WHERE published_at IS NOT NULL;

CREATE TABLE creation_images (
    id            INTEGER PRIMARY KEY,
    creation_id   INTEGER NOT NULL REFERENCES creations (id),
    content_type  TEXT NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/webp')),
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    bytes         BLOB NOT NULL,
    etag          TEXT NOT NULL,              -- hex SHA-256 of the bytes
    created_at    TEXT NOT NULL
);
CREATE INDEX creation_images_creation ON creation_images (creation_id, id);

-- A patron's private feed: the URL carries a random secret, kept here only
-- as its SHA-256. Revoking deletes the row; a new secret replaces it.
CREATE TABLE patron_feeds (
    user_id       INTEGER PRIMARY KEY REFERENCES users (id),
    secret_hash   BLOB NOT NULL UNIQUE,
    created_at    TEXT NOT NULL
);
