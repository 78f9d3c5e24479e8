-- The schema of SqliteStore, carried over: BIGINT for ids, modseqs and
-- timestamps (u64 stored bit for bit; comparisons of client-chosen values
-- happen in Rust), BYTEA for blobs.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

-- Ids of principals, collections, items and devices: unique, not gap-free
-- (a rolled-back transaction burns the ids it drew). A sequence, not a
-- counter row, so writers to different collections never wait on each other.
CREATE SEQUENCE ids AS BIGINT START WITH 1;

CREATE TABLE principals (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    -- The address with ASCII letters lowered (by the store, as the core's
    -- MemoryStore compares): unique, and what lookups use.
    email_key TEXT NOT NULL UNIQUE
);

-- A collection's head: epoch, modseq of its latest change, floor below which
-- removals are forgotten. Every write bumps modseq with UPDATE ... RETURNING
-- inside its transaction: the row lock orders writers of one collection, so
-- modseqs are gap-free and commit in order.
CREATE TABLE collections (
    id BIGINT PRIMARY KEY,
    kind INTEGER NOT NULL,
    name TEXT NOT NULL,
    owner BIGINT NOT NULL REFERENCES principals (id),
    epoch BIGINT NOT NULL,
    modseq BIGINT NOT NULL,
    floor BIGINT NOT NULL
);
CREATE INDEX collections_by_owner ON collections (owner);

CREATE TABLE grants (
    principal BIGINT NOT NULL REFERENCES principals (id),
    collection BIGINT NOT NULL REFERENCES collections (id),
    rights BIGINT NOT NULL,
    PRIMARY KEY (principal, collection)
);

-- One row per item: its latest state, indexed by the modseq of its latest
-- change (the change log, coalesced). Removed items stay as tombstones
-- (packed NULL) until compaction.
CREATE TABLE items (
    collection BIGINT NOT NULL REFERENCES collections (id),
    id BIGINT NOT NULL,
    modseq BIGINT NOT NULL,
    content_modseq BIGINT NOT NULL,
    packed BYTEA,
    flags BIGINT NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE UNIQUE INDEX items_by_modseq ON items (collection, modseq);
-- Packed items are deflated already: storing them out of line without
-- another compression attempt saves the CPU for nothing.
ALTER TABLE items ALTER COLUMN packed SET STORAGE EXTERNAL;

-- Raw RFC 5322 messages, for range fetches of parts.
CREATE TABLE messages (
    id BIGINT PRIMARY KEY,
    raw BYTEA NOT NULL
);

-- Activation codes: only the SHA-256 hash of a code is kept.
CREATE TABLE activations (
    lookup TEXT PRIMARY KEY,
    principal BIGINT NOT NULL REFERENCES principals (id),
    hash BYTEA NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    attempts_left BIGINT NOT NULL,
    burned BOOLEAN NOT NULL
);

CREATE TABLE devices (
    id BIGINT PRIMARY KEY,
    principal BIGINT NOT NULL REFERENCES principals (id),
    public_key BYTEA NOT NULL UNIQUE,
    name TEXT NOT NULL,
    last_hello BIGINT,
    revoked BOOLEAN NOT NULL DEFAULT false,
    -- 0 none, 1 pending, 2 done (WipeState).
    wipe_state BIGINT NOT NULL DEFAULT 0,
    wipe_id BIGINT NOT NULL DEFAULT 0,
    policy BYTEA NOT NULL DEFAULT '\x'
);
CREATE INDEX devices_by_principal ON devices (principal);

CREATE TABLE cursors (
    device BIGINT NOT NULL REFERENCES devices (id),
    collection BIGINT NOT NULL,
    epoch BIGINT NOT NULL,
    modseq BIGINT NOT NULL,
    floor BIGINT NOT NULL,
    partial BOOLEAN NOT NULL,
    PRIMARY KEY (device, collection)
);

-- The last APPLIED_OPERATIONS_PER_DEVICE operation results per device, in
-- the order they were applied (seq).
CREATE TABLE applied_operations (
    device BIGINT NOT NULL REFERENCES devices (id),
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    op_id BYTEA NOT NULL,
    result BYTEA NOT NULL,
    PRIMARY KEY (device, seq)
);
CREATE INDEX applied_by_op ON applied_operations (device, op_id);
