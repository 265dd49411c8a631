-- Uploaded profile pictures, validated before they are stored (PNG, JPEG or WebP).
-- PostgreSQL twin: ../postgres/20261123000005_avatars.sql.
CREATE TABLE user_avatars (
    user_id       INTEGER PRIMARY KEY REFERENCES users (id),
    content_type  TEXT NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/webp')),
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    bytes         BLOB NOT NULL,
    etag          TEXT NOT NULL,              -- hex SHA-256 of the bytes
    updated_at    TEXT NOT NULL
);
