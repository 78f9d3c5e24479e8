-- Items by id alone: removing a mail finds at once whether its id is still
-- live in another collection (a move upserts it into the target before it
-- removes it from the source) before its raw message is deleted. Raw
-- messages older builds kept after a removal are deleted by housekeeping
-- in batches, not here: deleting many gigabytes in this transaction would
-- keep every process from starting for as long as that takes.
CREATE INDEX items_by_id ON items (id);
