-- The result cache's index: a request's cache key to a succeeded job, served until expires_at. Written after a job
-- succeeds, outside any lifecycle step; an entry naming a deleted job is removed by the reader that finds it so.
CREATE TABLE {schema}.result_cache (
    cache_key text PRIMARY KEY,
    job_id text NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX result_cache_expires_at ON {schema}.result_cache (expires_at);
