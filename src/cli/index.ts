#!/usr/bin/env node
/**
 * The rawbright command line. Each subcommand lives in src/cli/commands/ and registers itself here.
 * Exit codes: 0 success, 1 runtime failure, 2 usage error, 130 interrupted (resumable).
 */
import module from 'node:module';
import { runCli, type Subcommand } from './program.js';

// Node 22.1+ keeps compiled code between runs; the subcommands load after this line, so they use it.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

/**
 * Every subcommand, by the names it registers, with the module that defines it. Only the module of the
 * subcommand being run is loaded: `brighten` never pays for sharp or the benchmark (start-up is most of
 * the time of a small file). The order is the order of the help text.
 */
const SUBCOMMANDS: readonly Subcommand[] = [
  {
    names: ['brighten', 'resume'],
    load: async () => (await import('./commands/brighten.js')).registerBrighten,
  },
  { names: ['adjust'], load: async () => (await import('./commands/adjust.js')).registerAdjust },
  { names: ['bench'], load: async () => (await import('./commands/bench.js')).registerBench },
  { names: ['import'], load: async () => (await import('./commands/import.js')).registerImport },
  { names: ['export'], load: async () => (await import('./commands/export.js')).registerExport },
  { names: ['preview'], load: async () => (await import('./commands/preview.js')).registerPreview },
  { names: ['create'], load: async () => (await import('./commands/create.js')).registerCreate },
  { names: ['info'], load: async () => (await import('./commands/info.js')).registerInfo },
  { names: ['enqueue'], load: async () => (await import('./commands/enqueue.js')).registerEnqueue },
  { names: ['worker'], load: async () => (await import('./commands/worker.js')).registerWorker },
  { names: ['status'], load: async () => (await import('./commands/status.js')).registerStatus },
];

process.exitCode = await runCli(SUBCOMMANDS, process.argv);
