/** `rawbright adjust FILE... [--levels B:W] [--gain F] [--add N] [--gamma G] [--invert]`, ops in command-line order. */
import type { Command } from 'commander';
import { adjustFile } from '../../brighten/pipeline.js';
import type { AdjustOp } from '../../kernels/ops.js';
import { usageError } from '../options.js';
import { addFileRunOptions, type BrightenFlags, runFileCommand } from './brighten.js';

/** A number as written: empty text is not 0 (NaN and Infinity pass through, for the op check to refuse). */
function number(text: string): number {
  return text.trim() === '' ? Number.NaN : Number(text);
}

/** `1.1` or `1.1,1.0,0.9`: one value, or one per band. */
function values(flag: string, text: string): number | number[] {
  const parts = text.split(',');
  if (parts.length === 1) return number(text);
  if (parts.length > 4)
    throw usageError(`${flag} takes one value or one per band (at most 4), not ${parts.length}`);
  return parts.map(number);
}

/** `B:W` or `B:W,B:W,B:W`: the black and white points, once or per band. */
function levels(text: string): AdjustOp {
  const pairs = text.split(',').map((pair) => {
    const [black, white, ...rest] = pair.split(':');
    if (black === undefined || white === undefined || rest.length > 0) {
      throw usageError(`--levels takes B:W (or B:W,B:W,... one per band), not '${text}'`);
    }
    return [number(black), number(white)] as const;
  });
  if (pairs.length > 4)
    throw usageError(`--levels takes one B:W or one per band (at most 4), not ${pairs.length}`);
  if (pairs.length === 1) return { op: 'levels', black: pairs[0]![0], white: pairs[0]![1] };
  return { op: 'levels', black: pairs.map((p) => p[0]), white: pairs.map((p) => p[1]) };
}

/** The op flags: each option event arrives in command-line order, so the chain keeps that order. */
const OP_FLAGS: readonly { flags: string; name: string; help: string; op: (text: string) => AdjustOp }[] = [
  {
    flags: '--levels <B:W>',
    name: 'levels',
    help: 'map black point B to the lowest value and white point W to the highest (B:W or one per band)',
    op: levels,
  },
  {
    flags: '--gain <F>',
    name: 'gain',
    help: 'multiply by F ≥ 0 (or one per band: 1.1,1.0,0.9)',
    op: (t) => ({ op: 'gain', value: values('--gain', t) }),
  },
  {
    flags: '--add <N>',
    name: 'add',
    help: 'add N (or one per band); --add alone equals brighten --by',
    op: (t) => ({ op: 'add', value: values('--add', t) }),
  },
  {
    flags: '--gamma <G>',
    name: 'gamma',
    help: 'gamma G > 0; G > 1 brightens, as ImageMagick -gamma (or one per band)',
    op: (t) => ({ op: 'gamma', value: values('--gamma', t) }),
  },
  { flags: '--invert', name: 'invert', help: 'hi + lo - x', op: () => ({ op: 'invert' }) },
];

export function registerAdjust(program: Command): void {
  const ops: AdjustOp[] = [];
  const adjust = program
    .command('adjust')
    .description(
      'levels, gain, add, gamma and invert in one crash-safe pass, in the order given: ' +
        'float64, clamped after every op, rounded half to even at the end',
    )
    .argument('<files...>', "image files; the format is read from each file's own bytes");
  for (const flag of OP_FLAGS) {
    // Repeatable: every occurrence is one op (commander keeps only the last value; the events see them all).
    adjust.option(flag.flags, flag.help);
    adjust.on(`option:${flag.name}`, (text: string) => {
      ops.push(flag.op(text));
    });
  }
  addFileRunOptions(adjust).action(async (files: string[], flags: BrightenFlags) => {
    if (ops.length === 0)
      throw usageError('adjust needs at least one op: --levels, --gain, --add, --gamma or --invert');
    await runFileCommand(
      files,
      flags,
      { ops },
      (file, options) => adjustFile(file, { ...options, ops }),
      'adjusted',
    );
  });
}
