// The floor of a Node program that uses the pg driver: connect, read the ledger, disconnect.
// What xyn-migrate's steady state does at the least, minus everything else it does (config, logs,
// files, checks). `Response` is removed first, as xyn-migrate's build does, so that pg's
// Cloudflare probe does not load Node's fetch.
'use strict';
delete globalThis.Response;
const { Client } = require('pg');

const client = new Client({ connectionString: process.env.DATABASE_URL });
client
  .connect()
  .then(() => client.query('SELECT id, checksum FROM schema_migrations ORDER BY id'))
  .then(() => client.end())
  .then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    },
  );
