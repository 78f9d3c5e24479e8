-- The parts of delivered messages, decoded once at delivery and kept in
-- 64 KiB pieces, so that a range fetch reads only the pieces it needs:
-- every 48 KiB range of a 20 MB attachment parsed the whole 28 MB message
-- again (0.5 to 1.75 s a range, 12 minutes for the file). They go with the
-- message that holds them; copies read their holder's. A message stored
-- before this step has none, and is read the old way.
CREATE TABLE message_parts (
    message BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    part BIGINT NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (message, part)
);
CREATE TABLE message_part_pieces (
    message BIGINT NOT NULL,
    part BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (message, part, seq),
    FOREIGN KEY (message, part) REFERENCES message_parts (message, part) ON DELETE CASCADE
);
-- Pieces are bytes already decoded, often compressed files: stored as they are.
ALTER TABLE message_part_pieces ALTER COLUMN data SET STORAGE EXTERNAL;
