-- A device's policy changed by an administrator reaches its sessions on
-- every process (sync.md §5.7): the device trigger also announces
--   device <id> policy                         the policy was changed

CREATE OR REPLACE FUNCTION tidings_notify_device() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.revoked AND NOT OLD.revoked THEN
        PERFORM pg_notify('tidings', format('device %s revoked', NEW.id));
    END IF;
    IF (OLD.wipe_state, OLD.wipe_id) IS DISTINCT FROM (NEW.wipe_state, NEW.wipe_id) THEN
        PERFORM pg_notify('tidings', format('device %s wipe %s %s',
            NEW.id, NEW.wipe_state, NEW.wipe_id));
    END IF;
    IF OLD.policy IS DISTINCT FROM NEW.policy THEN
        PERFORM pg_notify('tidings', format('device %s policy', NEW.id));
    END IF;
    RETURN NULL;
END $$;
