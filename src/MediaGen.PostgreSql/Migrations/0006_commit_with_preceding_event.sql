-- A step that carries an event of its job to publish just before its own (the last output's OutputStored riding with
-- the step that ends the job, so that event costs no statement of its own). lifecycle_commit applies the step without
-- its event; only when it applied are both events numbered, in order, on the job's row, which the step's write has
-- already locked. Callers use it only for steps that write the job, so the row lock still comes first.
CREATE FUNCTION {schema}.lifecycle_commit_after_event(
    p_preceding_payload text,
    p_job_id text, p_owner text, p_expected bigint, p_status smallint, p_updated timestamptz, p_data json,
    p_settle bigint, p_initial bigint, p_now timestamptz,
    p_message_id text, p_group text, p_headers json, p_priority smallint, p_delay_ms bigint,
    p_lease_op smallint, p_lease_id text, p_lease_token bigint, p_lease_ms bigint, p_reason text, p_description text,
    p_event_channel text, p_event_payload text, p_run_id text, p_reserve bigint, p_event_keep integer, p_event_retention_ms bigint)
RETURNS TABLE (applied boolean, lease bigint, short_balance bigint) LANGUAGE plpgsql AS $$
DECLARE
    v_step record;
BEGIN
    SELECT c.applied, c.lease, c.short_balance INTO v_step FROM {schema}.lifecycle_commit(
        p_job_id, p_owner, p_expected, p_status, p_updated, p_data, p_settle, p_initial, p_now,
        p_message_id, p_group, p_headers, p_priority, p_delay_ms,
        p_lease_op, p_lease_id, p_lease_token, p_lease_ms, p_reason, p_description,
        NULL, NULL, p_run_id, p_reserve, p_event_keep, p_event_retention_ms) c;
    IF v_step.applied THEN
        PERFORM {schema}.event_publish(p_event_channel, p_job_id, p_preceding_payload, p_event_keep, p_event_retention_ms, p_now);
        PERFORM {schema}.event_publish(p_event_channel, p_job_id, p_event_payload, p_event_keep, p_event_retention_ms, p_now);
    END IF;
    RETURN QUERY SELECT v_step.applied, v_step.lease, v_step.short_balance;
END $$;
