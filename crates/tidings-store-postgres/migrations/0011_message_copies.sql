-- Copies of one delivered message share its bytes: the first copy's row in
-- messages holds them; every other copy is a row here naming it. A send of
-- 25 MiB to nine local recipients then writes 25 MiB once, not nine times,
-- inside the transaction every writer to those folders waits for.
CREATE TABLE message_copies (
    id BIGINT PRIMARY KEY,
    content BIGINT NOT NULL REFERENCES messages (id)
);
CREATE INDEX message_copies_by_content ON message_copies (content);
-- A holder whose own item is gone while copies still read its bytes: its
-- id no longer reads them. Freed with the last copy.
ALTER TABLE messages ADD COLUMN kept BOOLEAN NOT NULL DEFAULT false;
