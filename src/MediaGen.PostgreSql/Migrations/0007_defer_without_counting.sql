-- A fifth lease operation: 5 defers, which abandons as 2 does (visible again after p_ms, or at once) and takes back
-- the delivery the receive counted, so a delivery handed back on purpose (a provider pause, another delivery's live
-- lease on the job, a shutdown) does not count toward the worker's MaxDeliveryCount. lifecycle_commit passes its lease
-- operation through to this function, so a step settles with 5 as well.

CREATE OR REPLACE FUNCTION {schema}.queue_settle(p_op smallint, p_id text, p_token bigint, p_now timestamptz, p_ms bigint, p_reason text, p_description text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_group text;
    v_uncount integer := CASE WHEN p_op = 5 THEN 1 ELSE 0 END;
BEGIN
    IF p_op = 1 THEN
        DELETE FROM {schema}.queue_messages WHERE id = p_id AND state = 2 AND lease_token = p_token AND visible_at > p_now;
        RETURN CASE WHEN FOUND THEN 1 ELSE -1 END;
    END IF;
    SELECT group_id INTO v_group FROM {schema}.queue_messages
    WHERE id = p_id AND state = 2 AND lease_token = p_token AND visible_at > p_now FOR UPDATE;
    IF NOT FOUND THEN
        RETURN -1;
    END IF;
    IF p_op = 4 THEN
        UPDATE {schema}.queue_messages SET visible_at = p_now + p_ms * interval '1 millisecond' WHERE id = p_id;
    ELSIF p_op IN (2, 5) AND p_ms > 0 THEN
        UPDATE {schema}.queue_messages SET state = 1, visible_at = p_now + p_ms * interval '1 millisecond', lease_token = NULL,
            delivery_count = greatest(delivery_count - v_uncount, 0)
        WHERE id = p_id;
        PERFORM pg_notify('{channel}wake', '');
    ELSIF p_op IN (2, 5) THEN
        UPDATE {schema}.queue_messages SET state = 0, visible_at = NULL, lease_token = NULL, tag = {schema}.queue_next_tag(v_group),
            delivery_count = greatest(delivery_count - v_uncount, 0)
        WHERE id = p_id;
        PERFORM pg_notify('{channel}wake', '');
    ELSE
        UPDATE {schema}.queue_messages SET state = 3, visible_at = NULL, lease_token = NULL,
            dead_reason = p_reason, dead_description = p_description, dead_at = p_now
        WHERE id = p_id;
    END IF;
    RETURN 1;
END $$;
