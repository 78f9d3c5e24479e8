-- An operation is applied once per device even when two server processes
-- run it at the same moment (a device that reconnected elsewhere and sent
-- it again, sync.md §6): the later record conflicts with the earlier one,
-- and its transaction, with everything it did, rolls back. Duplicates an
-- older build may have stored keep their first answer.
DELETE FROM applied_operations a
    USING applied_operations b
    WHERE a.device = b.device AND a.op_id = b.op_id AND a.seq > b.seq;
DROP INDEX applied_by_op;
CREATE UNIQUE INDEX applied_by_op ON applied_operations (device, op_id);
