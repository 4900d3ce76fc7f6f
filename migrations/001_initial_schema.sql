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
--        kept with its rows and brought to the definition below where the two
--        differ: string columns of another type (the ORM's varchar(n)) become
--        text with our defaults, CHECK constraints of ours that are missing or
--        read differently are (re-)created, and missing foreign keys are added.
--        Constraint names are PostgreSQL's own default names, which is also
--        what an ORM gets when it does not name its constraints. Columns,
--        indexes and constraints the ORM has in addition are left alone.
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

-- Column types of tables that existed before this file ran. An ORM may have
-- made the string columns character varying(n) where ours are text, and then
-- everything built on them reads differently too: CHECKs compare
-- "(status)::text" with lists of 'queued'::character varying, partial indexes
-- test "(status)::text = 'queued'::text", and a query that passes one
-- parameter to a text and a varchar column fails with "inconsistent types
-- deduced for parameter". Each such column is converted to text and gets our
-- default, or none where we have none (a text column whose default differs
-- only gets its default set). The loop selects only columns that differ from
-- ours, so on a fresh database, and on a second run, it does nothing.
-- Cost: ALTER COLUMN ... TYPE takes an ACCESS EXCLUSIVE lock on the table,
-- held until this file commits, and in general rewrites the table and its
-- indexes. From varchar the conversion is binary compatible: PostgreSQL keeps
-- the table's data and its plain indexes as they are, rebuilds the indexes
-- whose predicate or expression uses the column and checks the constraints on
-- it again. Acceptable: only tables an ORM made, i.e. development databases,
-- ever need it; a database built by these files never does.
DO $migrate$
DECLARE
    col record;
BEGIN
    FOR col IN
        SELECT want.tbl, want.col, want.dflt, format_type(a.atttypid, a.atttypmod) AS was,
               a.atttypid <> 'text'::regtype AS retype
        FROM (VALUES
            ('blueprints', 'id',           NULL),
            ('blueprints', 'name',         NULL),
            ('blueprints', 'description',  NULL),
            ('runs',       'blueprint_id', NULL),
            ('runs',       'status',       '''queued''::text'),
            ('steps',      'name',         NULL),
            ('steps',      'status',       '''pending''::text')
        ) AS want(tbl, col, dflt)   -- dflt: our default, as pg_get_expr prints it
        JOIN pg_attribute a ON a.attrelid = want.tbl::regclass
                           AND a.attname = want.col
                           AND a.attnum > 0
                           AND NOT a.attisdropped
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.atttypid <> 'text'::regtype
           OR want.dflt IS DISTINCT FROM pg_get_expr(d.adbin, d.adrelid)
        ORDER BY want.tbl, want.col
    LOOP
        IF col.retype THEN
            RAISE NOTICE '001_initial_schema: converting %.% from % to text', col.tbl, col.col, col.was;
            -- The old default goes first: it is of the old type.
            EXECUTE format('ALTER TABLE %I ALTER COLUMN %I DROP DEFAULT, ALTER COLUMN %I TYPE text USING %I::text',
                           col.tbl, col.col, col.col, col.col);
        END IF;
        IF col.dflt IS NULL THEN
            EXECUTE format('ALTER TABLE %I ALTER COLUMN %I DROP DEFAULT', col.tbl, col.col);
        ELSE
            EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET DEFAULT %s', col.tbl, col.col, col.dflt);
        END IF;
    END LOOP;
END
$migrate$;

-- The CHECKs whose final form is this file's, on tables that existed before
-- this file ran: each is compared with the definition a fresh database gets,
-- as pg_get_constraintdef prints it, and dropped and added again (from that
-- same text) when it is missing or reads otherwise: built on a varchar
-- column, NOT VALID, or another condition under our name. Adding a CHECK
-- scans the table under an ACCESS EXCLUSIVE lock; on a fresh database and on
-- a second run every definition matches and nothing is touched.
DO $migrate$
DECLARE
    want record;
BEGIN
    FOR want IN
        SELECT w.tbl, w.con, w.def, cur.def AS was
        FROM (VALUES
            ('blueprints', 'blueprints_id_check',
             $def$CHECK ((id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]*@v[0-9]+$'::text))$def$),
            ('blueprints', 'blueprints_version_check',
             $def$CHECK ((version >= 1))$def$),
            ('blueprints', 'blueprints_id_name_version_check',
             $def$CHECK ((id = ((name || '@v'::text) || (version)::text)))$def$),
            ('runs', 'runs_attempts_check',
             $def$CHECK ((attempts >= 0))$def$),
            ('steps', 'steps_status_check',
             $def$CHECK ((status = ANY (ARRAY['pending'::text, 'running'::text, 'completed'::text, 'failed'::text, 'skipped'::text])))$def$)
        ) AS w(tbl, con, def)
        LEFT JOIN LATERAL (
            SELECT pg_get_constraintdef(c.oid) AS def
            FROM pg_constraint c
            WHERE c.conrelid = w.tbl::regclass AND c.conname = w.con
        ) AS cur ON true
        WHERE w.def IS DISTINCT FROM cur.def
        ORDER BY w.tbl, w.con
    LOOP
        IF want.was IS NOT NULL THEN
            RAISE NOTICE '001_initial_schema: re-creating %.%, which read %', want.tbl, want.con, want.was;
            EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', want.tbl, want.con);
        END IF;
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s', want.tbl, want.con, want.def);
    END LOOP;
END
$migrate$;

-- runs_status_check is widened by 002 (and perhaps by later files), so its
-- list is not compared here:
--   * missing: added with this file's list, NOT VALID on this path only (an
--     ORM-made table in a later shape may already hold runs in states that
--     002 introduces, such as "scheduled"); 002 replaces it with a validated
--     one;
--   * built on a varchar column (its list reads 'queued'::character varying):
--     added again with the same statuses in the same order, now on text, so
--     that it reads as on a fresh database; validated if the old one was;
--   * otherwise: left as it is.
-- Foreign keys are looked up by what they do (same columns, same referenced
-- table) rather than by name, so that an ORM's differently named key is not
-- doubled.
DO $migrate$
DECLARE
    status_def   text;
    status_valid boolean;
    statuses     text;
BEGIN
    SELECT pg_get_constraintdef(c.oid), c.convalidated
    INTO status_def, status_valid
    FROM pg_constraint c
    WHERE c.conrelid = 'runs'::regclass AND c.conname = 'runs_status_check';

    IF status_def LIKE '%character varying%' THEN
        -- Its quoted literals, in order ('' inside a literal is one quote).
        SELECT string_agg(quote_literal(replace(m.lit[1], '''''', '''')), ', ' ORDER BY m.n)
        INTO statuses
        FROM regexp_matches(status_def, '''((?:[^'']|'''')*)''', 'g') WITH ORDINALITY AS m(lit, n);
        RAISE NOTICE '001_initial_schema: re-creating runs_status_check on text, allowing %', statuses;
        ALTER TABLE runs DROP CONSTRAINT runs_status_check;
        IF statuses IS NOT NULL THEN
            EXECUTE format('ALTER TABLE runs ADD CONSTRAINT runs_status_check CHECK (status IN (%s))%s',
                           statuses, CASE WHEN status_valid THEN '' ELSE ' NOT VALID' END);
        END IF;
    END IF;

    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'runs'::regclass AND conname = 'runs_status_check'
    ) THEN
        ALTER TABLE runs ADD CONSTRAINT runs_status_check
            CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')) NOT VALID;
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

-- Verification: tables, columns (the string ones of type text), constraints
-- and the blueprint row are present.
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

    SELECT string_agg(want.tbl || '.' || want.col || ' (' || format_type(a.atttypid, a.atttypmod) || ')',
                      ', ' ORDER BY want.tbl, want.col)
    INTO missing
    FROM (VALUES
        ('blueprints', 'id'), ('blueprints', 'name'), ('blueprints', 'description'),
        ('runs', 'blueprint_id'), ('runs', 'status'), ('steps', 'name'), ('steps', 'status')
    ) AS want(tbl, col)
    JOIN pg_attribute a ON a.attrelid = to_regclass(want.tbl) AND a.attname = want.col AND NOT a.attisdropped
    WHERE a.atttypid <> 'text'::regtype;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION '001_initial_schema: column(s) not of type text: %', missing;
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

    SELECT string_agg(c.conname, ', ' ORDER BY c.conname)
    INTO missing
    FROM pg_constraint c
    WHERE c.conrelid IN ('blueprints'::regclass, 'runs'::regclass, 'steps'::regclass)
      AND c.conname IN ('blueprints_id_check', 'blueprints_version_check', 'blueprints_id_name_version_check',
                        'runs_status_check', 'runs_attempts_check', 'steps_status_check')
      AND pg_get_constraintdef(c.oid) LIKE '%character varying%';
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION '001_initial_schema: constraint(s) still built on character varying: %', missing;
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
