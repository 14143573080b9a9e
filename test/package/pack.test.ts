/**
 * The package as a user gets it: `npm pack`, installed into a scratch consumer (which builds the addon
 * from source), then an ESM import, a CommonJS require, a strict TypeScript consumer and the CLI.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/raw.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const tmp = tempDir();
afterAll(() => tmp.cleanup());
/** Asynchronous: the pack and the install (which builds the addon) take a minute, and a test that blocks
 * its worker that long makes the worker miss vitest's own messages. */
const runAsync = promisify(execFile);

describe('the packed package', () => {
  it('installs from its tarball and works from ESM, CommonJS, strict TypeScript and npx', async () => {
    // dist/ and build/wasm are built by the test command already; --ignore-scripts keeps pack from
    // rebuilding them under the feet of the other test files.
    const packed = (
      await runAsync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', tmp.dir, ROOT])
    ).stdout.trim();
    const tarball = join(tmp.dir, packed.split('\n').at(-1)!);
    const listing = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(listing).toContain('package/LICENSE');
    expect(listing).toContain('package/dist/webassembly.d.ts');
    // No prebuilt addon that --ignore-scripts would silently use: it is built at install.
    expect(listing.filter((name) => name.endsWith('.node'))).toEqual([]);

    const consumer = join(tmp.dir, 'consumer');
    mkdirSync(consumer);
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module' }),
    );
    await runAsync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], {
      cwd: consumer,
      timeout: 240_000,
    });
    expect(readdirSync(join(consumer, 'node_modules', 'rawbright', 'build', 'Release'))).toContain(
      'rawbright.node',
    );

    const run = (args: string[]) => spawnSync(process.execPath, args, { cwd: consumer, encoding: 'utf8' });
    writeFileSync(
      join(consumer, 'esm.mjs'),
      "import { writeFileSync } from 'node:fs'; import { brightenFile } from 'rawbright';\n" +
        "writeFileSync('a.raw', Buffer.alloc(64)); console.log((await brightenFile('a.raw', { by: 3 })).bytes);\n",
    );
    const esm = run(['esm.mjs']);
    expect(esm.stderr).toBe('');
    expect(esm.stdout.trim()).toBe('64');
    const cjs = run(['-e', "console.log(typeof require('rawbright').brightenFile)"]);
    expect(cjs.stdout.trim()).toBe('function');

    // A TypeScript consumer with default strictness, skipLibCheck off and no DOM lib.
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2022'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: [],
        },
        files: ['use.ts'],
      }),
    );
    writeFileSync(
      join(consumer, 'use.ts'),
      "import { brightenFile, KernelHost, MappedFile, type Report } from 'rawbright';\n" +
        "const report: Promise<Report> = brightenFile('a.raw', { by: 1 });\n" +
        "const memory: WebAssembly.Memory = new KernelHost({ arenaBytes: 1 << 20, kernel: 'wasm-simd' }).memory;\n" +
        'void report; void memory; void MappedFile;\n',
    );
    // @types/node comes with the project's own dev dependencies; the consumer borrows them.
    mkdirSync(join(consumer, 'node_modules', '@types'), { recursive: true });
    execFileSync('ln', [
      '-s',
      join(ROOT, 'node_modules', '@types', 'node'),
      join(consumer, 'node_modules', '@types', 'node'),
    ]);
    execFileSync('ln', [
      '-sf',
      join(ROOT, 'node_modules', 'undici-types'),
      join(consumer, 'node_modules', 'undici-types'),
    ]);
    const tsc = run([TSC, '-p', '.']);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);

    const help = spawnSync('npx', ['--no-install', 'rawbright', '--help'], {
      cwd: consumer,
      encoding: 'utf8',
    });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: rawbright/);
  }, 300_000);
});
