-- xyn:no-transaction
--
-- 004_add_queue_claim_indexes
--
-- What:  two partial indexes on runs, built with CREATE INDEX CONCURRENTLY:
--          runs_claim_idx      (priority DESC, run_at) WHERE status = 'queued'
--            makes the workers' claim query
--              SELECT id FROM runs
--              WHERE status = 'queued' AND run_at <= now()
--              ORDER BY priority DESC, run_at
--              FOR UPDATE SKIP LOCKED LIMIT 10
--            an index scan that returns rows already in claim order and stops
--            after the first ten, however many finished runs the table holds;
--          runs_scheduled_run_at_idx  (run_at) WHERE status = 'scheduled'
--            serves the scheduler that finds scheduled runs whose run_at has
--            passed (WHERE status = 'scheduled' AND run_at <= now()).
-- Why:   runs grows without bound while the rows that matter here (queued,
--        scheduled) stay few; partial indexes stay that small too.
--
-- Why no transaction: CREATE INDEX CONCURRENTLY cannot run inside a
-- transaction block, and it does not block writes to runs while it builds.
-- The directive on the first line makes xyn-migrate run this file statement
-- by statement in autocommit; psql -f does the same by default. Each
-- statement below stands alone, and the ledger row comes last, so the file
-- counts as applied only when every index is built and valid.
--
-- Invalid leftovers: a concurrent build that fails (cancelled, lock timeout,
-- connection lost) leaves the index behind marked invalid (pg_index.indisvalid
-- = false). CREATE INDEX ... IF NOT EXISTS would then see the name taken and
-- skip, keeping a useless index for ever. So each build is preceded by a DO
-- block that drops the index when it exists and is invalid.
-- That drop is a plain DROP INDEX, not DROP INDEX CONCURRENTLY: the concurrent
-- form cannot run inside a DO block (a DO block is one statement run in a
-- transaction), and an unconditional top-level DROP INDEX CONCURRENTLY would
-- throw away a good index on every run. A plain DROP INDEX takes an ACCESS
-- EXCLUSIVE lock on runs, but only for the moment the drop needs: no query
-- reads an invalid index, there is nothing to rebuild, and the runner's
-- lock_timeout keeps the drop from queueing behind long transactions.
-- It only ever happens after a failed build.
--
-- Re-running: with both indexes valid, every statement is a no-op.

DO $migrate$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_index
        WHERE indexrelid = to_regclass('runs_claim_idx') AND NOT indisvalid
    ) THEN
        RAISE NOTICE '004_add_queue_claim_indexes: dropping invalid index runs_claim_idx left by a failed build';
        DROP INDEX runs_claim_idx;
    END IF;
END
$migrate$;

CREATE INDEX CONCURRENTLY IF NOT EXISTS runs_claim_idx
    ON runs (priority DESC, run_at)
    WHERE status = 'queued';

DO $migrate$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_index
        WHERE indexrelid = to_regclass('runs_scheduled_run_at_idx') AND NOT indisvalid
    ) THEN
        RAISE NOTICE '004_add_queue_claim_indexes: dropping invalid index runs_scheduled_run_at_idx left by a failed build';
        DROP INDEX runs_scheduled_run_at_idx;
    END IF;
END
$migrate$;

CREATE INDEX CONCURRENTLY IF NOT EXISTS runs_scheduled_run_at_idx
    ON runs (run_at)
    WHERE status = 'scheduled';

-- Verification: both indexes exist on runs, are valid and ready, and have the
-- columns and predicate above (an index of the same name with another
-- definition would be kept by IF NOT EXISTS, so the definition is checked too).
DO $verify$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(want.idx, ', ' ORDER BY want.idx)
    INTO missing
    FROM (VALUES
        ('runs_claim_idx', '% USING btree (priority DESC, run_at) WHERE %', '%status%= ''queued''%'),
        ('runs_scheduled_run_at_idx', '% USING btree (run_at) WHERE %', '%status%= ''scheduled''%')
    ) AS want(idx, def_like, pred_like)
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_index i
        WHERE i.indexrelid = to_regclass(want.idx)
          AND i.indrelid = 'runs'::regclass
          AND i.indisvalid
          AND i.indisready
          AND pg_get_indexdef(i.indexrelid) LIKE want.def_like
          AND pg_get_expr(i.indpred, i.indrelid) LIKE want.pred_like
    );
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION '004_add_queue_claim_indexes: index(es) missing, not valid, or defined otherwise: %', missing
            USING HINT = 'Run the file again: an index left invalid by a failed build is dropped and rebuilt. '
                         || 'A valid index of that name with another definition must be dropped by hand first.';
    END IF;
END
$verify$;

INSERT INTO schema_migrations (id) VALUES ('004_add_queue_claim_indexes') ON CONFLICT (id) DO NOTHING;
