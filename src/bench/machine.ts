/**
 * What a benchmark result was measured on: the machine (CPU, cores, memory, kernel, the file system of
 * the benchmark folder, the load while it ran) and the software versions. A figure without these is
 * not comparable with anything, so every result carries them.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { availableParallelism, cpus, freemem, loadavg, release, totalmem, type } from 'node:os';

/** The machine a benchmark ran on. */
export interface MachineInfo {
  /** CPU model name as the kernel reports it. */
  cpu: string;
  /** Logical CPUs available to this process. */
  cores: number;
  memoryBytes: number;
  /** Free memory when the benchmark started (the page cache has to hold the benchmark's files). */
  freeMemoryBytes: number;
  /** OS name and kernel release, e.g. `Linux 6.8.0`. */
  kernel: string;
  /** Transparent huge pages setting (`always`, `madvise`, `never`), where the kernel says. */
  transparentHugepages?: string;
  /** The benchmark folder and the file system it is on. */
  benchDir?: { path: string; filesystem: string; device: string; mountPoint: string };
  /** 1-minute load average at the start (and end, once known): other work on the machine skews figures. */
  loadAverage: { start: number; end?: number };
}

/** The versions that produced a result. */
export interface Versions {
  node: string;
  v8: string;
  rawbright: string;
}

/** Unescapes the octal escapes (`\040` for a space) that /proc/self/mountinfo uses. */
function unescapeMount(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/**
 * Finds the mount that holds `path` (the longest mount point that prefixes its real path).
 * @param path an existing file or folder
 * @returns the file system type, device and mount point, or undefined off Linux
 */
export function filesystemOf(
  path: string,
): { path: string; filesystem: string; device: string; mountPoint: string } | undefined {
  let real: string;
  let table: string;
  try {
    real = realpathSync(path);
    table = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  let best: { path: string; filesystem: string; device: string; mountPoint: string } | undefined;
  for (const line of table.split('\n')) {
    // Fields: id parent major:minor root mountPoint options [optional...] - fstype source superOptions
    const [left, right] = line.split(' - ');
    if (right === undefined) continue;
    const mountPoint = unescapeMount(left.split(' ')[4]);
    const [filesystem, device] = right.split(' ');
    const inside =
      real === mountPoint || real.startsWith(mountPoint.endsWith('/') ? mountPoint : `${mountPoint}/`);
    if (inside && (best === undefined || mountPoint.length >= best.mountPoint.length)) {
      best = { path: real, filesystem, device: unescapeMount(device), mountPoint };
    }
  }
  return best;
}

function transparentHugepages(): string | undefined {
  try {
    // The active choice is the bracketed word: "always [madvise] never".
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Describes this machine.
 * @param benchDir the folder the benchmark's files live in, if any (its file system is recorded)
 * @returns the machine description, with the load average at this moment as `loadAverage.start`
 */
export function describeMachine(benchDir?: string): MachineInfo {
  const thp = transparentHugepages();
  const fs = benchDir === undefined ? undefined : filesystemOf(benchDir);
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    kernel: `${type()} ${release()}`,
    ...(thp !== undefined && { transparentHugepages: thp }),
    ...(fs !== undefined && { benchDir: fs }),
    loadAverage: { start: loadavg()[0] },
  };
}

/**
 * The versions of Node, V8 and rawbright.
 * @returns the three version strings
 */
export function describeVersions(): Versions {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return { node: process.version, v8: process.versions.v8, rawbright: manifest.version };
}

/**
 * A one-line description for chart titles and table headers.
 * @param machine what {@link describeMachine} returned
 * @returns e.g. `AMD EPYC, 2 cores, 23 GiB, Linux 6.8.0, ext4`
 */
export function machineLine(machine: MachineInfo): string {
  const gib = Math.round(machine.memoryBytes / 1024 ** 3);
  const fs = machine.benchDir === undefined ? '' : `, ${machine.benchDir.filesystem}`;
  return `${machine.cpu}, ${machine.cores} cores, ${gib} GiB, ${machine.kernel}${fs}`;
}
