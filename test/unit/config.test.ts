import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { after, describe, it } from 'node:test';
import { loadConfig, type Config } from '../../src/config.js';
import type { ConnectionTarget } from '../../src/target.js';
import { assertConfigError } from '../support/assertions.js';

const scratch = mkdtempSync(join(tmpdir(), 'xyn-config-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let fileCount = 0;
/** Writes `content` to a new file in the scratch folder and returns its path. */
function tempFile(content: string): string {
  const path = join(scratch, `file-${++fileCount}`);
  writeFileSync(path, content);
  return path;
}

/** The database target resolved from `env`, which must name one. */
function target(env: Record<string, string>): ConnectionTarget {
  const database = loadConfig({}, env).database;
  assert.ok(database, 'expected a database target');
  return database;
}

const PASSWORD = 'hunter2-Sekr1t';

describe('loadConfig: defaults', () => {
  it('an empty environment gives the documented defaults', () => {
    const config = loadConfig({}, { XYN_TERMINATION_LOG: '/tmp/termination' }, { stderr: false });
    const expected: Omit<Config, 'appliedBy' | 'host'> = {
      database: undefined,
      tlsDefaults: { sslmode: undefined, sslrootcert: undefined, sslcert: undefined, sslkey: undefined, auth: 'password' },
      migrationsDir: './migrations',
      required: { kind: 'all' },
      waitTimeoutMs: 60_000,
      lockTimeoutMs: 300_000,
      ddlLockTimeoutMs: 5_000,
      maxBlockingMs: 5_000,
      ddlRetries: 5,
      statementTimeoutMs: 0,
      recordRuns: 'auto',
      ledger: { schema: 'public', table: 'schema_migrations' },
      allowDrift: false,
      allowOutOfOrder: false,
      allowMissingFiles: false,
      phase: 'pre',
      logLevel: 'info',
      logFormat: 'json',
      terminationLog: '/tmp/termination',
      rehearseUrl: undefined,
      fleet: undefined,
    };
    const { appliedBy: _appliedBy, host: _host, ...rest } = config;
    assert.deepEqual(rest, expected);
  });

  it('XYN_LOG_FORMAT=auto (the default) is pretty when stderr is a terminal and JSON otherwise; json and pretty are kept', () => {
    assert.equal(loadConfig({}, {}, { stderr: true }).logFormat, 'pretty');
    assert.equal(loadConfig({}, {}, { stderr: false }).logFormat, 'json');
    assert.equal(loadConfig({}, { XYN_LOG_FORMAT: 'json' }, { stderr: true }).logFormat, 'json');
    assert.equal(loadConfig({}, { XYN_LOG_FORMAT: 'pretty' }, { stderr: false }).logFormat, 'pretty');
  });

  it('without a database name, the database is named like the user, as libpq does (PG* variables and URLs)', () => {
    const fromVariables = loadConfig({}, { PGHOST: 'db.internal', PGUSER: 'app' }).database;
    assert.equal(fromVariables?.database, 'app');
    assert.equal(fromVariables?.display, 'db.internal:5432/app');
    assert.equal(loadConfig({}, { DATABASE_URL: 'postgres://app@db.internal:5432' }).database?.database, 'app');
    assert.equal(loadConfig({}, { DATABASE_URL: 'postgres://app@db.internal:5432/other' }).database?.database, 'other');
  });

  it('applied_by names the host from HOSTNAME, unless XYN_APPLIED_BY says otherwise', () => {
    assert.equal(loadConfig({}, { HOSTNAME: 'migrate-job-7x2k' }).appliedBy, 'xyn-migrate on migrate-job-7x2k');
    assert.equal(loadConfig({}, { HOSTNAME: 'h', XYN_APPLIED_BY: 'ci run 42' }).appliedBy, 'ci run 42');
    assert.equal(loadConfig({}, { HOSTNAME: 'migrate-job-7x2k' }).host, 'migrate-job-7x2k');
  });

  it('the config is frozen', () => {
    const config = loadConfig({}, {});
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.ledger));
  });

  it('reads every variable it is given', () => {
    const config = loadConfig(
      {},
      {
        XYN_MIGRATIONS_DIR: '/migrations',
        XYN_REQUIRED_MIGRATIONS: '001_initial_schema, 002_add_runs',
        XYN_RECORD_RUNS: 'off',
        XYN_LEDGER_SCHEMA: 'xyn',
        XYN_LEDGER_TABLE: 'ledger',
        XYN_ALLOW_DRIFT: 'true',
        XYN_ALLOW_OUT_OF_ORDER: 'yes',
        XYN_ALLOW_MISSING_FILES: '1',
        LOG_LEVEL: 'debug',
        XYN_LOG_FORMAT: 'pretty',
        XYN_DDL_RETRIES: '0',
      },
    );
    assert.equal(config.migrationsDir, '/migrations');
    assert.deepEqual(config.required, { kind: 'list', ids: ['001_initial_schema', '002_add_runs'] });
    assert.equal(config.recordRuns, 'off');
    assert.deepEqual(config.ledger, { schema: 'xyn', table: 'ledger' });
    assert.equal(config.allowDrift, true);
    assert.equal(config.allowOutOfOrder, true);
    assert.equal(config.allowMissingFiles, true);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.logFormat, 'pretty');
    assert.equal(config.ddlRetries, 0);
  });

  it('XYN_REQUIRED_MIGRATIONS=all requires every file present', () => {
    assert.deepEqual(loadConfig({}, { XYN_REQUIRED_MIGRATIONS: 'all' }).required, { kind: 'all' });
  });

  it('an XYN_REQUIRED_MIGRATIONS entry that is not a migration id is named in the error', () => {
    assertConfigError(
      () => loadConfig({}, { XYN_REQUIRED_MIGRATIONS: '001_initial_schema,initial' }),
      /XYN_REQUIRED_MIGRATIONS/,
      /"initial"/,
    );
  });

  it('XYN_PHASE (--phase) is pre or post; anything else is refused naming the variable and its flag', () => {
    assert.equal(loadConfig({}, { XYN_PHASE: 'post' }).phase, 'post');
    assert.equal(loadConfig({ phase: 'post' }, { XYN_PHASE: 'pre' }).phase, 'post');
    assertConfigError(() => loadConfig({}, { XYN_PHASE: 'after' }), /XYN_PHASE \(--phase\)/);
  });

  it('a ledger table that is not a plain identifier is refused', () => {
    assertConfigError(() => loadConfig({}, { XYN_LEDGER_TABLE: 'schema_migrations; DROP TABLE x' }), /XYN_LEDGER_TABLE/);
  });
});

describe('loadConfig: durations', () => {
  it('durations are decimal seconds, turned into milliseconds', () => {
    const config = loadConfig(
      {},
      { XYN_WAIT_TIMEOUT: '0.5', XYN_LOCK_TIMEOUT: '2', XYN_DDL_LOCK_TIMEOUT: '1.25', XYN_STATEMENT_TIMEOUT: '3600' },
    );
    assert.equal(config.waitTimeoutMs, 500);
    assert.equal(config.lockTimeoutMs, 2_000);
    assert.equal(config.ddlLockTimeoutMs, 1_250);
    assert.equal(config.statementTimeoutMs, 3_600_000);
  });

  it('XYN_STATEMENT_TIMEOUT=0 means no limit (0 ms)', () => {
    assert.equal(loadConfig({}, { XYN_STATEMENT_TIMEOUT: '0' }).statementTimeoutMs, 0);
  });

  it('XYN_MAX_BLOCKING (--max-blocking) is decimal seconds; 0 turns the blocking budget off; a bad value names the flag', () => {
    assert.equal(loadConfig({}, { XYN_MAX_BLOCKING: '2.5' }).maxBlockingMs, 2_500);
    assert.equal(loadConfig({ 'max-blocking': '0' }, { XYN_MAX_BLOCKING: '9' }).maxBlockingMs, 0);
    assertConfigError(
      () => loadConfig({ 'max-blocking': '2s' }, {}),
      /XYN_MAX_BLOCKING \(--max-blocking\): "2s" is not a number of seconds/,
    );
  });

  for (const variable of ['XYN_STATEMENT_TIMEOUT', 'XYN_DDL_LOCK_TIMEOUT']) {
    it(`${variable} beyond PostgreSQL's int of milliseconds is refused at start, naming the variable and the range`, () => {
      assertConfigError(
        () => loadConfig({}, { [variable]: '3000000' }),
        new RegExp(
          `${variable}(?: \\(--[a-z-]+\\))?: "3000000" is more than PostgreSQL takes for a timeout: 0 \\(none\\) to 2147483.647 seconds`,
        ),
      );
      const largest = loadConfig({}, { [variable]: '2147483.647' });
      assert.equal(variable === 'XYN_STATEMENT_TIMEOUT' ? largest.statementTimeoutMs : largest.ddlLockTimeoutMs, 2_147_483_647);
    });
  }

  for (const variable of ['XYN_MAX_BLOCKING', 'XYN_WAIT_TIMEOUT', 'XYN_LOCK_TIMEOUT']) {
    it(`${variable} beyond what a Node timer takes is refused at start, naming the variable and the range`, () => {
      assertConfigError(
        () => loadConfig({}, { [variable]: '3000000' }),
        new RegExp(`${variable}(?: \\(--[a-z-]+\\))?: "3000000" is longer than can be waited: 0 to 2147483.647 seconds`),
      );
      assert.doesNotThrow(() => loadConfig({}, { [variable]: '2147483.647' }));
    });
  }

  for (const bad of ['-1', '1s', 'abc', '1e3', '']) {
    it(`XYN_WAIT_TIMEOUT=${JSON.stringify(bad)} is refused, naming the variable`, () => {
      assertConfigError(() => loadConfig({}, { XYN_WAIT_TIMEOUT: bad }), /XYN_WAIT_TIMEOUT/);
    });
  }
});

describe('loadConfig: every problem in one error', () => {
  it('three bad variables are all named in ONE ConfigError', () => {
    const error = assertConfigError(
      () => loadConfig({}, { XYN_WAIT_TIMEOUT: 'soon', XYN_LOG_FORMAT: 'xml', XYN_DDL_RETRIES: 'many' }),
      /XYN_WAIT_TIMEOUT/,
      /XYN_LOG_FORMAT/,
      /XYN_DDL_RETRIES/,
    );
    assert.match(error.message, /^Invalid configuration: /);
  });

  it('a malformed DATABASE_URL is named in the same error as the other bad variables', () => {
    assertConfigError(
      () => loadConfig({}, { DATABASE_URL: `postgres://app:${PASSWORD}@db:notaport/xyn`, XYN_WAIT_TIMEOUT: 'soon', XYN_LOG_FORMAT: 'xml' }),
      /DATABASE_URL/,
      /XYN_WAIT_TIMEOUT/,
      /XYN_LOG_FORMAT/,
    );
  });

  it('the error names each bad value (not a secret) so a person can find it', () => {
    assertConfigError(() => loadConfig({}, { XYN_LOCK_TIMEOUT: 'forever' }), /"forever"/);
  });
});

describe('loadConfig: flags', () => {
  it('a flag overrides the variable it stands for', () => {
    const config = loadConfig(
      { 'wait-timeout': '3', 'migrations-dir': '/from-flag', 'allow-drift': 'true', required: 'all' },
      { XYN_WAIT_TIMEOUT: '10', XYN_MIGRATIONS_DIR: '/from-env', XYN_ALLOW_DRIFT: 'false', XYN_REQUIRED_MIGRATIONS: '001_a' },
    );
    assert.equal(config.waitTimeoutMs, 3_000);
    assert.equal(config.migrationsDir, '/from-flag');
    assert.equal(config.allowDrift, true);
    assert.deepEqual(config.required, { kind: 'all' });
  });

  it('a good flag over a bad variable wins: the bad environment value is not reported', () => {
    assert.equal(loadConfig({ 'lock-timeout': '1' }, { XYN_LOCK_TIMEOUT: 'never' }).lockTimeoutMs, 1_000);
  });

  it('a bad flag is named as VAR (--flag)', () => {
    assertConfigError(() => loadConfig({ 'wait-timeout': 'soon' }, {}), /XYN_WAIT_TIMEOUT \(--wait-timeout\)/);
  });

  it('a bad flag and a bad variable are both named in one error', () => {
    assertConfigError(
      () => loadConfig({ 'log-format': 'xml' }, { XYN_LEDGER_SCHEMA: 'Bad-Schema' }),
      /XYN_LOG_FORMAT \(--log-format\)/,
      /XYN_LEDGER_SCHEMA/,
    );
  });

  it('an undefined flag leaves the variable alone', () => {
    assert.equal(loadConfig({ 'wait-timeout': undefined }, { XYN_WAIT_TIMEOUT: '7' }).waitTimeoutMs, 7_000);
  });
});

describe('loadConfig: DATABASE_URL and DATABASE_URL_FILE', () => {
  it('DATABASE_URL gives host, port, user, password and database, and a display without the password', () => {
    const db = target({ DATABASE_URL: `postgres://app:${PASSWORD}@db.internal:6543/xyn` });
    assert.equal(db.host, 'db.internal');
    assert.equal(db.port, 6543);
    assert.equal(db.user, 'app');
    assert.equal(db.password, PASSWORD);
    assert.equal(db.database, 'xyn');
    assert.equal(db.display, 'db.internal:6543/xyn');
  });

  it('postgresql:// is accepted like postgres://, and the port defaults to 5432', () => {
    const db = target({ DATABASE_URL: 'postgresql://app@db/xyn' });
    assert.equal(db.port, 5432);
    assert.equal(db.host, 'db');
  });

  it('a password with special characters (p@ss:w/rd%), percent-encoded in the URL, decodes correctly', () => {
    const password = 'p@ss:w/rd%';
    const db = target({ DATABASE_URL: `postgres://app:${encodeURIComponent(password)}@db:5432/xyn` });
    assert.equal(db.password, password);
    assert.equal(db.user, 'app');
    assert.equal(db.host, 'db');
    assert.ok(!db.display.includes('p@ss'));
  });

  it('a percent-encoded user name decodes too', () => {
    assert.equal(target({ DATABASE_URL: 'postgres://app%40tenant:pw@db/xyn' }).user, 'app@tenant');
  });

  it('DATABASE_URL_FILE is read, and its trailing newline ignored', () => {
    const path = tempFile(`postgres://app:${PASSWORD}@db.from.file:5433/xyn\n`);
    const db = target({ DATABASE_URL_FILE: path });
    assert.equal(db.host, 'db.from.file');
    assert.equal(db.port, 5433);
    assert.equal(db.password, PASSWORD);
  });

  it('a DATABASE_URL_FILE that cannot be read is a ConfigError naming the variable and the path', () => {
    const missing = join(scratch, 'no-such-secret');
    assertConfigError(
      () => loadConfig({}, { DATABASE_URL_FILE: missing }),
      /DATABASE_URL_FILE/,
      /ENOENT/,
      new RegExp(missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')),
    );
  });

  it('DATABASE_URL and DATABASE_URL_FILE both set is a ConfigError naming both', () => {
    const path = tempFile('postgres://app@db/xyn\n');
    assertConfigError(
      () => loadConfig({}, { DATABASE_URL: 'postgres://app@db/xyn', DATABASE_URL_FILE: path }),
      /DATABASE_URL and DATABASE_URL_FILE/,
    );
  });

  for (const [why, url] of [
    ['a port that is not a number', `postgres://app:${PASSWORD}@db:notaport/xyn`],
    ['an unencoded / in the password', `postgres://app:${PASSWORD}/x@db/xyn`],
    ['port 0', `postgres://app:${PASSWORD}@db:0/xyn`],
    ['another scheme', `mysql://app:${PASSWORD}@db/xyn`],
    ['no scheme at all', `app:${PASSWORD}@db/xyn`],
    ['an unknown sslmode', `postgres://app:${PASSWORD}@db/xyn?sslmode=sometimes`],
  ] as const) {
    it(`a malformed DATABASE_URL (${why}) is a ConfigError that names DATABASE_URL but never shows the password`, () => {
      const error = assertConfigError(() => loadConfig({}, { DATABASE_URL: url }), /DATABASE_URL/);
      assert.ok(!error.message.includes(PASSWORD), `message leaks the password: ${error.message}`);
      assert.ok(!JSON.stringify(error.fields).includes(PASSWORD), 'fields leak the password');
      assert.ok(!String(error.stack).includes(PASSWORD), 'stack leaks the password');
    });
  }

  for (const [character, password] of [
    ['/', `${PASSWORD}/x`],
    ['/ after digits (which read as a port)', `1234/${PASSWORD}`],
    ['?', `${PASSWORD}?x`],
    ['#', `${PASSWORD}#x`],
    ['% that starts no %XX', `${PASSWORD}%zz`],
  ] as const) {
    it(`an unencoded ${character} in the password: the variable named, percent-encoding explained, no part of the password shown`, () => {
      const url = `postgres://app:${password}@db:5432/xyn`;
      const pieces = password.split(/[/?#%]/).filter((piece) => piece.length >= 3);
      for (const [variable, env] of [
        ['DATABASE_URL', { DATABASE_URL: url }],
        ['XYN_REHEARSE_URL', { XYN_REHEARSE_URL: url }],
        ['DATABASE_URL_FILE', { DATABASE_URL_FILE: tempFile(`${url}\n`) }],
      ] as const) {
        const error = assertConfigError(
          () => loadConfig({}, env),
          new RegExp(`${variable}\\b.*unencoded reserved character in its user name or password: percent-encode it \\(@ as %40, / as %2F`),
        );
        for (const piece of pieces)
          assert.ok(!`${error.message}${JSON.stringify(error.fields)}`.includes(piece), `${variable}: leaks ${piece}: ${error.message}`);
      }
    });
  }

  it('an @ in the password (the last @ separates) and an @ in a query parameter are read as they are', () => {
    assert.equal(target({ DATABASE_URL: `postgres://app:${PASSWORD}@x@db/xyn` }).password, `${PASSWORD}@x`);
    assert.equal(target({ DATABASE_URL: 'postgres://db:5432/xyn?application_name=me@pod' }).host, 'db');
  });

  it('a malformed URL from DATABASE_URL_FILE never shows the password either', () => {
    const path = tempFile(`postgres://app:${PASSWORD}@db:notaport/xyn\n`);
    const error = assertConfigError(() => loadConfig({}, { DATABASE_URL_FILE: path }), /DATABASE_URL_FILE/);
    assert.ok(!error.message.includes(PASSWORD));
  });
});

describe('loadConfig: PG* variables', () => {
  it('with no URL, PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE name the database', () => {
    const db = target({ PGHOST: 'pg.local', PGPORT: '6000', PGUSER: 'app', PGPASSWORD: PASSWORD, PGDATABASE: 'xyn' });
    assert.equal(db.host, 'pg.local');
    assert.equal(db.port, 6000);
    assert.equal(db.user, 'app');
    assert.equal(db.password, PASSWORD);
    assert.equal(db.database, 'xyn');
    assert.ok(!db.display.includes(PASSWORD));
  });

  it('PGDATABASE alone is enough: host localhost, port 5432', () => {
    const db = target({ PGDATABASE: 'xyn' });
    assert.equal(db.host, 'localhost');
    assert.equal(db.port, 5432);
  });

  it('with neither a URL nor PGHOST/PGDATABASE there is no database target', () => {
    assert.equal(loadConfig({}, { PGUSER: 'app' }).database, undefined);
  });

  it('a PGPORT that is not a number is named', () => {
    assertConfigError(() => loadConfig({}, { PGHOST: 'pg', PGPORT: 'fivefourthreetwo' }), /PGPORT/);
  });

  it('a PGSSLMODE that libpq does not know is named', () => {
    assertConfigError(() => loadConfig({}, { PGHOST: 'pg', PGSSLMODE: 'sometimes' }), /PGSSLMODE/);
  });

  it('PGSSLMODE applies to a URL without sslmode, and the URL’s own sslmode wins over it', () => {
    assert.equal(target({ DATABASE_URL: 'postgres://app@db/xyn', PGSSLMODE: 'require' }).sslMode, 'require');
    assert.equal(target({ DATABASE_URL: 'postgres://app@db/xyn?sslmode=disable', PGSSLMODE: 'require' }).sslMode, 'disable');
  });
});

describe('loadConfig: several hosts, as libpq reads them', () => {
  it('a URL with several hosts keeps them in order, each with its port (5432 when none is given)', () => {
    const db = target({ DATABASE_URL: `postgres://app:${PASSWORD}@h1:5433,h2,[::1]:6000/xyn?target_session_attrs=read-write` });
    assert.deepEqual(db.hosts, [
      { host: 'h1', port: 5433 },
      { host: 'h2', port: 5432 },
      { host: '::1', port: 6000 },
    ]);
    assert.equal(db.user, 'app');
    assert.equal(db.password, PASSWORD);
    assert.equal(db.database, 'xyn');
    assert.equal(db.display, 'h1:5433,h2:5432,[::1]:6000/xyn');
  });

  it('PGHOST=h1,h2 with PGPORT=p1,p2 pairs them; a single PGPORT applies to every host', () => {
    assert.deepEqual(target({ PGHOST: 'h1,h2', PGPORT: '5433,5434', PGDATABASE: 'xyn' }).hosts, [
      { host: 'h1', port: 5433 },
      { host: 'h2', port: 5434 },
    ]);
    assert.deepEqual(target({ PGHOST: 'h1,h2', PGPORT: '6000', PGDATABASE: 'xyn' }).hosts, [
      { host: 'h1', port: 6000 },
      { host: 'h2', port: 6000 },
    ]);
  });

  it('as many ports as hosts, or one: anything else is exit 2; a bad port in the list is named', () => {
    assertConfigError(() => loadConfig({}, { PGHOST: 'h1,h2,h3', PGPORT: '1,2', PGDATABASE: 'xyn' }), /3 hosts and 2 ports/);
    assertConfigError(() => loadConfig({}, { DATABASE_URL: 'postgres://app@h1:5432,h2:notaport/xyn' }), /DATABASE_URL.*notaport/);
  });
});

describe('loadConfig: sslmode keeps libpq’s meaning', () => {
  const withMode = (mode: string, extra = '') => target({ DATABASE_URL: `postgres://app@db/xyn?sslmode=${mode}${extra}` });
  const fakeCert = {} as PeerCertificate;

  it('no sslmode means prefer', () => {
    assert.equal(target({ DATABASE_URL: 'postgres://app@db/xyn' }).sslMode, 'prefer');
  });

  it('disable never uses TLS; allow and prefer use it without verifying, when they use it', () => {
    assert.equal(withMode('disable').ssl, false);
    for (const mode of ['allow', 'prefer']) {
      const db = withMode(mode);
      assert.equal(db.sslMode, mode);
      assert.deepEqual(db.ssl, { rejectUnauthorized: false });
    }
    // libpq: only require (and the verify modes) look at sslrootcert
    const ca = tempFile('-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n');
    assert.deepEqual(withMode('prefer', `&sslrootcert=${encodeURIComponent(ca)}`).ssl, { rejectUnauthorized: false });
  });

  it('sslcert and sslkey (or PGSSLCERT and PGSSLKEY) become the client certificate; one without the other is exit 2', () => {
    const cert = tempFile('CERT');
    const key = tempFile('KEY');
    const { ssl } = withMode('require', `&sslcert=${encodeURIComponent(cert)}&sslkey=${encodeURIComponent(key)}`);
    assert.ok(ssl);
    assert.equal(ssl.cert, 'CERT');
    assert.equal(ssl.key, 'KEY');
    const fromEnv = target({ PGHOST: 'db', PGDATABASE: 'xyn', PGSSLCERT: cert, PGSSLKEY: key });
    assert.ok(fromEnv.ssl);
    assert.equal(fromEnv.ssl.cert, 'CERT');
    assert.throws(() => withMode('prefer', `&sslcert=${encodeURIComponent(cert)}`), /sslcert without sslkey/);
  });

  it('require encrypts without verifying the certificate', () => {
    const { ssl } = withMode('require');
    assert.deepEqual(ssl, { rejectUnauthorized: false });
  });

  it('verify-ca verifies the chain but not the host name: checkServerIdentity returns undefined', () => {
    const { ssl } = withMode('verify-ca');
    assert.ok(ssl);
    assert.equal(ssl.rejectUnauthorized, true);
    assert.ok(ssl.checkServerIdentity, 'verify-ca must override the host name check');
    assert.equal(ssl.checkServerIdentity('some.other.host', fakeCert), undefined);
  });

  it('verify-full verifies chain and host name: rejectUnauthorized and no checkServerIdentity override', () => {
    const { ssl } = withMode('verify-full');
    assert.ok(ssl);
    assert.equal(ssl.rejectUnauthorized, true);
    assert.equal(ssl.checkServerIdentity, undefined);
  });

  it('sslrootcert= names the CA file whose contents become the trusted CA', () => {
    const ca = '-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n';
    const { ssl } = withMode('verify-full', `&sslrootcert=${encodeURIComponent(tempFile(ca))}`);
    assert.ok(ssl);
    assert.equal(ssl.ca, ca);
    assert.equal(ssl.rejectUnauthorized, true);
  });

  it('require with a root certificate behaves as verify-ca, as in libpq', () => {
    const ca = '-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n';
    const { ssl } = withMode('require', `&sslrootcert=${encodeURIComponent(tempFile(ca))}`);
    assert.ok(ssl);
    assert.equal(ssl.rejectUnauthorized, true);
    assert.equal(ssl.ca, ca);
    assert.equal(ssl.checkServerIdentity?.('some.other.host', fakeCert), undefined);
  });

  it('PGSSLROOTCERT is used when the URL names no root certificate', () => {
    const ca = 'CA FROM PGSSLROOTCERT';
    const db = target({ DATABASE_URL: 'postgres://app@db/xyn?sslmode=verify-full', PGSSLROOTCERT: tempFile(ca) });
    assert.ok(db.ssl);
    assert.equal(db.ssl.ca, ca);
  });

  it('sslrootcert=system (or PGSSLROOTCERT=system): the roots Node trusts, verify-full by default, a weaker sslmode refused', () => {
    for (const db of [
      target({ DATABASE_URL: 'postgres://app@db/xyn?sslrootcert=system' }),
      target({ PGHOST: 'db', PGDATABASE: 'xyn', PGSSLROOTCERT: 'system' }),
    ]) {
      assert.equal(db.sslMode, 'verify-full');
      assert.ok(db.ssl);
      assert.equal(db.ssl.rejectUnauthorized, true);
      assert.equal(db.ssl.ca, undefined, "Node's own roots, no file named system read");
      assert.equal(db.ssl.checkServerIdentity, undefined);
    }
    assert.equal(withMode('verify-full', '&sslrootcert=system').sslMode, 'verify-full');
    for (const mode of ['disable', 'prefer', 'require', 'verify-ca']) {
      assertConfigError(() => withMode(mode, '&sslrootcert=system'), new RegExp(`sslrootcert=system with sslmode=${mode}`), /DATABASE_URL/);
    }
  });

  it('an sslrootcert that cannot be read is a ConfigError', () => {
    const missing = join(scratch, 'no-such-ca.crt');
    assertConfigError(() => withMode('verify-full', `&sslrootcert=${encodeURIComponent(missing)}`), /sslrootcert/, /ENOENT/);
  });

  it('the PG* variables get the same sslmode mapping', () => {
    const db = target({ PGHOST: 'pg', PGSSLMODE: 'require' });
    assert.deepEqual(db.ssl, { rejectUnauthorized: false });
  });
});

describe('loadConfig: fleet settings', () => {
  const fleetOf = (env: Record<string, string>) =>
    loadConfig({}, { XYN_TERMINATION_LOG: '/tmp/termination', ...env }, { stderr: false }).fleet;

  it('XYN_SHARDS takes its index from JOB_COMPLETION_INDEX; the defaults are 4 at a time and no canary', () => {
    assert.deepEqual(fleetOf({ XYN_TARGETS_FILE: 't.txt', XYN_SHARDS: '3', JOB_COMPLETION_INDEX: '2' }), {
      source: { kind: 'file', path: 't.txt' },
      concurrency: 4,
      shard: { index: 2, count: 3 },
      canary: 0,
    });
    assert.equal(fleetOf({}), undefined, 'no targets: the single-database job');
  });

  for (const [what, env, variable] of [
    [
      'a file and a query',
      { XYN_TARGETS_FILE: 't.txt', XYN_TARGETS_QUERY: 'SELECT 1' },
      /XYN_TARGETS_FILE and XYN_TARGETS_QUERY are both set/,
    ],
    [
      'XYN_SHARD and XYN_SHARDS',
      { XYN_TARGETS_FILE: 't.txt', XYN_SHARD: '0/2', XYN_SHARDS: '2', JOB_COMPLETION_INDEX: '0' },
      /XYN_SHARD and XYN_SHARDS/,
    ],
    ['XYN_SHARDS outside an Indexed Job', { XYN_TARGETS_FILE: 't.txt', XYN_SHARDS: '2' }, /XYN_SHARDS needs JOB_COMPLETION_INDEX/],
    [
      'an index not below the count',
      { XYN_TARGETS_FILE: 't.txt', XYN_SHARDS: '2', JOB_COMPLETION_INDEX: '2' },
      /JOB_COMPLETION_INDEX 2 is not below XYN_SHARDS 2/,
    ],
    ['a shard that is not i/n', { XYN_TARGETS_FILE: 't.txt', XYN_SHARD: '2/2' }, /XYN_SHARD/],
    ['a canary without targets', { XYN_CANARY: '2' }, /need targets/],
    ['a concurrency of 0', { XYN_TARGETS_FILE: 't.txt', XYN_CONCURRENCY: '0' }, /XYN_CONCURRENCY/],
  ] as const) {
    it(`${what} is exit 2 naming the variables`, () => {
      assertConfigError(() => fleetOf(env), variable);
    });
  }
});

describe('loadConfig: how long a person waits', () => {
  const person = { stderr: true, stdin: true };
  it('a read-only command at a terminal waits 10 s unless XYN_WAIT_TIMEOUT (or its flag) says otherwise; a job waits 60 s', () => {
    for (const command of ['status', 'plan', 'verify']) assert.equal(loadConfig({}, {}, person, command).waitTimeoutMs, 10_000, command);
    assert.equal(loadConfig({}, {}, person, 'migrate').waitTimeoutMs, 60_000);
    assert.equal(loadConfig({}, {}, { stderr: true, stdin: false }, 'status').waitTimeoutMs, 60_000);
    assert.equal(loadConfig({}, { XYN_WAIT_TIMEOUT: '30' }, person, 'status').waitTimeoutMs, 30_000);
    assert.equal(loadConfig({ 'wait-timeout': '2' }, {}, person, 'status').waitTimeoutMs, 2_000);
  });
});
