-- When each upload was last started or appended to, so one left idle is
-- discarded (sync.md §6). Uploads held before it count as idle since
-- 1970: the first check discards them.

ALTER TABLE uploads ADD COLUMN touched_ms BIGINT NOT NULL DEFAULT 0;
