// Bundles the bin with esbuild. The TUI is a separate chunk loaded with a dynamic import,
// so headless commands never load Ink or React (start-up cost ~0.6 s otherwise).
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

// pg asks "am I on Cloudflare Workers?" on every connect; on Node 20 (no navigator) it does so by
// constructing a fetch Response, which loads undici: ~15 ms of every command's start-up. We
// never run on Workers, so the bundle answers no.
const notOnCloudflare = {
  name: 'pg-not-on-cloudflare',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const patched = source.replace("typeof Response === 'function'", 'false');
      if (patched === source) throw new Error('pg/lib/stream.js changed: revisit the pg-not-on-cloudflare build patch');
      return { contents: patched, loader: 'js' };
    });
  },
};

// Ink 6.8's incremental renderer (only the lines that changed are rewritten) moves the cursor up
// one row too few before a frame that ends with a newline (every frame shorter than the terminal):
// each update lands a row lower and leaves the old top line behind. Up by the whole frame instead.
const inkIncrementalFix = {
  name: 'ink-incremental-cursor-fix',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /[\\/]node_modules[\\/]ink[\\/]build[\\/]log-update\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const broken = 'buffer.push(ansiEscapes.cursorUp(previousVisible - 1));';
      const fixed = "{ const up = previousVisible - (previousOutput.endsWith('\\n') ? 0 : 1); if (up > 0) buffer.push(ansiEscapes.cursorUp(up)); }";
      if (!source.includes(broken)) throw new Error('ink/build/log-update.js changed: revisit the ink-incremental-cursor-fix build patch');
      return { contents: source.replace(broken, fixed), loader: 'js' };
    });
  },
};

// `npm start` passes --if-stale: an up-to-date bundle starts at once instead of paying ~1-2 s of
// esbuild on every launch (the on-call engineer's first screen should not wait for a build).
const stampFile = fileURLToPath(new URL('../dist/.build-stamp', import.meta.url));
function newestInput() {
  let newest = 0;
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = `${dir}/${entry.name}`;
      if (entry.isDirectory()) visit(full);
      else newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  visit(`${root}src`);
  for (const file of ['scripts/build.mjs', 'package.json', 'package-lock.json']) {
    if (existsSync(`${root}${file}`)) newest = Math.max(newest, statSync(`${root}${file}`).mtimeMs);
  }
  return newest;
}
if (process.argv.includes('--if-stale') && existsSync(stampFile) && statSync(stampFile).mtimeMs >= newestInput()) process.exit(0);

// Loaded only when building: importing esbuild alone costs ~0.2 s.
const { build } = await import('esbuild');

// Old chunks have hashed names: without a clean they pile up (and hide a missing one).
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });

await build({
  absWorkingDir: root,
  entryPoints: { 'mutx-ops': 'src/cli/bin.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  minify: true,
  keepNames: true,
  chunkNames: 'chunks/[name]-[hash]',
  // Ink imports react-devtools-core only when DEV is set; a stub keeps it out of the bundle.
  alias: { 'react-devtools-core': './scripts/react-devtools-stub.mjs' },
  // pg-native is an optional peer of pg that we never use. libpg-query loads its WebAssembly
  // from beside its own module: it stays in node_modules (and is imported only by `review`).
  external: ['pg-native', 'libpg-query'],
  banner: {
    // Some CommonJS dependencies call require(); give the ESM bundle one.
    // The shebang makes dist/mutx-ops.js the installed `mutx-ops` (npm links the bin to it).
    js: "#!/usr/bin/env node\nimport { createRequire as __mutxCreateRequire } from 'node:module'; const require = __mutxCreateRequire(import.meta.url);",
  },
  define: { MUTX_OPS_VERSION: JSON.stringify(version) },
  plugins: [notOnCloudflare, inkIncrementalFix],
  logLevel: 'warning',
});

// The Alembic engine's Python runner ships beside the bundle (found by runnerScript()).
copyFileSync(`${root}src/core/migrations/engines/alembic/runner.py`, `${root}dist/alembic-runner.py`);

// Written last: a build that failed half-way leaves no stamp, so the next --if-stale rebuilds.
writeFileSync(stampFile, `${new Date().toISOString()}\n`);
