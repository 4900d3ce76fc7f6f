import { createRequire } from "module"; const require = createRequire(import.meta.url);
import pg from 'pg';
const c = new pg.Client({ host: '/tmp/lexpg', port: 55999, user: 'postgres', database: 'postgres' });
await c.connect();
for (const s of JSON.parse(require("fs").readFileSync("/tmp/cases.json","utf8"))) {
  try { const r = await c.query(s); console.log(JSON.stringify(s), JSON.stringify((Array.isArray(r) ? r : [r]).map(x => x.rows))); } catch (e) { console.log(JSON.stringify(s), 'ERR', e.message); }
}
await c.end();
