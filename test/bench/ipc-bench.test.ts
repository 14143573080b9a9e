// `rawbright bench ipc`: a tiny run measures every transport and size, and the table shows them all.
import { describe, expect, it } from 'vitest';
import { formatIpcBench, IPC_SIZES, IPC_TRANSPORTS, runIpcBench } from '../../dist/bench/ipc-bench.js';

describe('bench ipc', () => {
  it('measures round trips over every transport for every size', async () => {
    const rows = await runIpcBench({ rounds: 10 });
    expect(rows.map((row) => `${row.transport} ${row.bytes}`)).toEqual(
      IPC_TRANSPORTS.flatMap((transport) => IPC_SIZES.map((bytes) => `${transport} ${bytes}`)),
    );
    for (const row of rows) {
      expect(row.medianUs).toBeGreaterThan(0);
      expect(row.p99Us).toBeGreaterThanOrEqual(row.medianUs);
      expect(row.throughputMBps).toBeCloseTo((2 * row.bytes) / row.medianUs, 6);
    }
    const table = formatIpcBench(rows);
    expect(table.split('\n').length).toBe(rows.length + 1);
    expect(table).toContain('process.send');
  });
});
