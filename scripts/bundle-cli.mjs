#!/usr/bin/env node
// After tsc: bundles the commands whose start-up is most of their time on a small file (src/cli/bundles.ts:
// `brighten` with `resume`, and `adjust`), each into one CommonJS file, dist/bin/NAME.cjs, and the package's
// `bin`, src/cli/bin.ts, into dist/bin/rawbright.cjs, which runs the named command's bundle (or, for every
// other command and the help, dist/cli/index.js, which loads only the named subcommand's modules).
//
// Why, measured on Node 20 with a 64 KiB file (whole processes): most of a small file's run was the ES module
// loader resolving, reading and linking the ~50 modules brighten imports one by one (commander alone,
// imported from ESM, took about 20 ms). One ESM file per command took 0.81x the time of dist/cli/index.js;
// CommonJS (no ES module loader at all) 0.94x that; V8's code cache for it (src/cli/code-cache.ts, on every
// Node: on Node 24 it took 0.82x the time of Node's own compile cache) 0.88x that again. esbuild's code splitting (one bundle for all, split at each dynamic import) still left brighten
// loading about 20 chunks: 1.14x one file.
//
// - The package's dependencies but commander stay outside (loaded from node_modules when a command needs
//   them: cli-progress, sharp, ...); commander is in each bundle, with the one program (src/cli/program.ts)
//   that uses it, so every commander class a command sees is the program's own.
// - `import.meta.url` in each module is rewritten to the URL of that module in dist/, so every file a module
//   finds beside itself (the wasm kernels, the addon, a worker thread's script, package.json) is found where
//   it was: a worker thread still runs dist/brighten/worker-thread.js.
//
// The unbundled dist/ stays as it is: the library (`main`) and most tests use it; test/cli/bin.test.ts runs
// the bin and its bundles.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { build } from 'esbuild';

const DIST = new URL('../dist/', import.meta.url).pathname;
const OUT = new URL('../dist/bin/', import.meta.url).pathname;
const { BUNDLED_COMMANDS } = await import(`${DIST}cli/bundles.js`);

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies }).filter(
  (name) => name !== 'commander',
);

/**
 * Each dist module's `import.meta.url` becomes its own URL in dist/: the URL of dist/ (from the bundle's
 * folder, dist/bin/, once per bundle; a pathToFileURL per module took about 1 ms of a run) and its name.
 */
const ownUrl = {
  name: 'own-import-meta-url',
  setup(builder) {
    builder.onLoad({ filter: /\/dist\/.*\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const inDist = relative(DIST, args.path);
      // Appended to the folder's URL as it is: a name that a URL would spell otherwise is refused here.
      if (!/^[\w./-]+$/.test(inDist)) throw new Error(`${inDist}: a module name that needs URL escapes`);
      return {
        contents: text.replaceAll('import.meta.url', `(__rawbrightDist + ${JSON.stringify(inDist)})`),
        loader: 'js',
      };
    });
  },
};

/**
 * commander loads node:child_process (with net, dgram and streams: about 1.4 ms) at its first line, for
 * subcommands that are programs of their own, which rawbright has none of: in a bundle it gets a stand-in that
 * loads the module on first use.
 */
const lazyChildProcess = {
  name: 'lazy-child-process-for-commander',
  setup(builder) {
    builder.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer)
        ? { path: 'child_process', namespace: 'lazy-builtin' }
        : undefined,
    );
    builder.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, () => ({
      contents:
        "let loaded;\nmodule.exports = new Proxy({}, { get: (_, key) => (loaded ??= require('node:child_process'))[key] });\n",
      loader: 'js',
    }));
  },
};

const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outdir: OUT,
  outExtension: { '.js': '.cjs' },
  external,
  plugins: [ownUrl, lazyChildProcess],
  // First, so the bundle runs in strict mode as its ES modules did (esbuild's own directive comes after it).
  banner: {
    js: "'use strict';\nconst __rawbrightDist = require('node:url').pathToFileURL(require('node:path').join(__dirname, '..', '/')).href;",
  },
  // Whitespace and syntax only (names stay, so do --debug's stack traces): 0.96x the time on Node 24, 0.98x on
  // Node 20 (less to read, hash and hand to V8). `node dist/cli/index.js` runs the same code unbundled.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
};

rmSync(OUT, { recursive: true, force: true });
const entries = mkdtempSync(join(tmpdir(), 'rawbright-bundle-'));
try {
  const entryPoints = {};
  for (const { bundle, names, module, register } of BUNDLED_COMMANDS) {
    const entry = join(entries, `${bundle}.js`);
    writeFileSync(
      entry,
      `import { runCli } from ${JSON.stringify(`${DIST}cli/program.js`)};
import { ${register} } from ${JSON.stringify(`${DIST}cli/commands/${module}.js`)};
runCli([{ names: ${JSON.stringify(names)}, load: async () => ${register} }], process.argv).then((code) => {
  process.exitCode = code;
});
`,
    );
    entryPoints[bundle] = entry;
  }
  await build({ ...common, entryPoints });
} finally {
  rmSync(entries, { recursive: true, force: true });
}
await build({ ...common, entryPoints: { rawbright: `${DIST}cli/bin.js` } });
chmodSync(join(OUT, 'rawbright.cjs'), 0o755);
