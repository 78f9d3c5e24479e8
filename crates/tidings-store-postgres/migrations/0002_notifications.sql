-- Change notification for several server processes on one database: every
-- change a device must hear of is announced on channel 'tidings' by the
-- transaction that makes it. PostgreSQL delivers notifications only when
-- that transaction commits, in commit order, and never for a rollback, so a
-- listener that reads the database after a notice sees the change.
--
-- Payloads (decimal numbers are the stored signed values):
--   collection <id> <epoch> <modseq> <floor>   a head moved, or a new collection
--   grants <principal> <collection>            a delegation changed
--   device <id> revoked                        a device was revoked
--   device <id> wipe <state> <wipe id>         a wipe was ordered or confirmed

CREATE FUNCTION tidings_notify_collection() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tidings', format('collection %s %s %s %s',
        NEW.id, NEW.epoch, NEW.modseq, NEW.floor));
    RETURN NULL;
END $$;

CREATE TRIGGER collections_notify_insert AFTER INSERT ON collections
    FOR EACH ROW EXECUTE FUNCTION tidings_notify_collection();
CREATE TRIGGER collections_notify_update AFTER UPDATE ON collections
    FOR EACH ROW
    WHEN ((OLD.epoch, OLD.modseq, OLD.floor) IS DISTINCT FROM (NEW.epoch, NEW.modseq, NEW.floor))
    EXECUTE FUNCTION tidings_notify_collection();

CREATE FUNCTION tidings_notify_grants() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('tidings', format('grants %s %s', OLD.principal, OLD.collection));
    ELSE
        PERFORM pg_notify('tidings', format('grants %s %s', NEW.principal, NEW.collection));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER grants_notify AFTER INSERT OR UPDATE OR DELETE ON grants
    FOR EACH ROW EXECUTE FUNCTION tidings_notify_grants();

CREATE FUNCTION tidings_notify_device() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.revoked AND NOT OLD.revoked THEN
        PERFORM pg_notify('tidings', format('device %s revoked', NEW.id));
    END IF;
    IF (OLD.wipe_state, OLD.wipe_id) IS DISTINCT FROM (NEW.wipe_state, NEW.wipe_id) THEN
        PERFORM pg_notify('tidings', format('device %s wipe %s %s',
            NEW.id, NEW.wipe_state, NEW.wipe_id));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER devices_notify AFTER UPDATE ON devices
    FOR EACH ROW EXECUTE FUNCTION tidings_notify_device();
