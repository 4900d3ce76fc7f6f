/** `npm run docs:config`: writes the variable table of docs/configuration.md from src/config/variables.ts. */
import { readFileSync, writeFileSync } from 'node:fs';
import { withVariablesTable } from '../src/config/reference.js';

const PAGE = 'docs/configuration.md';
const page = readFileSync(PAGE, 'utf8');
const updated = withVariablesTable(page);
if (updated !== page) writeFileSync(PAGE, updated);
process.stdout.write(updated === page ? `${PAGE}: the variable table is up to date\n` : `${PAGE}: variable table written\n`);
