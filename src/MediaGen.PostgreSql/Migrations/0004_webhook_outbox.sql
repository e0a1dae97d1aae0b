-- The webhook outbox: deliveries waiting until a receiver has them, so they survive a restart and any process sends them.
-- A delivery is in one state: 0 waiting (due_at is when it falls due), 1 leased (due_at is when the lease expires, so an
-- expired lease is simply due again; lease_token names the lease) or 2 given up (due_at is when it is removed). A
-- completed delivery is deleted. Leasing takes rows with FOR UPDATE SKIP LOCKED, so two dispatchers never take the same
-- one. Times are the callers' clocks, as everywhere in this schema.
CREATE SEQUENCE {schema}.webhook_lease_tokens;
CREATE TABLE {schema}.webhook_outbox (
    id text PRIMARY KEY,
    job_id text NOT NULL,
    payload text NOT NULL,
    state smallint NOT NULL,
    due_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    lease_token bigint,
    last_error text,
    created_at timestamptz NOT NULL
);
CREATE INDEX webhook_outbox_due ON {schema}.webhook_outbox (due_at) WHERE state IN (0, 1);
CREATE INDEX webhook_outbox_given_up ON {schema}.webhook_outbox (due_at) WHERE state = 2;
