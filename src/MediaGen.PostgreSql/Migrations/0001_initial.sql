-- MediaGen on PostgreSQL, version 1: the job store, the credit ledger, the queue, the event history and the provider
-- pauses.
-- {schema} is the schema's quoted name and {channel} the prefix of its notification channels; both are filled in when
-- the migration is applied. Times are the callers' clocks (passed in as parameters), never the server's, so the
-- processes sharing a database agree on leases and delays the way they agree on their own clocks.

CREATE SCHEMA IF NOT EXISTS {schema};

-- Jobs: the source of truth. The JSON document is the whole record; the columns beside it are what is searched.
CREATE TABLE {schema}.jobs (
    id text PRIMARY KEY,
    owner_id text NOT NULL,
    idempotency_key text,
    status smallint NOT NULL,
    version bigint NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    updated_at timestamptz NOT NULL,
    data json NOT NULL
);
CREATE UNIQUE INDEX jobs_owner_idempotency_key ON {schema}.jobs (owner_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_owner_seq ON {schema}.jobs (owner_id, seq DESC);
CREATE INDEX jobs_owner_status_seq ON {schema}.jobs (owner_id, status, seq DESC);
CREATE INDEX jobs_status_updated_at ON {schema}.jobs (status, updated_at);

-- Credits: a balance per owner (never below zero), a reservation per owner and job (the key that makes a reservation
-- and its settlement happen once), and an append-only entry per movement, for audit.
CREATE TABLE {schema}.credit_balances (
    owner_id text PRIMARY KEY,
    balance bigint NOT NULL CHECK (balance >= 0),
    updated_at timestamptz NOT NULL
);
CREATE TABLE {schema}.credit_reservations (
    owner_id text NOT NULL,
    job_id text NOT NULL,
    amount bigint NOT NULL CHECK (amount >= 0),
    reserved_at timestamptz NOT NULL,
    refunded bigint CHECK (refunded >= 0 AND refunded <= amount),
    settled_at timestamptz,
    PRIMARY KEY (owner_id, job_id)
);
CREATE INDEX credit_reservations_open ON {schema}.credit_reservations (reserved_at) WHERE refunded IS NULL;
CREATE TABLE {schema}.credit_entries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id text NOT NULL,
    job_id text,
    kind text NOT NULL CHECK (kind IN ('grant', 'reservation', 'refund', 'partial_refund')),
    amount bigint NOT NULL,
    balance_after bigint NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX credit_entries_owner ON {schema}.credit_entries (owner_id, id);

-- The queue. A message is in one state: 0 ready (ordered by priority, then fair-share tag, then arrival), 1 delayed
-- (visible_at is when it falls due), 2 leased (visible_at is when the lease expires; lease_token names the delivery)
-- or 3 dead. Fair share (start-time fair queueing, as the Redis queue does it): a message that becomes ready is tagged
-- one past the later of its group's last tag and the virtual time, the highest tag received so far.
CREATE SEQUENCE {schema}.queue_seq;
CREATE SEQUENCE {schema}.lease_tokens;
CREATE TABLE {schema}.queue_messages (
    id text PRIMARY KEY,
    job_id text NOT NULL,
    group_id text,
    headers json,
    priority smallint NOT NULL,
    state smallint NOT NULL,
    tag bigint NOT NULL DEFAULT 0,
    seq bigint NOT NULL DEFAULT nextval('{schema}.queue_seq'),
    visible_at timestamptz,
    delivery_count integer NOT NULL DEFAULT 0,
    lease_token bigint,
    enqueued_at timestamptz NOT NULL,
    dead_reason text,
    dead_description text,
    dead_at timestamptz
);
CREATE INDEX queue_messages_ready ON {schema}.queue_messages (priority DESC, tag, seq) WHERE state = 0;
CREATE INDEX queue_messages_due ON {schema}.queue_messages (visible_at) WHERE state IN (1, 2);
CREATE INDEX queue_messages_dead ON {schema}.queue_messages (dead_at, seq) WHERE state = 3;
CREATE TABLE {schema}.queue_groups (
    group_id text PRIMARY KEY,
    last_tag bigint NOT NULL
);
CREATE TABLE {schema}.queue_clock (
    id integer PRIMARY KEY CHECK (id = 1),
    vt bigint NOT NULL
);
INSERT INTO {schema}.queue_clock (id, vt) VALUES (1, 0);

-- Event history: each job's latest events, numbered per job (1, 2, 3, ...) by a counter row that serializes the job's
-- publishers, so the numbers follow commit order, which is also the order LISTEN delivers them in.
CREATE TABLE {schema}.job_event_counters (
    job_id text PRIMARY KEY,
    last_sequence bigint NOT NULL,
    published_at timestamptz NOT NULL
);
CREATE INDEX job_event_counters_published_at ON {schema}.job_event_counters (published_at);
CREATE TABLE {schema}.job_events (
    job_id text NOT NULL,
    sequence bigint NOT NULL,
    payload text NOT NULL,
    PRIMARY KEY (job_id, sequence)
);

-- Providers' 429 pauses: the deadline only ever moves later.
CREATE TABLE {schema}.provider_pauses (
    provider text PRIMARY KEY,
    paused_until timestamptz NOT NULL
);

-- Lock order, so that concurrent steps never deadlock: job, then queue message, then reservation, then balance, then
-- fair-share group (several in group order), then the queue clock, then the job's event counter.

-- The next fair-share tag of a group (null is the group of messages without one).
CREATE FUNCTION {schema}.queue_next_tag(p_group text) RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO {schema}.queue_groups AS g (group_id, last_tag)
    SELECT coalesce(p_group, ''), c.vt + 1 FROM {schema}.queue_clock c WHERE c.id = 1
    ON CONFLICT (group_id) DO UPDATE SET last_tag = GREATEST(g.last_tag, EXCLUDED.last_tag - 1) + 1
    RETURNING last_tag;
$$;

-- Adds a message; 1 when added, 0 when the id is already queued (a dead-lettered id is replaced). Wakes waiting receivers.
CREATE FUNCTION {schema}.queue_enqueue(p_id text, p_job text, p_group text, p_headers json, p_priority smallint, p_delay_ms bigint, p_now timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {schema}.queue_messages AS m (id, job_id, group_id, headers, priority, state, visible_at, enqueued_at)
    VALUES (p_id, p_job, p_group, p_headers, p_priority, 1, p_now + p_delay_ms * interval '1 millisecond', p_now)
    ON CONFLICT (id) DO UPDATE SET job_id = EXCLUDED.job_id, group_id = EXCLUDED.group_id, headers = EXCLUDED.headers,
        priority = EXCLUDED.priority, state = 1, tag = 0, seq = nextval('{schema}.queue_seq'), visible_at = EXCLUDED.visible_at,
        delivery_count = 0, lease_token = NULL, enqueued_at = EXCLUDED.enqueued_at, dead_reason = NULL, dead_description = NULL, dead_at = NULL
    WHERE m.state = 3;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    IF p_delay_ms <= 0 THEN
        UPDATE {schema}.queue_messages SET state = 0, visible_at = NULL, tag = {schema}.queue_next_tag(p_group) WHERE id = p_id;
    END IF;
    PERFORM pg_notify('{channel}wake', '');
    RETURN 1;
END $$;

-- Moves due delayed messages and expired leases to ready, then leases up to p_max ready messages, highest priority
-- first, then by tag. Returns the leases; or, when there are none, one row with only next_due (the next delayed message
-- or lease expiry, or null).
CREATE FUNCTION {schema}.queue_receive(p_now timestamptz, p_max integer, p_lease_ms bigint)
RETURNS TABLE (id text, job_id text, group_id text, headers json, priority smallint, delivery_count integer, lease_token bigint, enqueued_at timestamptz, next_due timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT d.id, d.group_id FROM (
            SELECT m.id, m.group_id FROM {schema}.queue_messages m
            WHERE m.state IN (1, 2) AND m.visible_at <= p_now
            ORDER BY m.visible_at LIMIT 1000 FOR UPDATE SKIP LOCKED) d
        ORDER BY coalesce(d.group_id, '')
    LOOP
        UPDATE {schema}.queue_messages m SET state = 0, visible_at = NULL, lease_token = NULL, tag = {schema}.queue_next_tag(r.group_id)
        WHERE m.id = r.id;
    END LOOP;

    RETURN QUERY
    WITH picked AS (
        SELECT m.id FROM {schema}.queue_messages m WHERE m.state = 0
        ORDER BY m.priority DESC, m.tag, m.seq LIMIT p_max FOR UPDATE SKIP LOCKED),
    leased AS (
        UPDATE {schema}.queue_messages m SET state = 2, visible_at = p_now + p_lease_ms * interval '1 millisecond',
            delivery_count = m.delivery_count + 1, lease_token = nextval('{schema}.lease_tokens')
        FROM picked WHERE m.id = picked.id
        RETURNING m.id, m.job_id, m.group_id, m.headers, m.priority, m.delivery_count, m.lease_token, m.enqueued_at, m.tag, m.seq),
    clock AS (
        UPDATE {schema}.queue_clock c SET vt = GREATEST(c.vt, (SELECT max(l.tag) FROM leased l))
        WHERE c.id = 1 AND EXISTS (SELECT 1 FROM leased))
    SELECT l.id, l.job_id, l.group_id, l.headers, l.priority, l.delivery_count, l.lease_token, l.enqueued_at, NULL::timestamptz
    FROM leased l ORDER BY l.priority DESC, l.tag, l.seq;

    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::text, NULL::text, NULL::text, NULL::json, NULL::smallint, NULL::integer, NULL::bigint, NULL::timestamptz,
            (SELECT min(m.visible_at) FROM {schema}.queue_messages m WHERE m.state IN (1, 2));
    END IF;
END $$;

-- Settles or renews a lease still held by the delivery p_token: 1 complete, 2 abandon (visible again after p_ms), 3 dead
-- letter, 4 renew (held p_ms longer from p_now). Returns 1, or -1 when the lease is no longer held (it expired, or the
-- message was delivered again), in which case nothing changes.
CREATE FUNCTION {schema}.queue_settle(p_op smallint, p_id text, p_token bigint, p_now timestamptz, p_ms bigint, p_reason text, p_description text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_group text;
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
    ELSIF p_op = 2 AND p_ms > 0 THEN
        UPDATE {schema}.queue_messages SET state = 1, visible_at = p_now + p_ms * interval '1 millisecond', lease_token = NULL WHERE id = p_id;
        PERFORM pg_notify('{channel}wake', '');
    ELSIF p_op = 2 THEN
        UPDATE {schema}.queue_messages SET state = 0, visible_at = NULL, lease_token = NULL, tag = {schema}.queue_next_tag(v_group) WHERE id = p_id;
        PERFORM pg_notify('{channel}wake', '');
    ELSE
        UPDATE {schema}.queue_messages SET state = 3, visible_at = NULL, lease_token = NULL,
            dead_reason = p_reason, dead_description = p_description, dead_at = p_now
        WHERE id = p_id;
    END IF;
    RETURN 1;
END $$;

-- Moves a dead letter back to ready with its delivery count reset; false when there is no such dead letter.
CREATE FUNCTION {schema}.queue_resubmit(p_id text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_group text;
BEGIN
    SELECT group_id INTO v_group FROM {schema}.queue_messages WHERE id = p_id AND state = 3 FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE {schema}.queue_messages SET state = 0, delivery_count = 0, dead_reason = NULL, dead_description = NULL, dead_at = NULL,
        tag = {schema}.queue_next_tag(v_group)
    WHERE id = p_id;
    PERFORM pg_notify('{channel}wake', '');
    RETURN true;
END $$;

-- Locks the owner's balance row, creating it with the initial balance, and returns the balance. Every change of an
-- owner's credits, and every submission, takes this lock first, so they are serialised per owner.
CREATE FUNCTION {schema}.ledger_lock(p_owner text, p_initial bigint, p_now timestamptz) RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO {schema}.credit_balances AS b (owner_id, balance, updated_at) VALUES (p_owner, p_initial, p_now)
    ON CONFLICT (owner_id) DO UPDATE SET owner_id = b.owner_id
    RETURNING balance;
$$;

-- Reserves p_amount for the job, once. Returns (1, amount, balance) when reserved, (0, the first amount, balance) when
-- the job already had a reservation, (-1, p_amount, balance) when the balance is too low (nothing is written).
CREATE FUNCTION {schema}.ledger_reserve(p_owner text, p_job text, p_amount bigint, p_initial bigint, p_now timestamptz)
RETURNS TABLE (outcome integer, amount bigint, balance bigint) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_balance bigint;
    v_amount bigint;
BEGIN
    v_balance := {schema}.ledger_lock(p_owner, p_initial, p_now);
    SELECT r.amount INTO v_amount FROM {schema}.credit_reservations r WHERE r.owner_id = p_owner AND r.job_id = p_job;
    IF FOUND THEN
        RETURN QUERY SELECT 0, v_amount, v_balance;
        RETURN;
    END IF;
    IF v_balance < p_amount THEN
        RETURN QUERY SELECT -1, p_amount, v_balance;
        RETURN;
    END IF;
    IF p_amount > 0 THEN
        UPDATE {schema}.credit_balances b SET balance = b.balance - p_amount, updated_at = p_now WHERE b.owner_id = p_owner
        RETURNING b.balance INTO v_balance;
        INSERT INTO {schema}.credit_entries (owner_id, job_id, kind, amount, balance_after, created_at)
        VALUES (p_owner, p_job, 'reservation', -p_amount, v_balance, p_now);
    END IF;
    INSERT INTO {schema}.credit_reservations (owner_id, job_id, amount, reserved_at) VALUES (p_owner, p_job, p_amount, p_now);
    RETURN QUERY SELECT 1, p_amount, v_balance;
END $$;

-- Settles the job's open reservation once, giving back p_refund (null for all; capped at the amount). Returns the
-- credits given back, 0 when the reservation was already settled or never made.
CREATE FUNCTION {schema}.ledger_settle(p_owner text, p_job text, p_refund bigint, p_initial bigint, p_now timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_give bigint;
    v_amount bigint;
    v_balance bigint;
BEGIN
    UPDATE {schema}.credit_reservations SET refunded = LEAST(coalesce(p_refund, amount), amount), settled_at = p_now
    WHERE owner_id = p_owner AND job_id = p_job AND refunded IS NULL
    RETURNING refunded, amount INTO v_give, v_amount;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    IF v_give > 0 THEN
        INSERT INTO {schema}.credit_balances AS b (owner_id, balance, updated_at) VALUES (p_owner, p_initial + v_give, p_now)
        ON CONFLICT (owner_id) DO UPDATE SET balance = b.balance + v_give, updated_at = p_now
        RETURNING balance INTO v_balance;
        INSERT INTO {schema}.credit_entries (owner_id, job_id, kind, amount, balance_after, created_at)
        VALUES (p_owner, p_job, CASE WHEN v_give = v_amount THEN 'refund' ELSE 'partial_refund' END, v_give, v_balance, p_now);
    END IF;
    RETURN v_give;
END $$;

-- Adds credits; returns the balance after.
CREATE FUNCTION {schema}.ledger_grant(p_owner text, p_amount bigint, p_initial bigint, p_now timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_balance bigint;
BEGIN
    INSERT INTO {schema}.credit_balances AS b (owner_id, balance, updated_at) VALUES (p_owner, p_initial + p_amount, p_now)
    ON CONFLICT (owner_id) DO UPDATE SET balance = b.balance + p_amount, updated_at = p_now
    RETURNING balance INTO v_balance;
    INSERT INTO {schema}.credit_entries (owner_id, job_id, kind, amount, balance_after, created_at)
    VALUES (p_owner, NULL, 'grant', p_amount, v_balance, p_now);
    RETURN v_balance;
END $$;

-- Publishes a job's event: numbers it, keeps it (the job's latest p_keep), and notifies '{sequence} {payload}' on
-- p_channel when the transaction commits. Each job's first event also drops up to 100 histories whose latest event is
-- older than p_retention_ms, so expiry costs a little per job rather than a sweep. Returns the sequence.
CREATE FUNCTION {schema}.event_publish(p_channel text, p_job text, p_payload text, p_keep integer, p_retention_ms bigint, p_now timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_sequence bigint;
BEGIN
    INSERT INTO {schema}.job_event_counters AS c (job_id, last_sequence, published_at) VALUES (p_job, 1, p_now)
    ON CONFLICT (job_id) DO UPDATE SET last_sequence = c.last_sequence + 1, published_at = p_now
    RETURNING c.last_sequence INTO v_sequence;
    INSERT INTO {schema}.job_events (job_id, sequence, payload) VALUES (p_job, v_sequence, p_payload);
    IF v_sequence > p_keep THEN
        DELETE FROM {schema}.job_events e WHERE e.job_id = p_job AND e.sequence <= v_sequence - p_keep;
    ELSIF v_sequence = 1 THEN
        WITH expired AS (
            DELETE FROM {schema}.job_event_counters c WHERE c.job_id IN (
                SELECT x.job_id FROM {schema}.job_event_counters x
                WHERE x.published_at < p_now - make_interval(secs => p_retention_ms / 1000.0)
                LIMIT 100 FOR UPDATE SKIP LOCKED)
            RETURNING c.job_id)
        DELETE FROM {schema}.job_events e USING expired WHERE e.job_id = expired.job_id;
    END IF;
    PERFORM pg_notify(p_channel, v_sequence || ' ' || p_payload);
    RETURN v_sequence;
END $$;

-- Creates a job unless the owner's idempotency key already names one. Returns (1, null) when created, (0, the existing
-- job) when the key names one, (-1, null) when the id is taken.
CREATE FUNCTION {schema}.job_create(p_id text, p_owner text, p_key text, p_status smallint, p_updated timestamptz, p_data json)
RETURNS TABLE (outcome integer, data json) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_data json;
BEGIN
    FOR attempt IN 1..2 LOOP
        IF p_key IS NOT NULL THEN
            SELECT j.data INTO v_data FROM {schema}.jobs j WHERE j.owner_id = p_owner AND j.idempotency_key = p_key;
            IF FOUND THEN
                RETURN QUERY SELECT 0, v_data;
                RETURN;
            END IF;
        END IF;
        IF attempt = 2 THEN
            EXIT;
        END IF;
        INSERT INTO {schema}.jobs (id, owner_id, idempotency_key, status, version, updated_at, data)
        VALUES (p_id, p_owner, p_key, p_status, 1, p_updated, p_data)
        ON CONFLICT DO NOTHING;
        IF FOUND THEN
            RETURN QUERY SELECT 1, NULL::json;
            RETURN;
        END IF;
    END LOOP;
    RETURN QUERY SELECT -1, NULL::json;
END $$;

-- A submission, whole or not at all: under the owner's lock, answers a known idempotency key with its job, refuses an
-- owner at p_max_pending pending jobs (-3, pending) or one who cannot pay (-2, balance); else creates the job, reserves
-- its credits, enqueues its message and publishes its event (1). (-1) when the job id is taken.
CREATE FUNCTION {schema}.lifecycle_submit(
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
    INSERT INTO {schema}.jobs (id, owner_id, idempotency_key, status, version, updated_at, data)
    VALUES (p_id, p_owner, p_key, p_status, 1, p_updated, p_data);
    PERFORM {schema}.queue_enqueue(p_message_id, p_id, p_group, p_headers, p_priority, p_delay_ms, p_now);
    IF p_event_channel IS NOT NULL THEN
        PERFORM {schema}.event_publish(p_event_channel, p_id, p_event_payload, p_event_keep, p_event_retention_ms, p_now);
    END IF;
    RETURN QUERY SELECT 1, NULL::bigint, NULL::json;
END $$;

-- A later step, whole or not at all: writes the job if its version is still p_expected (null writes nothing), settles
-- the lease (p_lease_op as queue_settle; a lease no longer held is skipped and the rest stands), settles the credits
-- (p_settle, null for none), enqueues (p_message_id, null for none) and publishes the event. Returns (false, 0) when the
-- version differed and nothing was applied, else (true, the lease result: 1, or -1 for a lease no longer held, or 0).
CREATE FUNCTION {schema}.lifecycle_commit(
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
        UPDATE {schema}.jobs j SET status = p_status, version = p_expected + 1, updated_at = p_updated, data = p_data
        WHERE j.id = p_job_id AND j.version = p_expected;
        IF NOT FOUND THEN
            RETURN QUERY SELECT false, 0::bigint, NULL::bigint;
            RETURN;
        END IF;
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
    IF p_event_channel IS NOT NULL THEN
        PERFORM {schema}.event_publish(p_event_channel, p_job_id, p_event_payload, p_event_keep, p_event_retention_ms, p_now);
    END IF;
    RETURN QUERY SELECT true, v_lease, NULL::bigint;
END $$;
