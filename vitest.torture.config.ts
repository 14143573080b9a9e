import { defineConfig } from 'vitest/config';

/** `npm run torture`: the long fault-injection suite (test/torture/*.torture.ts), minutes, not part of `npm test`. */
export default defineConfig({
  test: {
    include: ['test/torture/**/*.torture.ts'],
    // The cases kill processes and fill file systems; one file at a time keeps their timing honest.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 1, minForks: 1 } },
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 120_000,
    globalSetup: ['test/torture/tally.ts'],
  },
});
