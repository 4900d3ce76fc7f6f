/** `npm run docs:config`: writes the variable table of README.md from src/config/variables.ts. */
import { readFileSync, writeFileSync } from 'node:fs';
import { withVariablesTable } from '../src/config/reference.js';

const readme = readFileSync('README.md', 'utf8');
const updated = withVariablesTable(readme);
if (updated !== readme) writeFileSync('README.md', updated);
process.stdout.write(updated === readme ? 'README.md: the variable table is up to date\n' : 'README.md: variable table written\n');
