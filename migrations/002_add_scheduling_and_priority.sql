-- 002_add_scheduling_and_priority
--
-- What:  runs.run_at    (timestamptz, NOT NULL, default now()): the earliest
--                       moment a run may be started;
--        runs.priority  (integer, NOT NULL, default 0): higher is claimed first;
--        runs_status_check now also allows 'scheduled' (a run waiting for its
--                       run_at), next to queued, running, completed, failed,
--                       cancelled.
-- Why:   delayed runs and priority queues. Existing runs get run_at = the time
--        this migration ran (now() is evaluated once, no table rewrite) and
--        priority 0, so queued work stays claimable straight away.
-- The CHECK: PostgreSQL cannot alter a CHECK constraint, so it is dropped and
--        added again. That only happens when the current runs_status_check
--        does not already allow every status listed here; a second run, or a
--        run after a later migration has widened the list further, leaves the
--        constraint untouched.
-- Re-running: every statement is guarded; a second run changes nothing.

BEGIN;

ALTER TABLE runs ADD COLUMN IF NOT EXISTS run_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE runs ADD COLUMN IF NOT EXISTS priority integer NOT NULL DEFAULT 0;

-- A runs table made by the ORM may already have these columns, nullable or
-- without a default. Bring them to the shape above: same default, and NOT NULL
-- after filling gaps (a run without run_at is due since it was created).
ALTER TABLE runs ALTER COLUMN run_at SET DEFAULT now();
ALTER TABLE runs ALTER COLUMN priority SET DEFAULT 0;

DO $migrate$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute
               WHERE attrelid = 'runs'::regclass AND attname = 'run_at' AND NOT attnotnull) THEN
        UPDATE runs SET run_at = created_at WHERE run_at IS NULL;
        ALTER TABLE runs ALTER COLUMN run_at SET NOT NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_attribute
               WHERE attrelid = 'runs'::regclass AND attname = 'priority' AND NOT attnotnull) THEN
        UPDATE runs SET priority = 0 WHERE priority IS NULL;
        ALTER TABLE runs ALTER COLUMN priority SET NOT NULL;
    END IF;
END
$migrate$;

DO $migrate$
DECLARE
    wanted  text[] := ARRAY['queued', 'scheduled', 'running', 'completed', 'failed', 'cancelled'];
    allowed text[];
BEGIN
    -- The quoted literals of the current constraint, e.g. 'queued', 'running', ...
    SELECT array_agg(m[1])
    INTO allowed
    FROM pg_constraint c,
         regexp_matches(pg_get_constraintdef(c.oid), '''([^'']*)''', 'g') AS m
    WHERE c.conrelid = 'runs'::regclass
      AND c.conname = 'runs_status_check'
      AND c.contype = 'c'
      AND c.convalidated;

    IF allowed IS NULL OR NOT (allowed @> wanted) THEN
        ALTER TABLE runs DROP CONSTRAINT IF EXISTS runs_status_check;
        ALTER TABLE runs ADD CONSTRAINT runs_status_check
            CHECK (status IN ('queued', 'scheduled', 'running', 'completed', 'failed', 'cancelled'));
    END IF;
END
$migrate$;

COMMIT;

-- Verification: both columns exist as NOT NULL, and the status CHECK is
-- validated and allows every status of the lifecycle, 'scheduled' included.
DO $verify$
DECLARE
    missing text;
    allowed text[];
BEGIN
    SELECT string_agg(want.col, ', ' ORDER BY want.col)
    INTO missing
    FROM (VALUES ('run_at'), ('priority')) AS want(col)
    WHERE NOT EXISTS (
        SELECT 1
        FROM pg_attribute a
        WHERE a.attrelid = 'runs'::regclass
          AND a.attname = want.col
          AND a.attnotnull
          AND NOT a.attisdropped
    );
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION '002_add_scheduling_and_priority: runs lacks NOT NULL column(s): %', missing;
    END IF;

    SELECT array_agg(m[1])
    INTO allowed
    FROM pg_constraint c,
         regexp_matches(pg_get_constraintdef(c.oid), '''([^'']*)''', 'g') AS m
    WHERE c.conrelid = 'runs'::regclass
      AND c.conname = 'runs_status_check'
      AND c.contype = 'c'
      AND c.convalidated;
    IF allowed IS NULL
       OR NOT (allowed @> ARRAY['queued', 'scheduled', 'running', 'completed', 'failed', 'cancelled']) THEN
        RAISE EXCEPTION '002_add_scheduling_and_priority: runs_status_check does not allow the full status lifecycle (found %)',
            coalesce(array_to_string(allowed, ', '), 'no validated constraint');
    END IF;
END
$verify$;

INSERT INTO schema_migrations (id) VALUES ('002_add_scheduling_and_priority') ON CONFLICT (id) DO NOTHING;
