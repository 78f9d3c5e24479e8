-- Who a collection is delegated to, by index. Every change reads its
-- collection's readers (for the page prepared once for all its devices),
-- and removing a collection deletes its grants: each scanned every
-- delegation of every principal.

CREATE INDEX grants_by_collection ON grants (collection);
