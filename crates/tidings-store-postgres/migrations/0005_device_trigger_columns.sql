-- The device trigger fires only for updates that set what it announces
-- (revocation, wipe, policy). Every reconnect updates `last_hello`; before
-- this step each of those ran the trigger's function for nothing.

DROP TRIGGER devices_notify ON devices;
CREATE TRIGGER devices_notify
    AFTER UPDATE OF revoked, wipe_state, wipe_id, policy ON devices
    FOR EACH ROW EXECUTE FUNCTION tidings_notify_device();
