-- 003_add_run_edges_for_dag
--
-- What:  runs.parent_run_id  (uuid, nullable, references runs, ON DELETE
--                            CASCADE): the run that spawned this one, if any;
--        run_edges           one row per dependency "child waits for parent"
--                            between two runs, so that runs form a DAG;
--                            primary key (parent_run_id, child_run_id), and a
--                            CHECK (run_edges_no_self_edge_check) that refuses
--                            an edge from a run to itself.
-- Why:   DAG execution: a run may fan out into child runs and a run may wait
--        on several others. Deleting a run deletes its child runs and every
--        edge that touches it.
-- Indexes: run_edges' primary key serves "children of a run"; the index on
--        child_run_id serves "parents of a run" and the cascade from runs.
--        runs_parent_run_id_idx is partial (only rows that have a parent), so
--        it stays small while most runs are top-level.
-- Re-running: every statement is guarded; a second run changes nothing.

BEGIN;

ALTER TABLE runs ADD COLUMN IF NOT EXISTS parent_run_id uuid;

CREATE TABLE IF NOT EXISTS run_edges (
    parent_run_id  uuid        NOT NULL,
    child_run_id   uuid        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT run_edges_pkey PRIMARY KEY (parent_run_id, child_run_id),
    CONSTRAINT run_edges_parent_run_id_fkey
        FOREIGN KEY (parent_run_id) REFERENCES runs (id) ON DELETE CASCADE,
    CONSTRAINT run_edges_child_run_id_fkey
        FOREIGN KEY (child_run_id) REFERENCES runs (id) ON DELETE CASCADE,
    CONSTRAINT run_edges_no_self_edge_check CHECK (parent_run_id <> child_run_id)
);

-- Foreign keys are looked up by what they do (column, referenced table), so
-- that a key an ORM created under another name is not added twice; the CHECK
-- is looked up by name.
DO $migrate$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint c
        WHERE c.conrelid = 'runs'::regclass
          AND c.contype = 'f'
          AND c.confrelid = 'runs'::regclass
          AND c.conkey = ARRAY[(SELECT attnum FROM pg_attribute
                                WHERE attrelid = 'runs'::regclass AND attname = 'parent_run_id')]
    ) THEN
        ALTER TABLE runs ADD CONSTRAINT runs_parent_run_id_fkey
            FOREIGN KEY (parent_run_id) REFERENCES runs (id) ON DELETE CASCADE;
    END IF;

    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint c
        WHERE c.conrelid = 'run_edges'::regclass
          AND c.contype = 'f'
          AND c.confrelid = 'runs'::regclass
          AND c.conkey = ARRAY[(SELECT attnum FROM pg_attribute
                                WHERE attrelid = 'run_edges'::regclass AND attname = 'parent_run_id')]
    ) THEN
        ALTER TABLE run_edges ADD CONSTRAINT run_edges_parent_run_id_fkey
            FOREIGN KEY (parent_run_id) REFERENCES runs (id) ON DELETE CASCADE;
    END IF;

    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint c
        WHERE c.conrelid = 'run_edges'::regclass
          AND c.contype = 'f'
          AND c.confrelid = 'runs'::regclass
          AND c.conkey = ARRAY[(SELECT attnum FROM pg_attribute
                                WHERE attrelid = 'run_edges'::regclass AND attname = 'child_run_id')]
    ) THEN
        ALTER TABLE run_edges ADD CONSTRAINT run_edges_child_run_id_fkey
            FOREIGN KEY (child_run_id) REFERENCES runs (id) ON DELETE CASCADE;
    END IF;

    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'run_edges'::regclass AND conname = 'run_edges_no_self_edge_check'
    ) THEN
        ALTER TABLE run_edges ADD CONSTRAINT run_edges_no_self_edge_check
            CHECK (parent_run_id <> child_run_id);
    END IF;
END
$migrate$;

CREATE INDEX IF NOT EXISTS run_edges_child_run_id_idx ON run_edges (child_run_id);
-- xyn:lint-ignore-next index-without-concurrently: parent_run_id is new in this file, so the partial index is empty; building it scans runs once under a SHARE lock, which the schema of this release accepts (later indexes on runs go in a -- xyn:no-transaction file)
CREATE INDEX IF NOT EXISTS runs_parent_run_id_idx ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;

COMMIT;

-- Verification: the column, the table, its keys and the self-edge CHECK exist.
DO $verify$
DECLARE
    missing text;
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_attribute
        WHERE attrelid = 'runs'::regclass AND attname = 'parent_run_id' AND NOT attisdropped
    ) THEN
        RAISE EXCEPTION '003_add_run_edges_for_dag: runs.parent_run_id is missing';
    END IF;

    IF to_regclass('run_edges') IS NULL THEN
        RAISE EXCEPTION '003_add_run_edges_for_dag: table run_edges is missing';
    END IF;

    SELECT string_agg(want.tbl || '.' || want.col, ', ' ORDER BY want.tbl, want.col)
    INTO missing
    FROM (VALUES ('runs', 'parent_run_id'),
                 ('run_edges', 'parent_run_id'),
                 ('run_edges', 'child_run_id')) AS want(tbl, col)
    WHERE NOT EXISTS (
        SELECT 1
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
        WHERE c.conrelid = to_regclass(want.tbl)
          AND c.contype = 'f'
          AND c.confrelid = 'runs'::regclass
          AND c.confdeltype = 'c'
          AND a.attname = want.col
    );
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION '003_add_run_edges_for_dag: no ON DELETE CASCADE foreign key to runs on: %', missing;
    END IF;

    IF NOT EXISTS (
        SELECT 1 FROM pg_index
        WHERE indrelid = 'run_edges'::regclass AND indisprimary
    ) THEN
        RAISE EXCEPTION '003_add_run_edges_for_dag: run_edges has no primary key';
    END IF;

    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'run_edges'::regclass AND conname = 'run_edges_no_self_edge_check'
    ) THEN
        RAISE EXCEPTION '003_add_run_edges_for_dag: constraint run_edges_no_self_edge_check is missing';
    END IF;
END
$verify$;

INSERT INTO schema_migrations (id) VALUES ('003_add_run_edges_for_dag') ON CONFLICT (id) DO NOTHING;
