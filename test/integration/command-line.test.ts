import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../support/cli.js';
import { runAtTerminal } from '../support/terminal.js';

const scratch = mkdtempSync(join(tmpdir(), 'xyn-command-line-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('help', () => {
  it("a command's --help shows only its own flags, each with what it does, its unit, default and variable", async () => {
    const run = await runCli(['new', '--help'], {});
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^Usage: xyn-migrate new <name>/);
    assert.match(run.stdout, /--migrations-dir <path> +the folder of NNN_name\.sql files \(XYN_MIGRATIONS_DIR; default\s+\.\/migrations\)/);
    assert.match(run.stdout, /--ledger-table <identifier>/);
    for (const other of ['--canary', '--wait-timeout', '--lock-timeout', '--allow-drift', '--targets-file']) {
      assert.ok(!run.stdout.includes(other), `new --help lists ${other}`);
    }
    const migrate = await runCli(['migrate', '--help'], {});
    assert.match(migrate.stdout, /--wait-timeout <seconds> +how long to wait for PostgreSQL[^]*\(XYN_WAIT_TIMEOUT; default 60\)/);
    assert.match(migrate.stdout, /--canary <count>/);
    assert.match(migrate.stdout, /--applied-by <text>/);
    const rehearse = await runCli(['rehearse', '--help'], {});
    assert.match(rehearse.stdout, /XYN_REHEARSE_URL <URL> +an empty database for rehearse/);
  });

  it('the program help names every variable, XYN_LEDGER_SCHEMA, XYN_LEDGER_TABLE, XYN_REHEARSE_URL and XYN_APPLIED_BY among them', async () => {
    const help = await runCli(['--help'], {});
    assert.equal(help.code, 0);
    for (const name of ['XYN_LEDGER_SCHEMA', 'XYN_LEDGER_TABLE', 'XYN_REHEARSE_URL', 'XYN_APPLIED_BY', 'XYN_WAIT_TIMEOUT', 'DATABASE_URL'])
      assert.match(help.stdout, new RegExp(`\\n  ${name}\\b`), name);
  });

  it('help, help <command>, -h, -v and --version work; help of an unknown command is exit 2', async () => {
    const help = await runCli(['help'], {});
    assert.equal(help.code, 0);
    assert.equal(help.stdout, (await runCli(['--help'], {})).stdout);
    assert.equal((await runCli(['-h'], {})).stdout, help.stdout);
    const status = await runCli(['help', 'status'], {});
    assert.equal(status.code, 0);
    assert.equal(status.stdout, (await runCli(['status', '--help'], {})).stdout);
    assert.match(status.stdout, /^Usage: xyn-migrate status/);
    const version = await runCli(['-v'], {});
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
    assert.equal((await runCli(['--version'], {})).stdout, version.stdout);
    const unknown = await runCli(['help', 'statu'], {});
    assert.equal(unknown.code, 2);
    assert.match(unknown.lastMessage, /^Unknown command "statu"; did you mean status\?/);
  });

  it('a flag of another command is refused naming the commands it is for, and nothing is done', async () => {
    const run = await runCli(['new', 'add_things', '--canary', '3'], { XYN_MIGRATIONS_DIR: scratch });
    assert.equal(run.code, 2);
    assert.equal(run.lastMessage, 'The flag --canary belongs to migrate, not to new; see xyn-migrate migrate --help.');
    const fleet = await runCli(['plan', '--shard', '0/2'], {});
    assert.equal(fleet.code, 2);
    assert.equal(fleet.lastMessage, 'The flag --shard belongs to migrate, status and verify, not to plan; see xyn-migrate migrate --help.');
    assert.deepEqual(readdirSync(scratch), []);
  });
});

describe('start-up errors', () => {
  it('at a terminal, an unknown flag, an unknown command and a bad value are plain sentences, never JSON', async () => {
    const flag = await runAtTerminal(['status', '--jsn'], {});
    assert.equal(flag.code, 2);
    assert.match(flag.output, /^xyn-migrate: Unknown flag --jsn for status; did you mean --json\?/);
    assert.ok(!flag.output.includes('{'), flag.output);
    const command = await runAtTerminal(['statuss'], {});
    assert.equal(command.code, 2);
    assert.match(command.output, /^xyn-migrate: Unknown command "statuss"; did you mean status\?/);
    const value = await runAtTerminal(['status'], { XYN_WAIT_TIMEOUT: 'soon', DATABASE_URL: 'postgres://u@localhost:1/db' });
    assert.equal(value.code, 2);
    assert.match(
      value.output,
      /^xyn-migrate: Invalid configuration: XYN_WAIT_TIMEOUT \(--wait-timeout\): "soon" is not a number of seconds/,
    );
    const url = await runAtTerminal(['status'], { DATABASE_URL: 'postgres://u:p#ss@localhost/db' });
    assert.equal(url.code, 2);
    assert.match(url.output, /^xyn-migrate: [^{]*DATABASE_URL/);
  });

  it('with XYN_LOG_FORMAT=pretty a start-up error is a sentence off a terminal too; otherwise the JSON line', async () => {
    const pretty = await runCli(['--bogus'], { XYN_LOG_FORMAT: 'pretty' });
    assert.equal(pretty.code, 2);
    assert.match(pretty.stderr, /^xyn-migrate: Unknown flag --bogus for migrate\./);
    const json = await runCli(['--bogus'], {});
    assert.equal(json.code, 2);
    assert.match(json.lastMessage, /^Unknown flag --bogus for migrate\./);
    assert.equal(json.logs.at(-1)?.exitCode, 2);
  });
});

describe('unknown XYN_ variables', () => {
  it('each is warned about once, naming the closest known variable and never its value', async () => {
    const run = await runCli(['new', 'add_things'], {
      XYN_MIGRATIONS_DIR: scratch,
      XYN_MIGRATION_DIR: './nope-Sekr1t-value',
      XYN_LOCK_TIMOUT: '5',
    });
    assert.equal(run.code, 0);
    const warnings = run.logs.filter((l) => l.severity === 'warn').map((l) => l.msg);
    assert.deepEqual(warnings, [
      'unknown variable XYN_LOCK_TIMOUT; did you mean XYN_LOCK_TIMEOUT?',
      'unknown variable XYN_MIGRATION_DIR; did you mean XYN_MIGRATIONS_DIR?',
    ]);
    assert.ok(!run.stderr.includes('Sekr1t') && !run.stdout.includes('Sekr1t'));
  });
});
