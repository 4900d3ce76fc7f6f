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
-- counts as applied only when every index is built, valid and defined as
-- above.
--
-- An index of ours that is not what this file builds is replaced:
--   * invalid: a concurrent build that fails (cancelled, lock timeout,
--     connection lost) leaves the index behind marked invalid
--     (pg_index.indisvalid = false);
--   * defined otherwise: same name, other columns, table or predicate; for
--     example built while runs.status was still a varchar column (a table
--     the ORM made, before 001 converted it), which reads
--     WHERE ((status)::text = 'queued'::text).
-- CREATE INDEX ... IF NOT EXISTS would see the name taken and skip, keeping
-- such an index for ever. So before each build a DO block compares the index
-- with the definition PostgreSQL prints for ours (pg_get_indexdef, from
-- USING on: the part that does not depend on the schema) and, when it
-- differs, renames it to <name>_stale; the next statement drops that with
-- DROP INDEX CONCURRENTLY, which blocks neither reads nor writes of runs.
-- DROP INDEX CONCURRENTLY cannot run inside a DO block (a DO block is one
-- statement run in a transaction), hence the rename: it only takes a SHARE
-- UPDATE EXCLUSIVE lock on the index, and leaves a name that the top-level
-- DROP INDEX CONCURRENTLY IF EXISTS finds only when there is something to
-- drop. A run stopped between the two leaves <name>_stale behind, and the
-- next run drops it. Until the index is built again, queries go without it.
--
-- Re-running: with both indexes valid and defined as above, every statement
-- is a no-op.

DO $migrate$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_index i
        WHERE i.indexrelid = to_regclass('runs_claim_idx')
          AND NOT (i.indisvalid
                   AND NOT i.indisunique
                   AND i.indrelid = 'runs'::regclass
                   AND substring(pg_get_indexdef(i.indexrelid) FROM ' USING (.*)$')
                       = 'btree (priority DESC, run_at) WHERE (status = ''queued''::text)')
    ) THEN
        IF to_regclass('runs_claim_idx_stale') IS NOT NULL THEN
            -- Left by a run that stopped before its drop; dropped below, and
            -- this index on the next run (the verification says so).
            RAISE NOTICE '004_add_queue_claim_indexes: runs_claim_idx_stale still exists; run the file again';
        ELSE
            RAISE NOTICE '004_add_queue_claim_indexes: replacing runs_claim_idx (%)', (
                SELECT CASE WHEN indisvalid THEN pg_get_indexdef(indexrelid) ELSE 'invalid, left by a failed build' END
                FROM pg_index WHERE indexrelid = to_regclass('runs_claim_idx'));
            ALTER INDEX runs_claim_idx RENAME TO runs_claim_idx_stale;
        END IF;
    END IF;
END
$migrate$;

DROP INDEX CONCURRENTLY IF EXISTS runs_claim_idx_stale;

CREATE INDEX CONCURRENTLY IF NOT EXISTS runs_claim_idx
    ON runs (priority DESC, run_at)
    WHERE status = 'queued';

DO $migrate$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_index i
        WHERE i.indexrelid = to_regclass('runs_scheduled_run_at_idx')
          AND NOT (i.indisvalid
                   AND NOT i.indisunique
                   AND i.indrelid = 'runs'::regclass
                   AND substring(pg_get_indexdef(i.indexrelid) FROM ' USING (.*)$')
                       = 'btree (run_at) WHERE (status = ''scheduled''::text)')
    ) THEN
        IF to_regclass('runs_scheduled_run_at_idx_stale') IS NOT NULL THEN
            RAISE NOTICE '004_add_queue_claim_indexes: runs_scheduled_run_at_idx_stale still exists; run the file again';
        ELSE
            RAISE NOTICE '004_add_queue_claim_indexes: replacing runs_scheduled_run_at_idx (%)', (
                SELECT CASE WHEN indisvalid THEN pg_get_indexdef(indexrelid) ELSE 'invalid, left by a failed build' END
                FROM pg_index WHERE indexrelid = to_regclass('runs_scheduled_run_at_idx'));
            ALTER INDEX runs_scheduled_run_at_idx RENAME TO runs_scheduled_run_at_idx_stale;
        END IF;
    END IF;
END
$migrate$;

DROP INDEX CONCURRENTLY IF EXISTS runs_scheduled_run_at_idx_stale;

CREATE INDEX CONCURRENTLY IF NOT EXISTS runs_scheduled_run_at_idx
    ON runs (run_at)
    WHERE status = 'scheduled';

-- Verification: both indexes exist on runs, are valid and ready, and are
-- defined exactly as above (the same comparison as before each build).
DO $verify$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(want.idx, ', ' ORDER BY want.idx)
    INTO missing
    FROM (VALUES
        ('runs_claim_idx', 'btree (priority DESC, run_at) WHERE (status = ''queued''::text)'),
        ('runs_scheduled_run_at_idx', 'btree (run_at) WHERE (status = ''scheduled''::text)')
    ) AS want(idx, def)
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_index i
        WHERE i.indexrelid = to_regclass(want.idx)
          AND i.indrelid = 'runs'::regclass
          AND i.indisvalid
          AND i.indisready
          AND NOT i.indisunique
          AND substring(pg_get_indexdef(i.indexrelid) FROM ' USING (.*)$') = want.def
    );
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION '004_add_queue_claim_indexes: index(es) missing, not valid, or defined otherwise: %', missing
            USING HINT = 'Run the file again: an index of that name that is invalid or defined otherwise '
                         || 'is renamed to <name>_stale, dropped concurrently and built again.';
    END IF;
END
$verify$;

INSERT INTO schema_migrations (id) VALUES ('004_add_queue_claim_indexes') ON CONFLICT (id) DO NOTHING;
