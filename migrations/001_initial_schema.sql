-- 001_initial_schema
--
-- What:  the baseline of the Xyn workflow engine:
--          blueprints  versioned workflow definitions, id "name@vN"
--          runs        one execution of a blueprint, with its lifecycle status
--          steps       the ordered units of work inside a run
--        and registers the blueprint core.migrations.apply@v1, under which
--        xyn-migrate records its own runs.
-- Why:   development databases got these tables from the application's ORM;
--        this file gives every other environment the same starting point,
--        built the same way each time.
-- Not here, on purpose: run_at/priority and the "scheduled" status (002),
--        runs.parent_run_id and run_edges (003), the claim indexes (004) and
--        the step ordering constraints (005).
-- Existing tables: when a table already exists (created by the ORM), it is
--        left as it is and only the named constraints below that it lacks are
--        added. Constraint names are PostgreSQL's own default names, which is
--        also what an ORM gets when it does not name its constraints.
-- Re-running: every statement is guarded; a second run changes nothing.
-- Needs PostgreSQL 13 or later (gen_random_uuid() is built in from 13).

BEGIN;

CREATE TABLE IF NOT EXISTS blueprints (
    id           text        NOT NULL,
    name         text        NOT NULL,
    version      integer     NOT NULL,
    description  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT blueprints_pkey PRIMARY KEY (id),
    CONSTRAINT blueprints_id_check CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]*@v[0-9]+$'),
    CONSTRAINT blueprints_version_check CHECK (version >= 1),
    CONSTRAINT blueprints_id_name_version_check CHECK (id = name || '@v' || version::text)
);

CREATE TABLE IF NOT EXISTS runs (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    blueprint_id  text        NOT NULL,
    status        text        NOT NULL DEFAULT 'queued',
    inputs        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    outputs       jsonb,
    error         jsonb,
    attempts      integer     NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT runs_pkey PRIMARY KEY (id),
    CONSTRAINT runs_blueprint_id_fkey FOREIGN KEY (blueprint_id) REFERENCES blueprints (id),
    CONSTRAINT runs_status_check
        CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    CONSTRAINT runs_attempts_check CHECK (attempts >= 0)
);

CREATE TABLE IF NOT EXISTS steps (
    id           bigint      GENERATED ALWAYS AS IDENTITY,
    run_id       uuid        NOT NULL,
    idx          integer     NOT NULL,
    name         text        NOT NULL,
    status       text        NOT NULL DEFAULT 'pending',
    inputs       jsonb,
    outputs      jsonb,
    error        jsonb,
    started_at   timestamptz,
    finished_at  timestamptz,
    duration_ms  integer,
    CONSTRAINT steps_pkey PRIMARY KEY (id),
    CONSTRAINT steps_run_id_fkey FOREIGN KEY (run_id) REFERENCES runs (id) ON DELETE CASCADE,
    CONSTRAINT steps_status_check
        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped'))
);

-- Tables that existed before this file ran keep their own definition; add the
-- constraints they lack. Foreign keys are looked up by what they do (same
-- columns, same referenced table) rather than by name, so that an ORM's
-- differently named key is not doubled. CHECK constraints are looked up by
-- name.
DO $migrate$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'blueprints'::regclass AND conname = 'blueprints_id_check'
    ) THEN
        ALTER TABLE blueprints ADD CONSTRAINT blueprints_id_check
            CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]*@v[0-9]+$');
    END IF;

    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'blueprints'::regclass AND conname = 'blueprints_version_check'
    ) THEN
        ALTER TABLE blueprints ADD CONSTRAINT blueprints_version_check CHECK (version >= 1);
    END IF;

    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'blueprints'::regclass AND conname = 'blueprints_id_name_version_check'
    ) THEN
        ALTER TABLE blueprints ADD CONSTRAINT blueprints_id_name_version_check
            CHECK (id = name || '@v' || version::text);
    END IF;

    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint c
        WHERE c.conrelid = 'runs'::regclass
          AND c.contype = 'f'
          AND c.confrelid = 'blueprints'::regclass
          AND c.conkey = ARRAY[(SELECT attnum FROM pg_attribute
                                WHERE attrelid = 'runs'::regclass AND attname = 'blueprint_id')]
    ) THEN
        ALTER TABLE runs ADD CONSTRAINT runs_blueprint_id_fkey
            FOREIGN KEY (blueprint_id) REFERENCES blueprints (id);
    END IF;

    -- Added NOT VALID on this path only: an ORM-made table in a later shape
    -- may already hold runs in states that 002 introduces ("scheduled").
    -- 002 replaces this constraint with a validated one.
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'runs'::regclass AND conname = 'runs_status_check'
    ) THEN
        ALTER TABLE runs ADD CONSTRAINT runs_status_check
            CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')) NOT VALID;
    END IF;

    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'runs'::regclass AND conname = 'runs_attempts_check'
    ) THEN
        ALTER TABLE runs ADD CONSTRAINT runs_attempts_check CHECK (attempts >= 0);
    END IF;

    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint c
        WHERE c.conrelid = 'steps'::regclass
          AND c.contype = 'f'
          AND c.confrelid = 'runs'::regclass
          AND c.conkey = ARRAY[(SELECT attnum FROM pg_attribute
                                WHERE attrelid = 'steps'::regclass AND attname = 'run_id')]
    ) THEN
        ALTER TABLE steps ADD CONSTRAINT steps_run_id_fkey
            FOREIGN KEY (run_id) REFERENCES runs (id) ON DELETE CASCADE;
    END IF;

    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'steps'::regclass AND conname = 'steps_status_check'
    ) THEN
        ALTER TABLE steps ADD CONSTRAINT steps_status_check
            CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped'));
    END IF;
END
$migrate$;

-- Listing the runs of a blueprint, newest first.
CREATE INDEX IF NOT EXISTS runs_blueprint_id_created_at_idx ON runs (blueprint_id, created_at DESC);
-- Loading the steps of a run; also serves the ON DELETE CASCADE from runs.
CREATE INDEX IF NOT EXISTS steps_run_id_idx ON steps (run_id);

-- The job under which xyn-migrate records itself.
INSERT INTO blueprints (id, name, version, description)
VALUES (
    'core.migrations.apply@v1',
    'core.migrations.apply',
    1,
    'Schema migration job of xyn-migrate. Each run is one "xyn-migrate migrate" '
    || 'invocation that applied files; each step of that run is one migration file applied.'
)
ON CONFLICT (id) DO NOTHING;

COMMIT;

-- Verification: tables, columns, constraints and the blueprint row are present.
DO $verify$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(want.tbl || '.' || want.col, ', ' ORDER BY want.tbl, want.col)
    INTO missing
    FROM (VALUES
        ('blueprints', 'id'), ('blueprints', 'name'), ('blueprints', 'version'),
        ('blueprints', 'description'), ('blueprints', 'created_at'),
        ('runs', 'id'), ('runs', 'blueprint_id'), ('runs', 'status'), ('runs', 'inputs'),
        ('runs', 'outputs'), ('runs', 'error'), ('runs', 'attempts'), ('runs', 'created_at'),
        ('runs', 'started_at'), ('runs', 'finished_at'), ('runs', 'updated_at'),
        ('steps', 'id'), ('steps', 'run_id'), ('steps', 'idx'), ('steps', 'name'),
        ('steps', 'status'), ('steps', 'inputs'), ('steps', 'outputs'), ('steps', 'error'),
        ('steps', 'started_at'), ('steps', 'finished_at'), ('steps', 'duration_ms')
    ) AS want(tbl, col)
    WHERE NOT EXISTS (
        SELECT 1
        FROM pg_attribute a
        WHERE a.attrelid = to_regclass(want.tbl)
          AND a.attname = want.col
          AND a.attnum > 0
          AND NOT a.attisdropped
    );
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION '001_initial_schema: missing column(s): %', missing;
    END IF;

    SELECT string_agg(want.tbl || '.' || want.con, ', ' ORDER BY want.tbl, want.con)
    INTO missing
    FROM (VALUES
        ('blueprints', 'blueprints_id_check'),
        ('blueprints', 'blueprints_version_check'),
        ('blueprints', 'blueprints_id_name_version_check'),
        ('runs', 'runs_status_check'),
        ('runs', 'runs_attempts_check'),
        ('steps', 'steps_status_check')
    ) AS want(tbl, con)
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_constraint c
        WHERE c.conrelid = to_regclass(want.tbl) AND c.conname = want.con
    );
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION '001_initial_schema: missing constraint(s): %', missing;
    END IF;

    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'runs'::regclass AND contype = 'f' AND confrelid = 'blueprints'::regclass
    ) THEN
        RAISE EXCEPTION '001_initial_schema: runs.blueprint_id has no foreign key to blueprints';
    END IF;

    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'steps'::regclass AND contype = 'f' AND confrelid = 'runs'::regclass
          AND confdeltype = 'c'
    ) THEN
        RAISE EXCEPTION '001_initial_schema: steps.run_id has no ON DELETE CASCADE foreign key to runs';
    END IF;

    IF NOT EXISTS (SELECT 1 FROM blueprints WHERE id = 'core.migrations.apply@v1') THEN
        RAISE EXCEPTION '001_initial_schema: blueprint core.migrations.apply@v1 is not registered';
    END IF;
END
$verify$;

INSERT INTO schema_migrations (id) VALUES ('001_initial_schema') ON CONFLICT (id) DO NOTHING;
