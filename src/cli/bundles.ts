/**
 * The commands the package's `bin` runs from a bundle of their own (scripts/bundle-cli.mjs builds them into
 * dist/bin/): those whose start-up is most of their time on a small file. Every other command, and the help,
 * runs from dist/cli/index.js. `names` are the names the module registers, as in index.ts.
 */
export const BUNDLED_COMMANDS = [
  { bundle: 'brighten', names: ['brighten', 'resume'], module: 'brighten', register: 'registerBrighten' },
  { bundle: 'adjust', names: ['adjust'], module: 'adjust', register: 'registerAdjust' },
] as const;
