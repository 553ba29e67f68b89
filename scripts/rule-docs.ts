// Writes docs/rules/*.md from the rule definitions (src/core/review/rules) and prints the README
// table: `node --import tsx scripts/rule-docs.ts`. A test checks that the pages are current.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ruleDoc, ruleDocFile, ruleTable } from '../src/core/review/ruleDocs';
import { RULES } from '../src/core/review/rules';

const dir = fileURLToPath(new URL('../docs/rules/', import.meta.url));
fs.mkdirSync(dir, { recursive: true });
for (const rule of RULES) fs.writeFileSync(path.join(dir, ruleDocFile(rule)), ruleDoc(rule));
process.stdout.write(`${ruleTable(RULES)}\n`);
