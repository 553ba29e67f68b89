/**
 * Hostile input for the migration core: malformed migration files (each case is a set of files
 * added to a valid project) and command lines (arguments, URLs, environment names). Shared by
 * the fast subset (test/adversarial.test.ts) and the full run (test/reliability/adversarial.test.ts).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseMigrationText } from '../../src/core/migrations/engines/sql/file';
import { Rng } from './support';

export type CorpusFile = string | Buffer | { symlink: string } | { dir: true } | { fifo: true } | { hugeBytes: number };

export interface FileCase {
  name: string;
  files: Record<string, CorpusFile>;
  /** What the one error line must say. */
  expect: RegExp;
  /** Known to misbehave today (see REPORT.md); still run and counted. */
  knownBug?: string;
}

const up = '-- +upgrade\nCREATE TABLE adv_t (id int);\n\n-- +downgrade\nDROP TABLE adv_t;\n';
const file = (revision: string, revises = '', extra = '', body = up) => `-- revision: ${revision}\n-- revises: ${revises}\n-- message: adversarial ${revision}\n${extra}\n${body}`;
const INJECT = "x'; DROP TABLE users; --";

/** At least 100 malformed cases; `head` is the project's head (a valid parent to hang files on). */
export function malformedFileCases(head: string, seed: number): FileCase[] {
  const cases: FileCase[] = [];
  const add = (name: string, files: Record<string, CorpusFile>, expect: RegExp, knownBug?: string) => cases.push({ name, files, expect, knownBug });

  // --- headers
  add('missing revision header', { 'ra1_x.sql': `-- revises: ${head}\n${up}` }, /missing "-- revision: <id>" header/);
  add('empty file', { 'ra2_x.sql': '' }, /missing "-- revision/);
  add('only whitespace', { 'ra3_x.sql': ' \n\t\n\n' }, /missing "-- revision/);
  add('only comments', { 'ra4_x.sql': '-- hello\n-- world\n' }, /missing "-- revision/);
  const badIds: [string, string][] = [
    ['dash', 'a-b'],
    ['space', 'a b'],
    ['dot', 'a.b'],
    ['33 characters', 'a'.repeat(33)],
    ['accented', 'café'],
    ['emoji', 'r😀'],
    ['fullwidth', 'ＡＢＣ'],
    ['zero-width space', 'r1\u200b'],
    ['SQL injection', INJECT],
    ['quote', "r1'"],
    ['path traversal', '../../etc/passwd'],
    ['shell', '$(touch /tmp/pwned)'],
    ['percent', 'r%1'],
    ['backslash', 'r\\1'],
    ['semicolon', 'r1;'],
  ];
  for (const [label, id] of badIds) add(`invalid revision id (${label})`, { 'rb_x.sql': file(id, head) }, /revision id ".*" is invalid/);
  add('revision header without a value', { 'rc1_x.sql': file('', head) }, /revision id "" is invalid/);
  add('duplicate revision header', { 'rc2_x.sql': `-- revision: rc2\n${file('rc2', head)}` }, /header "revision" appears twice/);
  add('duplicate revises header', { 'rc3_x.sql': `-- revises: ${head}\n${file('rc3', head)}` }, /header "revises" appears twice/);
  add('duplicate header, different case', { 'rc4_x.sql': `-- REVISION: rc4\n${file('rc4', head)}` }, /header "revision" appears twice/);
  for (const value of ['maybe', 'yes', '1', 'no', "false'; DROP TABLE users; --", '']) {
    add(`transactional: ${JSON.stringify(value)}`, { 'rd_x.sql': file('rd', head, `-- transactional: ${value}`) }, /transactional must be true or false/);
  }
  const badParents: [string, string][] = [
    ['injection', INJECT],
    ['space inside', `${head} x`],
    ['unicode', 'pärent'],
    ['too long', 'p'.repeat(40)],
    ['semicolon list', `${head}; ${head}`],
  ];
  for (const [label, revises] of badParents) add(`revises not an id (${label})`, { 're_x.sql': file('re', revises) }, /revises ".*" is not a revision id/);
  add('revises the same parent twice', { 're2_x.sql': file('re2', `${head}, ${head}`) }, /revises lists the same parent twice/);
  add('revises itself', { 're3_x.sql': file('re3', `${head}, re3`) }, /revision re3 revises itself/);

  // --- sections
  add('SQL before the upgrade section', { 'rf1_x.sql': `-- revision: rf1\n-- revises: ${head}\nDROP TABLE users;\n${up}` }, /SQL before the "-- \+upgrade" section/);
  add('injection before the upgrade section', { 'rf2_x.sql': `-- revision: rf2\n-- revises: ${head}\n'; DROP TABLE users; --\n${up}` }, /SQL before the "-- \+upgrade" section/);
  add('missing upgrade section', { 'rf3_x.sql': `-- revision: rf3\n-- revises: ${head}\n-- +downgrade\nSELECT 1;\n` }, /missing "-- \+upgrade" section/);
  add('missing downgrade section', { 'rf4_x.sql': `-- revision: rf4\n-- revises: ${head}\n-- +upgrade\nDROP TABLE users;\n` }, /missing "-- \+downgrade" section/);
  add('no sections at all', { 'rf5_x.sql': `-- revision: rf5\n-- revises: ${head}\n` }, /missing "-- \+upgrade" section/);
  add('unknown section', { 'rf6_x.sql': file('rf6', head, '', `${up}-- +sideways\nSELECT 1;\n`) }, /unknown section "-- \+sideways"/);
  add('unknown section (plural)', { 'rf7_x.sql': file('rf7', head, '', `-- +upgrades\nSELECT 1;\n${up}`) }, /unknown section "-- \+upgrades"/);
  add('duplicate upgrade section', { 'rf8_x.sql': file('rf8', head, '', `${up}-- +upgrade\nDROP TABLE users;\n`) }, /section "-- \+upgrade" appears twice/);
  add('duplicate downgrade section, different case', { 'rf9_x.sql': file('rf9', head, '', `${up}-- +DOWNGRADE\nSELECT 1;\n`) }, /section "-- \+downgrade" appears twice/);
  add('empty verify section', { 'rf10_x.sql': file('rf10', head, '', `${up}-- +verify\n\n-- only a comment\n`) }, /empty "-- \+verify" section/);
  add('downgrade before upgrade, upgrade missing', { 'rf11_x.sql': `-- revision: rf11\n-- revises: ${head}\n-- +downgrade\nSELECT 1;\n-- +verify\nSELECT true;\n` }, /missing "-- \+upgrade" section/);

  // --- file names
  add('file name does not start with the revision', { 'other_x.sql': file('rg1', head) }, /file name does not start with its revision "rg1_"/);
  add('file name differs in case', { 'RG2_x.sql': file('rg2', head) }, /file name does not start with its revision/);
  add('file name without the underscore', { 'rg3x.sql': file('rg3', head) }, /file name does not start with its revision/);
  add('injection in the file name', { [`${INJECT}.sql`]: file('rg4', head) }, /file name does not start with its revision/);
  add('injection in the file name after a valid id, bad header', { [`rg5_${INJECT}.sql`]: `-- revision: rg5\n-- revises: ${head}\n-- transactional: perhaps\n${up}` }, /transactional must be true or false/);
  add('unicode file name, missing downgrade', { 'rg6_ünïcødé_名前.sql': `-- revision: rg6\n-- revises: ${head}\n-- +upgrade\nSELECT 1;\n` }, /missing "-- \+downgrade" section/);
  add('newline in the file name', { 'rg7_a\nb.sql': `-- revision: rg7\n-- revises: ${head}\n-- +upgrade\nSELECT 1;\n` }, /missing "-- \+downgrade" section/);

  // --- encodings and line endings
  add('NUL byte', { 'rh1_x.sql': Buffer.concat([Buffer.from(file('rh1', head)), Buffer.from([0])]) }, /binary content \(NUL byte\)/);
  add('UTF-16 LE with BOM', { 'rh2_x.sql': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(file('rh2', head), 'utf16le')]) }, /binary content|invalid UTF-8/);
  add('PNG header', { 'rh3_x.sql': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]) }, /binary content/);
  add('invalid UTF-8 in the message', { 'rh4_x.sql': Buffer.concat([Buffer.from(`-- revision: rh4\n-- revises: ${head}\n-- message: `), Buffer.from([0xc3, 0x28]), Buffer.from(`\n${up}`)]) }, /:3: invalid UTF-8/);
  add('overlong UTF-8 encoding', { 'rh5_x.sql': Buffer.concat([Buffer.from(file('rh5', head)), Buffer.from([0xc0, 0xaf])]) }, /invalid UTF-8/);
  add('lone CR line endings', { 'rh6_x.sql': file('rh6', head).replace(/\n/g, '\r') }, /missing "-- revision/);
  add('CRLF with a missing downgrade', { 'rh7_x.sql': `-- revision: rh7\r\n-- revises: ${head}\r\n-- +upgrade\r\nSELECT 1;\r\n` }, /missing "-- \+downgrade" section/);
  add('CRLF with a bad transactional', { 'rh8_x.sql': file('rh8', head, '-- transactional: sometimes').replace(/\n/g, '\r\n') }, /:4: transactional must be true or false/);
  add('BOM then a missing revision', { 'rh9_x.sql': `\uFEFF-- revises: ${head}\n${up}` }, /missing "-- revision/);
  add('BOM and CRLF, SQL before upgrade', { 'rh10_x.sql': `\uFEFF-- revision: rh10\r\n-- revises: ${head}\r\nSELECT 1;\r\n${up}` }, /:3: SQL before the "-- \+upgrade" section/);
  add('BOM in the middle of a header line', { 'rh11_x.sql': `-- revision: rh11\n-- revi\uFEFFses: ${head}\n${up}` }, /rh11_x\.sql:2: /);
  add('space inside the revises key', { 'rh12_x.sql': `-- revision: rh12\n-- revi ses: ${head}\n${up}` }, /rh12_x\.sql:2: /);
  const rng = new Rng(seed);
  for (let i = 0; i < 12; i++) {
    const junk = Buffer.alloc(rng.int(1, 4096));
    for (let j = 0; j < junk.length; j++) junk[j] = rng.int(0, 255);
    add(`random binary junk #${i + 1}`, { [`rj${i}_junk.sql`]: junk }, /binary content|invalid UTF-8|missing "-- revision|SQL before|revision id|unknown section|header ".*" appears twice|transactional must/);
  }
  for (let i = 0; i < 8; i++) {
    // Valid text with a few random characters replaced in the header area, kept only when the
    // parser rejects it (a mutation can leave a valid file, which is not hostile input).
    const base = file(`rk${i}`, head);
    const headerEnd = base.indexOf('-- +upgrade');
    for (let attempt = 0; attempt < 200; attempt++) {
      const chars = [...base];
      for (let k = 0; k < 3; k++) chars[rng.int(0, headerEnd - 1)] = rng.pick(['#', "'", ';', '\u0001', 'é', ':', '\t', '+', '\n', '-']);
      const text = chars.join('');
      try {
        parseMigrationText(text, `/m/rk${i}_x.sql`);
      } catch {
        add(`mutated header #${i + 1}`, { [`rk${i}_x.sql`]: text }, /.+/);
        break;
      }
    }
  }

  // --- huge and odd files
  add('file over 5 MB', { 'rl1_huge.sql': { hugeBytes: 5 * 1024 * 1024 + 1 } }, /over the 5242880-byte limit/);
  add('file of 50 MB', { 'rl2_huge.sql': { hugeBytes: 50 * 1024 * 1024 } }, /over the 5242880-byte limit/);
  add('a directory named *.sql', { 'rl3_dir.sql': { dir: true } }, /cannot read: EISDIR/);
  add('a dangling symlink', { 'rl4_x.sql': { symlink: 'does-not-exist.sql' } }, /cannot read: ENOENT/);
  add('a symlink loop', { 'rl5_x.sql': { symlink: 'rl5_x.sql' } }, /cannot read: ELOOP/);
  add('a FIFO named *.sql', { 'rl6_x.sql': { fifo: true } }, /rl6_x\.sql/);

  // --- the graph
  add('duplicate revision in two files', { 'rm1_one.sql': file('rm1', head), 'rm1_two.sql': file('rm1', head) }, /duplicate revision rm1/);
  add('duplicate of an existing revision', { [`${head}_copy.sql`]: file(head, '') }, /duplicate revision/);
  add('unknown parent', { 'rm2_x.sql': file('rm2', 'zz99') }, /revises unknown revision zz99/);
  add('one known and one unknown parent', { 'rm3_x.sql': file('rm3', `${head}, zz98`) }, /revises unknown revision zz98/);
  add('two-revision cycle', { 'rm4_x.sql': file('rm4', 'rm5'), 'rm5_x.sql': file('rm5', 'rm4') }, /revisions form a cycle: (rm4 -> rm5 -> rm4|rm5 -> rm4 -> rm5)/);
  add('three-revision cycle', { 'rm6_x.sql': file('rm6', 'rm8'), 'rm7_x.sql': file('rm7', 'rm6'), 'rm8_x.sql': file('rm8', 'rm7') }, /revisions form a cycle/);
  add('cycle hanging off the head', { 'rm9_x.sql': file('rm9', `${head}, rm10`), 'rm10_x.sql': file('rm10', 'rm9') }, /revisions form a cycle/);
  add('cycle below a valid child', { 'rn1_x.sql': file('rn1', 'rn2'), 'rn2_x.sql': file('rn2', 'rn1'), 'rn3_x.sql': file('rn3', 'rn1') }, /revisions form a cycle/);
  add('valid file next to a broken one', { 'rn4_ok.sql': file('rn4', head), 'rn5_bad.sql': `-- revision: rn5\n-- revises: rn4\n-- +upgrade\nDROP TABLE users;\n` }, /rn5_bad\.sql:\d+: missing "-- \+downgrade"/);
  add('broken parent of a valid file', { 'rn6_bad.sql': `-- revision: rn6\n-- revises: ${head}\n-- transactional: ok\n${up}`, 'rn7_ok.sql': file('rn7', 'rn6') }, /rn6_bad\.sql:3: transactional/);

  // --- SQL injection in messages, combined with a real defect (a valid file would apply)
  for (const [i, message] of [INJECT, "'); DROP TABLE users; --", '$$; DROP TABLE users; $$', '\\"; rm -rf / #', '<script>alert(1)</script>', '%s%s%s%n'].entries()) {
    add(`injection in the message #${i + 1} (and no downgrade)`, { [`ro${i}_x.sql`]: `-- revision: ro${i}\n-- revises: ${head}\n-- message: ${message}\n-- +upgrade\nSELECT 1;\n` }, /missing "-- \+downgrade"/);
  }
  // Control characters and escapes in headers, combined with a defect.
  add('terminal escape in an invalid id', { 'rp1_x.sql': file('r\u001b[2Jp1', head) }, /revision id ".*" is invalid/);
  add('carriage return inside an id', { 'rp2_x.sql': file('rp2\rX', head) }, /revision id|missing/);
  add('NUL-like escape text in an id', { 'rp3_x.sql': file('rp3\\0', head) }, /revision id ".*" is invalid/);
  add('very long header line', { 'rp4_x.sql': `-- revision: rp4\n-- revises: ${head}\n-- note: ${'x'.repeat(1_000_000)}\n-- transactional: huge\n${up}` }, /transactional must be true or false/);
  add('very long invalid id', { 'rp5_x.sql': file('r'.repeat(100_000) + '-', head) }, /revision id ".*" is invalid/);
  add('one million blank lines, then SQL before upgrade', { 'rp6_x.sql': `-- revision: rp6\n${'\n'.repeat(1_000_000)}DROP TABLE users;\n${up}` }, /:1000002: SQL before/);
  return cases;
}

/** Writes a case's files into a migrations folder; returns the paths created. */
export function writeCaseFiles(dir: string, files: Record<string, CorpusFile>): string[] {
  const created: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    const full = path.join(dir, name);
    if (typeof content === 'string' || Buffer.isBuffer(content)) fs.writeFileSync(full, content);
    else if ('symlink' in content) fs.symlinkSync(content.symlink, full);
    else if ('dir' in content) fs.mkdirSync(full);
    else if ('fifo' in content) execFileSync('mkfifo', [full]);
    else {
      const fd = fs.openSync(full, 'w');
      // A header line then filler: a sparse file would do, but real bytes are what an operator has.
      fs.writeSync(fd, `-- revision: ${name.split('_')[0]}\n`);
      const chunk = Buffer.alloc(1024 * 1024, '-');
      let written = fs.fstatSync(fd).size;
      while (written < content.hugeBytes) written += fs.writeSync(fd, chunk, 0, Math.min(chunk.length, content.hugeBytes - written));
      fs.closeSync(fd);
    }
    created.push(full);
  }
  return created;
}

export function removeCaseFiles(paths: string[]): void {
  for (const full of paths) fs.rmSync(full, { recursive: true, force: true });
}

/** Command lines: `phase` says where the error must be caught. */
export interface ArgCase {
  name: string;
  args: (url: string) => string[];
  /**
   * before-connect: the audit file must be byte-for-byte unchanged.
   * after-connect: it gains exactly one start and one end (failed) record, and nothing else changes.
   */
  phase: 'before-connect' | 'after-connect';
  expect: RegExp;
  exitCode?: number;
  knownBug?: string;
  /** Run against a database that mutx-ops never touched (so creating its tables would show). */
  fresh?: boolean;
  env?: Record<string, string>;
}

export function argumentCases(): ArgCase[] {
  const db = (url: string) => ['--database-url', url];
  const before = (name: string, args: (url: string) => string[], expect: RegExp, extra: Partial<ArgCase> = {}): ArgCase => ({ name, args, phase: 'before-connect', expect, ...extra });
  const after = (name: string, args: (url: string) => string[], expect: RegExp, extra: Partial<ArgCase> = {}): ArgCase => ({ name, args, phase: 'after-connect', expect, ...extra });
  return [
    // Options and arguments the CLI parses itself.
    before('upgrade --timeout abc', (u) => [...db(u), 'upgrade', 'head', '--timeout', 'abc'], /--timeout must be a number of seconds from/),
    before('upgrade --timeout -1', (u) => [...db(u), 'upgrade', 'head', '--timeout', '-1'], /--timeout must be a number of seconds from/),
    before('upgrade --timeout 0', (u) => [...db(u), 'upgrade', 'head', '--timeout', '0'], /--timeout must be a number of seconds from/),
    before('upgrade --timeout Infinity', (u) => [...db(u), 'upgrade', 'head', '--timeout', 'Infinity'], /--timeout must be a number of seconds from/),
    before('upgrade --lock-timeout injection', (u) => [...db(u), 'upgrade', 'head', '--lock-timeout', "1'; DROP TABLE users; --"], /--lock-timeout must be a number of seconds from/),
    before('downgrade --timeout NaN', (u) => [...db(u), 'downgrade', 'base', '--timeout', 'NaN'], /--timeout must be a number of seconds from/),
    before('upgrade --wait-lock abc', (u) => [...db(u), 'upgrade', 'head', '--wait-lock', 'abc'], /--wait-lock must be/),
    before('upgrade --wait-lock -5', (u) => [...db(u), 'upgrade', 'head', '--wait-lock', '-5'], /--wait-lock must be/),
    before('unknown option', (u) => [...db(u), 'upgrade', 'head', '--force'], /unknown option '--force'/),
    before('missing target', (u) => [...db(u), 'upgrade'], /missing required argument 'target'/),
    before('unknown command', (u) => [...db(u), 'upgrayed', 'head'], /unknown command 'upgrayed'/),
    before('extra argument', (u) => [...db(u), 'upgrade', 'head', 'DROP TABLE users'], /too many arguments|unknown/),
    before('audit show --last abc', () => ['audit', 'show', '--last', 'abc'], /--last must be a positive integer/),
    before('audit show --last -1', () => ['audit', 'show', '--last', '-1'], /--last must be a positive integer/),
    before('audit show --last injection', () => ['audit', 'show', '--last', '1; rm -rf /'], /--last must be a positive integer/),
    before('prefs set unknown key', () => ['prefs', 'set', "x'; DROP TABLE users; --", 'v'], /unknown preference/),
    before('revision -m ""', () => ['revision', '-m', ''], /the message \(-m\) is empty/),
    before('revision -m "   "', () => ['revision', '-m', '   '], /the message \(-m\) is empty/),
    before('merge with an injected revision', () => ['merge', '-m', 'x', "x'; DROP TABLE users; --", 'y'], /unknown revision "x'; DROP TABLE users; --"/),
    before('show an injected revision', () => ['show', "x'; DROP TABLE users; --"], /unknown revision "x'; DROP TABLE users; --"/),
    before('show a path', () => ['show', '../../etc/passwd'], /unknown revision "\.\.\/\.\.\/etc\/passwd"/),
    before('history -r injection', () => ['history', '-r', "x'; DROP TABLE users; --:head"], /unknown revision/),
    before('history -r three parts', () => ['history', '-r', 'a:b:c'], /expected START:END/),
    before('stamp an injected revision', (u) => [...db(u), 'stamp', "x'; DROP TABLE users; --"], /unknown revision "x'; DROP TABLE users; --"/),
    before('stamp +1', (u) => [...db(u), 'stamp', '+1'], /relative targets are not allowed/),
    // Where the database is.
    before('--database-url not a URL', () => ['--database-url', 'not a url', 'upgrade', 'head'], /invalid database URL \(not shown: it may hold a password\)/),
    before('--database-url empty', () => ['--database-url', '', 'upgrade', 'head'], /no database given|invalid database URL/, {}),
    before('--database-url mysql scheme with a password', () => ['--database-url', 'mysql://root:hunter2@db/x', 'upgrade', 'head'], /scheme "mysql:" is not postgresql:/),
    before('--database-url bad port', () => ['--database-url', 'postgresql://postgres@127.0.0.1:99999/x', 'upgrade', 'head'], /invalid database URL/),
    before('--database-url port 0', () => ['--database-url', 'postgresql://postgres@127.0.0.1:0/x', 'upgrade', 'head'], /bad port|invalid database URL/),
    before('--database-url bad sslmode', () => ['--database-url', 'postgresql://postgres@127.0.0.1/x?sslmode=bogus', 'upgrade', 'head'], /invalid SSL mode "bogus"/),
    before('--database-url javascript:', () => ['--database-url', 'javascript:alert(1)', 'current'], /is not postgresql:/),
    before('--database-url injection, not a URL', () => ['--database-url', "'; DROP TABLE users; --", 'current'], /invalid database URL/),
    before('--database-url with a newline', () => ['--database-url', 'bad\nurl', 'current'], /invalid database URL/),
    before('DATABASE_SSL_MODE junk', (u) => [...db(u), 'current'], /invalid SSL mode/, { env: { DATABASE_SSL_MODE: "x'; DROP TABLE users; --" } }),
    before('--env path traversal', () => ['--env', '../../etc', 'upgrade', 'head'], /unknown environment "\.\.\/\.\.\/etc"/),
    before('--env injection', () => ['--env', "x'; DROP TABLE users; --", 'upgrade', 'head'], /unknown environment/),
    before('--env __proto__', () => ['--env', '__proto__', 'upgrade', 'head'], /unknown environment "__proto__"/),
    before('--env constructor', () => ['--env', 'constructor', 'upgrade', 'head'], /unknown environment "constructor"/),
    before('--env with a newline', () => ['--env', 'prod\nstaging', 'upgrade', 'head'], /unknown environment/),
    before('--migrations missing folder', (u) => [...db(u), '--migrations', '/nonexistent/migrations', 'upgrade', 'head'], /migrations folder .* does not exist/),
    before('--migrations is a file', (u) => [...db(u), '--migrations', '/etc/hostname', 'upgrade', 'head'], /cannot be read \(ENOTDIR\)/),
    // Caught once connected (the target is resolved against the version table).
    after('upgrade an injected revision', (u) => [...db(u), 'upgrade', "x'; DROP TABLE users; --"], /unknown revision "x'; DROP TABLE users; --"/),
    after('downgrade an injected revision', (u) => [...db(u), 'downgrade', "x'; DROP TABLE users; --"], /unknown revision "x'; DROP TABLE users; --"/),
    after('upgrade a shell substitution', (u) => [...db(u), 'upgrade', '$(touch /tmp/mutx-pwned)'], /unknown revision/),
    after('upgrade a path', (u) => [...db(u), 'upgrade', '../../etc/passwd'], /unknown revision/),
    after('upgrade "head; DROP TABLE users"', (u) => [...db(u), 'upgrade', 'head; DROP TABLE users'], /unknown revision/),
    after('upgrade a 10 kB id', (u) => [...db(u), 'upgrade', 'a'.repeat(10_000)], /unknown revision/),
    after('upgrade -1', (u) => [...db(u), 'upgrade', '-1'], /a negative step goes down/),
    after('downgrade +1', (u) => [...db(u), 'downgrade', '+1'], /a positive step goes up/),
    after('downgrade head', (u) => [...db(u), 'downgrade', 'head'], /above the current revision/),
    after('upgrade +999', (u) => [...db(u), 'upgrade', '+999'], /relative revision \+999 didn't produce 999 migrations \(only 0 step\(s\)/),
    after('downgrade -999', (u) => [...db(u), 'downgrade', '-999'], /only \d+ revision\(s\) are applied/),
    after('--accept-changed an injected revision', (u) => [...db(u), 'upgrade', 'head', '--accept-changed', "x'; DROP TABLE users; --"], /unknown revision/),
    after('upgrade "" (empty target)', (u) => [...db(u), 'upgrade', ''], /revision|target/, {}),
    after('upgrade an id with a newline', (u) => [...db(u), 'upgrade', 'x\nDROP TABLE users'], /unknown revision/),
    after('upgrade an id with a terminal escape', (u) => [...db(u), 'upgrade', 'x\u001b[2J\u001b[31mred'], /unknown revision/),
    after('--database-url unknown database with injection', (u) => ['--database-url', `${u.replace(/\/[^/]*$/, '')}/nodb'; DROP TABLE users; --`, 'upgrade', 'head'], /database "nodb'; DROP TABLE users; --" does not exist/),
    after('--database-url refused port', () => ['--database-url', 'postgresql://postgres@127.0.0.1:1/x', 'upgrade', 'head'], /connection refused/),
    after('--database-url unknown host', () => ['--database-url', 'postgresql://postgres@no-such-host.invalid/x', 'upgrade', 'head'], /cannot resolve host "no-such-host\.invalid"/),
    // On a database mutx-ops never touched, a bad target must not create anything.
    after('fresh database: upgrade an injected revision', (u) => [...db(u), 'upgrade', "x'; DROP TABLE users; --"], /unknown revision/, { fresh: true }),
    after('fresh database: downgrade -1', (u) => [...db(u), 'downgrade', '-1'], /only 0 revision\(s\) are applied/, { fresh: true }),
  ];
}
