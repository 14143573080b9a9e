#!/usr/bin/env node
// After tsc: bundles the commands whose start-up is most of their time on a small file, `brighten` (with
// `resume`) and `adjust`, each into one file in dist/bin/, and writes dist/bin/rawbright.js, the package's
// `bin`, which loads the named command's bundle (or, for every other command and the help, the unbundled
// dist/cli/index.js, which loads only the named subcommand's modules).
//
// Why: on Node 20 most of a small file's run was the ES module loader resolving, reading and linking the ~50
// modules brighten imports one by one (commander alone, imported from ESM, took about 20 ms). One file per
// command does it once; esbuild's code splitting (one bundle for all commands, split at each dynamic import)
// still left brighten loading about 20 chunks, 1.14x the time of one file.
//
// - The package's dependencies but commander stay outside (loaded from node_modules when a command needs
//   them: cli-progress, sharp, ...); commander is in each bundle, with the one program (src/cli/program.ts)
//   that uses it, so every commander class a command sees is the program's own.
// - `import.meta.url` in each module is rewritten to the URL of that module in dist/, so every file a module
//   finds beside itself (the wasm kernels, the addon, a worker thread's script, package.json) is found where
//   it was: a worker thread still runs dist/brighten/worker.js.
// - The bin turns on Node's compile cache (Node 22.1+) before any bundle is compiled, so all of it is cached.
//
// The unbundled dist/ stays as it is: the library (`main`) and most tests use it; test/cli/bin.test.ts runs
// the bin and its bundles.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { build } from 'esbuild';

const DIST = new URL('../dist/', import.meta.url).pathname;
const OUT = new URL('../dist/bin/', import.meta.url).pathname;

/** The bundled commands: the names each registers (as in src/cli/index.ts), its module and register function. */
const BUNDLED = [
  { bundle: 'brighten', names: ['brighten', 'resume'], module: 'brighten', register: 'registerBrighten' },
  { bundle: 'adjust', names: ['adjust'], module: 'adjust', register: 'registerAdjust' },
];

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies }).filter(
  (name) => name !== 'commander',
);

/** Each dist module's `import.meta.url` becomes its own URL in dist/, from the bundle's (dist/bin/x.js). */
const ownUrl = {
  name: 'own-import-meta-url',
  setup(builder) {
    builder.onLoad({ filter: /\/dist\/.*\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const fromBundle = `../${relative(DIST, args.path)}`;
      return {
        contents: text.replaceAll(
          'import.meta.url',
          `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`,
        ),
        loader: 'js',
      };
    });
  },
};

rmSync(OUT, { recursive: true, force: true });
const entries = mkdtempSync(join(tmpdir(), 'rawbright-bundle-'));
try {
  const entryPoints = {};
  for (const { bundle, names, module, register } of BUNDLED) {
    const entry = join(entries, `${bundle}.js`);
    writeFileSync(
      entry,
      `import { runCli } from ${JSON.stringify(`${DIST}cli/program.js`)};
import { ${register} } from ${JSON.stringify(`${DIST}cli/commands/${module}.js`)};
process.exitCode = await runCli([{ names: ${JSON.stringify(names)}, load: async () => ${register} }], process.argv);
`,
    );
    entryPoints[bundle] = entry;
  }
  await build({
    entryPoints,
    outdir: OUT,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external,
    plugins: [ownUrl],
    // commander is CommonJS: its require() calls (node:events, node:child_process, ...) need a require in ESM.
    banner: {
      js: "import { createRequire as __rawbrightCreateRequire } from 'node:module';\nconst require = __rawbrightCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
} finally {
  rmSync(entries, { recursive: true, force: true });
}

const bundles = Object.fromEntries(BUNDLED.flatMap(({ bundle, names }) => names.map((name) => [name, bundle])));
const bin = join(OUT, 'rawbright.js');
writeFileSync(
  bin,
  `#!/usr/bin/env node
// The rawbright command line, written by scripts/bundle-cli.mjs: the named command's bundle, or dist/cli/index.js.
import module from 'node:module';

// Node 22.1+ keeps compiled code between runs; turned on before any of the command is compiled.
module.enableCompileCache?.();
const BUNDLES = ${JSON.stringify(bundles)};
// The subcommand is the first word that is not an option, as in src/cli/messages.ts (runningCommand).
const name = process.argv.slice(2).find((word) => !word.startsWith('-'));
await import(name !== undefined && Object.hasOwn(BUNDLES, name) ? \`./\${BUNDLES[name]}.js\` : '../cli/index.js');
`,
);
chmodSync(bin, 0o755);
