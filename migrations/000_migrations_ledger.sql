-- 000_migrations_ledger
--
-- What:  creates the ledger table schema_migrations, one row per applied
--        migration file (id = file name without ".sql").
-- Why:   every other file records itself here, and xyn-migrate reads it to
--        decide what is pending. The runner creates the same table on its own
--        before applying anything; this file keeps the definition in the
--        migration history and brings an older ledger up to date.
-- Older ledgers: the shell script that preceded xyn-migrate created the table
--        with (id, applied_at) only. Such a table is kept with its rows; the
--        columns checksum, duration_ms and applied_by are added to it.
-- Re-running: every statement is guarded; a second run changes nothing.

BEGIN;

CREATE TABLE IF NOT EXISTS schema_migrations (
    id          text        PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- sha256 of the file as applied; NULL for rows adopted from the old ledger
ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text;
-- wall time the file took to apply, in milliseconds
ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS duration_ms integer;
-- who applied it (database role, host, runner version: free text)
ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS applied_by text;

-- An old ledger may lack the default or the NOT NULL on applied_at.
-- Setting the same default again leaves the catalog as it was. NOT NULL is
-- only added when no row would violate it, so adopting a ledger never fails
-- on historical data.
ALTER TABLE schema_migrations ALTER COLUMN applied_at SET DEFAULT now();

DO $migrate$
BEGIN
    IF EXISTS (
        SELECT 1
        FROM pg_attribute
        WHERE attrelid = 'schema_migrations'::regclass
          AND attname = 'applied_at'
          AND NOT attnotnull
    ) AND NOT EXISTS (SELECT 1 FROM schema_migrations WHERE applied_at IS NULL) THEN
        ALTER TABLE schema_migrations ALTER COLUMN applied_at SET NOT NULL;
    END IF;
END
$migrate$;

COMMIT;

-- Verification: the ledger has every column the runner writes.
DO $verify$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(want.col, ', ' ORDER BY want.col)
    INTO missing
    FROM (VALUES ('id'), ('applied_at'), ('checksum'), ('duration_ms'), ('applied_by')) AS want(col)
    WHERE NOT EXISTS (
        SELECT 1
        FROM pg_attribute a
        WHERE a.attrelid = to_regclass('schema_migrations')
          AND a.attname = want.col
          AND a.attnum > 0
          AND NOT a.attisdropped
    );
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION '000_migrations_ledger: schema_migrations lacks column(s): %', missing;
    END IF;

    IF NOT EXISTS (
        SELECT 1
        FROM pg_index
        WHERE indrelid = 'schema_migrations'::regclass
          AND indisprimary
    ) THEN
        RAISE EXCEPTION '000_migrations_ledger: schema_migrations has no primary key on id';
    END IF;
END
$verify$;

INSERT INTO schema_migrations (id) VALUES ('000_migrations_ledger') ON CONFLICT (id) DO NOTHING;
