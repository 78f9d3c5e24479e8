-- Each item keeps the patch from its previous content to its current one
-- (sync.md §3.1) and the content modseq it starts from; NULL when there is
-- none (a new item, or one whose patch would not pay).
ALTER TABLE items ADD COLUMN patch_base BIGINT;
ALTER TABLE items ADD COLUMN patch BYTEA;
