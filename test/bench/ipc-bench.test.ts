// `rawbright bench ipc`: a tiny run measures every transport and size, and the table shows them all.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  formatIpcBench,
  IPC_SIZES,
  IPC_TRANSPORTS,
  runIpcBench,
  streamedFor,
  throughputRatios,
} from '../../dist/bench/ipc-bench.js';
import { ipcChartSpec, writeIpcChart } from '../../dist/bench/ipc-chart.js';

describe('bench ipc', () => {
  it('measures round trips and streamed throughput over every transport for every size', async () => {
    const result = await runIpcBench({ rounds: 10 });
    const { rows, spin } = result;
    expect(rows.map((row) => `${row.transport} ${row.bytes}`)).toEqual(
      IPC_TRANSPORTS.flatMap((transport) => IPC_SIZES.map((bytes) => `${transport} ${bytes}`)),
    );
    for (const row of rows) {
      expect(row.medianUs).toBeGreaterThan(0);
      expect(row.p99Us).toBeGreaterThanOrEqual(row.medianUs);
      // The receiver counted every streamed message (the bench throws otherwise).
      expect(row.streamed).toBe(streamedFor(row.bytes, 10));
      expect(row.messagesPerSecond).toBeGreaterThan(0);
      expect(row.throughputMBps).toBeCloseTo((row.messagesPerSecond * row.bytes) / 1e6, 6);
    }
    const ratios = throughputRatios(rows);
    expect(ratios.map((ratio) => ratio.bytes)).toEqual([...IPC_SIZES]);
    // The spin floor ran (10 round trips) and channel-spin's 64 B figures stand beside it.
    expect(spin.floor.rounds).toBe(10);
    expect(spin.floor.medianUs).toBeGreaterThan(0);
    expect(spin.floor.p99Us).toBeGreaterThanOrEqual(spin.floor.medianUs);
    const spinRow = rows.find((row) => row.transport === 'channel-spin' && row.bytes === 64);
    expect(spin.channel).toEqual({ medianUs: spinRow?.medianUs, p99Us: spinRow?.p99Us });
    const table = formatIpcBench(result);
    expect(table.split('\n').length).toBe(rows.length + 1 + IPC_SIZES.length + 1);
    expect(table).toContain('process.send');
    expect(table.split('\n').at(-1)).toMatch(
      /^spin round trip, 64 B: channel-spin .* floor \(Atomics busy-spin/,
    );
  });

  it('charts every transport in one panel per size, as SVG or PNG, and refuses other files', async () => {
    const rows = IPC_TRANSPORTS.flatMap((transport, t) =>
      IPC_SIZES.map((bytes) => ({
        transport,
        bytes,
        rounds: 10,
        medianUs: 10 + t,
        p99Us: 20 + t,
        streamed: 20,
        messagesPerSecond: 1000 * (t + 1),
        throughputMBps: (1000 * (t + 1) * bytes) / 1e6,
      })),
    );
    const spec = ipcChartSpec(rows, 'test') as unknown as { vconcat: { title: string }[] };
    expect(spec.vconcat.map((panel) => panel.title)).toEqual([
      '64 B messages',
      '4 KiB messages',
      '1 MiB messages',
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'rb-ipc-chart-'));
    try {
      await writeIpcChart(join(dir, 'ipc.svg'), rows, 'test');
      const svg = readFileSync(join(dir, 'ipc.svg'), 'utf8');
      expect(svg).toContain('IPC round trips and streamed throughput');
      expect(svg).toContain('messages/s streamed');
      for (const transport of IPC_TRANSPORTS) expect(svg).toContain(transport);
      await writeIpcChart(join(dir, 'ipc.png'), rows, 'test');
      expect(readFileSync(join(dir, 'ipc.png')).subarray(1, 4).toString()).toBe('PNG');
      await expect(writeIpcChart(join(dir, 'ipc.txt'), rows, 'test')).rejects.toMatchObject({
        code: 'ERR_USAGE',
      });
      expect(() => ipcChartSpec([], 'test')).toThrow(
        expect.objectContaining({ code: 'ERR_NOTHING_TO_CHART' }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
