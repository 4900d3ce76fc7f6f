// The floor of any Node client of PostgreSQL: a bare socket speaking just enough of the protocol
// (startup, a cleartext or no password, one simple query, terminate) to read the ledger. No driver,
// no parsing of the rows: what a Node process cannot do with less.
'use strict';
const net = require('node:net');

const url = new URL(process.env.DATABASE_URL);
const text = (value) => Buffer.from(`${value}\0`);
const message = (type, body) => {
  const header = Buffer.alloc(type ? 5 : 4);
  if (type) header.write(type);
  header.writeInt32BE(body.length + 4, type ? 1 : 0);
  return Buffer.concat([header, body]);
};
const fail = (why) => {
  process.stderr.write(`${why}\n`);
  process.exit(1);
};

const socket = net.connect(Number(url.port || 5432), url.hostname);
socket.on('error', (error) => fail(error.message));
socket.on('connect', () => {
  const params = ['user', decodeURIComponent(url.username), 'database', url.pathname.slice(1)].map(text);
  socket.write(message('', Buffer.concat([Buffer.from([0, 3, 0, 0]), ...params, Buffer.from([0])])));
});

let pending = Buffer.alloc(0);
let queried = false;
socket.on('data', (data) => {
  pending = Buffer.concat([pending, data]);
  while (pending.length >= 5 && pending.length >= pending.readInt32BE(1) + 1) {
    const type = String.fromCharCode(pending[0]);
    const body = pending.subarray(5, pending.readInt32BE(1) + 1);
    pending = pending.subarray(body.length + 5);
    if (type === 'E') fail(`server error: ${body.toString().replace(/\0/g, ' ')}`);
    if (type === 'R' && body.readInt32BE(0) === 3) socket.write(message('p', text(decodeURIComponent(url.password))));
    else if (type === 'R' && body.readInt32BE(0) !== 0) fail('this floor speaks only cleartext or no password');
    if (type === 'Z' && !queried) {
      queried = true;
      socket.write(message('Q', text('SELECT id, checksum FROM schema_migrations ORDER BY id')));
    } else if (type === 'Z') {
      socket.end(message('X', Buffer.alloc(0)));
      process.exit(0);
    }
  }
});
