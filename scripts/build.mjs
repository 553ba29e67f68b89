// Bundles the bin with esbuild. The TUI is a separate chunk loaded with a dynamic import,
// so headless commands never load Ink or React (start-up cost ~0.6 s otherwise).
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
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
  // pg-native is an optional peer of pg that we never use.
  external: ['pg-native'],
  banner: {
    // Some CommonJS dependencies call require(); give the ESM bundle one.
    js: "import { createRequire as __mutxCreateRequire } from 'node:module'; const require = __mutxCreateRequire(import.meta.url);",
  },
  define: { MUTX_OPS_VERSION: JSON.stringify(version) },
  plugins: [notOnCloudflare],
  logLevel: 'warning',
});
