-- Workers' heartbeats, one row per worker id, replaced by each heartbeat and deleted when the worker stops. A listing
-- deletes the rows whose expiry has passed, so a worker that died is gone once anyone looks.
CREATE TABLE {schema}.workers (
    worker_id text PRIMARY KEY,
    host text NOT NULL,
    process_id integer NOT NULL,
    started_at timestamptz NOT NULL,
    last_heartbeat_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    concurrency integer NOT NULL,
    running integer NOT NULL
);
