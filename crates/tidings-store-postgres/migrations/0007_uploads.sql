-- Files devices upload for the mail they send (UploadPart, sync.md §6): one
-- row per upload, `seq` ordering a device's uploads oldest first, and one
-- row per part as it arrived, so a part is one insert and the whole file
-- is read once, when a mail takes it. The core bounds size and number.

CREATE TABLE uploads (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device BIGINT NOT NULL REFERENCES devices (id),
    upload_id BYTEA NOT NULL,
    total_size BIGINT NOT NULL,
    held BIGINT NOT NULL DEFAULT 0,
    UNIQUE (device, upload_id)
);

CREATE TABLE upload_parts (
    upload BIGINT NOT NULL REFERENCES uploads (seq) ON DELETE CASCADE,
    at_byte BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (upload, at_byte)
);
