-- A job's event number lives on its jobs row: a lifecycle step numbers its event in the UPDATE (or INSERT) that writes
-- the job anyway, so an event no longer costs a second row write (the counter row) in the step's transaction. The row's
-- lock orders the job's publishers, in commit order, as the counter row did. events_at is the time of the job's latest
-- event: a history older than EventHistoryRetention is dropped (and events_at cleared) by a later job's first event.
-- job_event_counters stays for events of a job id that has no jobs row (a job kept in another store, or deleted).

ALTER TABLE {schema}.jobs ADD COLUMN event_sequence bigint NOT NULL DEFAULT 0, ADD COLUMN events_at timestamptz;
CREATE INDEX jobs_events_at ON {schema}.jobs (events_at) WHERE events_at IS NOT NULL;

UPDATE {schema}.jobs j SET event_sequence = c.last_sequence, events_at = c.published_at
FROM {schema}.job_event_counters c WHERE c.job_id = j.id;
DELETE FROM {schema}.job_event_counters c USING {schema}.jobs j WHERE c.job_id = j.id;

-- Keeps event p_sequence of a job whose number was just taken (from its jobs row or its counter row), trims the history
-- to p_keep events, and notifies the job's channel at commit. A job's first event drops up to 100 histories past their
-- retention, and a jobs row's first event takes over a counter left from events published before the row existed
-- (returning the number the event then has). Returns the event's number.
CREATE FUNCTION {schema}.event_keep(p_channel text, p_job text, p_sequence bigint, p_on_job boolean, p_payload text, p_keep integer, p_retention_ms bigint, p_now timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_sequence bigint := p_sequence;
    v_cutoff timestamptz;
    v_counted bigint;
BEGIN
    IF v_sequence = 1 THEN
        IF p_on_job THEN
            DELETE FROM {schema}.job_event_counters c WHERE c.job_id = p_job RETURNING c.last_sequence INTO v_counted;
            IF v_counted IS NOT NULL THEN
                v_sequence := v_counted + 1;
                UPDATE {schema}.jobs j SET event_sequence = v_sequence WHERE j.id = p_job;
            END IF;
        END IF;
        v_cutoff := p_now - make_interval(secs => p_retention_ms / 1000.0);
        WITH expired AS (
            DELETE FROM {schema}.job_event_counters c WHERE c.job_id IN (
                SELECT x.job_id FROM {schema}.job_event_counters x
                WHERE x.published_at < v_cutoff
                LIMIT 100 FOR UPDATE SKIP LOCKED)
            RETURNING c.job_id)
        DELETE FROM {schema}.job_events e USING expired WHERE e.job_id = expired.job_id;
        WITH expired AS (
            UPDATE {schema}.jobs j SET events_at = NULL WHERE j.id IN (
                SELECT x.id FROM {schema}.jobs x
                WHERE x.events_at < v_cutoff
                LIMIT 100 FOR UPDATE SKIP LOCKED)
            RETURNING j.id)
        DELETE FROM {schema}.job_events e USING expired WHERE e.job_id = expired.id;
    END IF;
    INSERT INTO {schema}.job_events (job_id, sequence, payload) VALUES (p_job, v_sequence, p_payload);
    IF v_sequence > p_keep THEN
        DELETE FROM {schema}.job_events e WHERE e.job_id = p_job AND e.sequence <= v_sequence - p_keep;
    END IF;
    PERFORM pg_notify(p_channel, v_sequence || ' ' || p_payload);
    RETURN v_sequence;
END $$;

-- An event published outside a step (progress, or a step that writes no job): numbered on the job's row, which it
-- locks (the row is the first lock a step takes, so this keeps the lock order), or on a counter row when the job has no
-- row here.
CREATE OR REPLACE FUNCTION {schema}.event_publish(p_channel text, p_job text, p_payload text, p_keep integer, p_retention_ms bigint, p_now timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_sequence bigint;
BEGIN
    UPDATE {schema}.jobs j SET event_sequence = j.event_sequence + 1, events_at = p_now WHERE j.id = p_job
    RETURNING j.event_sequence INTO v_sequence;
    IF FOUND THEN
        RETURN {schema}.event_keep(p_channel, p_job, v_sequence, true, p_payload, p_keep, p_retention_ms, p_now);
    END IF;
    INSERT INTO {schema}.job_event_counters AS c (job_id, last_sequence, published_at) VALUES (p_job, 1, p_now)
    ON CONFLICT (job_id) DO UPDATE SET last_sequence = c.last_sequence + 1, published_at = p_now
    RETURNING c.last_sequence INTO v_sequence;
    RETURN {schema}.event_keep(p_channel, p_job, v_sequence, false, p_payload, p_keep, p_retention_ms, p_now);
END $$;

-- As in 0001, but the job is created with its first event's number.
CREATE OR REPLACE FUNCTION {schema}.lifecycle_submit(
    p_id text, p_owner text, p_key text, p_status smallint, p_updated timestamptz, p_data json,
    p_credits bigint, p_initial bigint, p_now timestamptz, p_max_pending integer,
    p_message_id text, p_group text, p_headers json, p_priority smallint, p_delay_ms bigint,
    p_event_channel text, p_event_payload text, p_event_keep integer, p_event_retention_ms bigint)
RETURNS TABLE (outcome integer, figure bigint, data json) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_data json;
    v_pending bigint;
    v_reserved record;
BEGIN
    PERFORM {schema}.ledger_lock(p_owner, p_initial, p_now);
    IF p_key IS NOT NULL THEN
        SELECT j.data INTO v_data FROM {schema}.jobs j WHERE j.owner_id = p_owner AND j.idempotency_key = p_key;
        IF FOUND THEN
            RETURN QUERY SELECT 0, NULL::bigint, v_data;
            RETURN;
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM {schema}.jobs j WHERE j.id = p_id) THEN
        RETURN QUERY SELECT -1, NULL::bigint, NULL::json;
        RETURN;
    END IF;
    IF p_max_pending IS NOT NULL THEN
        SELECT count(*) INTO v_pending FROM (
            SELECT 1 FROM {schema}.jobs j WHERE j.owner_id = p_owner AND j.status = 0 LIMIT p_max_pending) p;
        IF v_pending >= p_max_pending THEN
            RETURN QUERY SELECT -3, v_pending, NULL::json;
            RETURN;
        END IF;
    END IF;
    SELECT * INTO v_reserved FROM {schema}.ledger_reserve(p_owner, p_id, p_credits, p_initial, p_now);
    IF v_reserved.outcome = -1 THEN
        RETURN QUERY SELECT -2, v_reserved.balance, NULL::json;
        RETURN;
    END IF;
    INSERT INTO {schema}.jobs (id, owner_id, idempotency_key, status, version, updated_at, data, event_sequence, events_at)
    VALUES (p_id, p_owner, p_key, p_status, 1, p_updated, p_data,
        CASE WHEN p_event_channel IS NULL THEN 0 ELSE 1 END, CASE WHEN p_event_channel IS NULL THEN NULL ELSE p_now END);
    PERFORM {schema}.queue_enqueue(p_message_id, p_id, p_group, p_headers, p_priority, p_delay_ms, p_now);
    IF p_event_channel IS NOT NULL THEN
        PERFORM {schema}.event_keep(p_event_channel, p_id, 1, true, p_event_payload, p_event_keep, p_event_retention_ms, p_now);
    END IF;
    RETURN QUERY SELECT 1, NULL::bigint, NULL::json;
END $$;

-- As in 0001, but a step that writes the job numbers its event in that same UPDATE, and a step that writes no job takes
-- the number first (the job's row lock comes first in the lock order).
CREATE OR REPLACE FUNCTION {schema}.lifecycle_commit(
    p_job_id text, p_owner text, p_expected bigint, p_status smallint, p_updated timestamptz, p_data json,
    p_settle bigint, p_initial bigint, p_now timestamptz,
    p_message_id text, p_group text, p_headers json, p_priority smallint, p_delay_ms bigint,
    p_lease_op smallint, p_lease_id text, p_lease_token bigint, p_lease_ms bigint, p_reason text, p_description text,
    p_event_channel text, p_event_payload text, p_run_id text, p_reserve bigint, p_event_keep integer, p_event_retention_ms bigint)
RETURNS TABLE (applied boolean, lease bigint, short_balance bigint) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_lease bigint := 0;
    v_outcome integer;
    v_balance bigint;
    v_event boolean := p_event_channel IS NOT NULL;
    v_sequence bigint;
BEGIN
    -- A step that starts a new run (a retry) reserves the run's credits first: on a stale version nothing is reserved,
    -- and an owner who cannot pay refuses the whole step before anything is written.
    IF p_reserve IS NOT NULL THEN
        IF p_expected IS NOT NULL THEN
            PERFORM 1 FROM {schema}.jobs j WHERE j.id = p_job_id AND j.version = p_expected FOR UPDATE;
            IF NOT FOUND THEN
                RETURN QUERY SELECT false, 0::bigint, NULL::bigint;
                RETURN;
            END IF;
        END IF;
        SELECT r.outcome, r.balance INTO v_outcome, v_balance FROM {schema}.ledger_reserve(p_owner, p_run_id, p_reserve, p_initial, p_now) r;
        IF v_outcome = -1 THEN
            RETURN QUERY SELECT false, 0::bigint, v_balance;
            RETURN;
        END IF;
    END IF;
    IF p_expected IS NOT NULL THEN
        UPDATE {schema}.jobs j SET status = p_status, version = p_expected + 1, updated_at = p_updated, data = p_data,
            event_sequence = CASE WHEN v_event THEN j.event_sequence + 1 ELSE j.event_sequence END,
            events_at = CASE WHEN v_event THEN p_now ELSE j.events_at END
        WHERE j.id = p_job_id AND j.version = p_expected
        RETURNING j.event_sequence INTO v_sequence;
        IF NOT FOUND THEN
            RETURN QUERY SELECT false, 0::bigint, NULL::bigint;
            RETURN;
        END IF;
    ELSIF v_event THEN
        UPDATE {schema}.jobs j SET event_sequence = j.event_sequence + 1, events_at = p_now WHERE j.id = p_job_id
        RETURNING j.event_sequence INTO v_sequence;
    END IF;
    IF p_lease_op IS NOT NULL THEN
        v_lease := {schema}.queue_settle(p_lease_op, p_lease_id, p_lease_token, p_now, p_lease_ms, p_reason, p_description);
    END IF;
    IF p_settle IS NOT NULL THEN
        PERFORM {schema}.ledger_settle(p_owner, p_run_id, p_settle, p_initial, p_now);
    END IF;
    IF p_message_id IS NOT NULL THEN
        PERFORM {schema}.queue_enqueue(p_message_id, p_job_id, p_group, p_headers, p_priority, p_delay_ms, p_now);
    END IF;
    IF v_event THEN
        IF v_sequence IS NOT NULL THEN
            PERFORM {schema}.event_keep(p_event_channel, p_job_id, v_sequence, true, p_event_payload, p_event_keep, p_event_retention_ms, p_now);
        ELSE
            PERFORM {schema}.event_publish(p_event_channel, p_job_id, p_event_payload, p_event_keep, p_event_retention_ms, p_now);
        END IF;
    END IF;
    RETURN QUERY SELECT true, v_lease, NULL::bigint;
END $$;
