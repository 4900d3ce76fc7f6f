-- 005_steps_run_idx_constraints
--
-- What:  steps_run_id_idx_key  UNIQUE (run_id, idx): one step per position in
--                              a run;
--        steps_idx_check       CHECK (idx >= 0): positions count from 0.
-- Why:   a run's steps are read back in idx order; two steps with the same
--        position, or a negative one, make that order ambiguous. Workers
--        racing to record the same step now get a unique violation instead of
--        a silent duplicate.
-- Existing data: if steps already holds duplicate (run_id, idx) pairs the
--        file stops with a message saying how many, and changes nothing;
--        resolve them and run it again.
-- Existing indexes: the unique constraint is only added when no unique index
--        on exactly (run_id, idx) exists yet, whatever its name (an ORM's
--        own unique constraint counts).
-- Re-running: every statement is guarded; a second run changes nothing.

BEGIN;

DO $migrate$
DECLARE
    duplicates bigint;
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_index i
        WHERE i.indrelid = 'steps'::regclass
          AND i.indisunique
          AND i.indpred IS NULL
          AND i.indexprs IS NULL
          AND i.indnatts = 2
          AND i.indkey[0] = (SELECT attnum FROM pg_attribute
                             WHERE attrelid = 'steps'::regclass AND attname = 'run_id')
          AND i.indkey[1] = (SELECT attnum FROM pg_attribute
                             WHERE attrelid = 'steps'::regclass AND attname = 'idx')
    ) THEN
        SELECT count(*) INTO duplicates
        FROM (SELECT 1 FROM steps GROUP BY run_id, idx HAVING count(*) > 1) AS d;
        IF duplicates > 0 THEN
            RAISE EXCEPTION '005_steps_run_idx_constraints: % (run_id, idx) pair(s) occur more than once in steps', duplicates
                USING HINT = 'SELECT run_id, idx, count(*) FROM steps GROUP BY 1, 2 HAVING count(*) > 1 lists them.';
        END IF;
        ALTER TABLE steps ADD CONSTRAINT steps_run_id_idx_key UNIQUE (run_id, idx);
    END IF;

    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'steps'::regclass AND conname = 'steps_idx_check'
    ) THEN
        ALTER TABLE steps ADD CONSTRAINT steps_idx_check CHECK (idx >= 0);
    END IF;
END
$migrate$;

COMMIT;

-- Verification: (run_id, idx) is unique and idx >= 0 is enforced.
DO $verify$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_index i
        WHERE i.indrelid = 'steps'::regclass
          AND i.indisunique
          AND i.indisvalid
          AND i.indpred IS NULL
          AND i.indexprs IS NULL
          AND i.indnatts = 2
          AND i.indkey[0] = (SELECT attnum FROM pg_attribute
                             WHERE attrelid = 'steps'::regclass AND attname = 'run_id')
          AND i.indkey[1] = (SELECT attnum FROM pg_attribute
                             WHERE attrelid = 'steps'::regclass AND attname = 'idx')
    ) THEN
        RAISE EXCEPTION '005_steps_run_idx_constraints: no unique index on steps (run_id, idx)';
    END IF;

    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'steps'::regclass AND conname = 'steps_idx_check' AND contype = 'c'
    ) THEN
        RAISE EXCEPTION '005_steps_run_idx_constraints: constraint steps_idx_check is missing';
    END IF;
END
$verify$;

INSERT INTO schema_migrations (id) VALUES ('005_steps_run_idx_constraints') ON CONFLICT (id) DO NOTHING;
