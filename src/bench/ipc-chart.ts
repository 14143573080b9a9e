/**
 * The chart of `rawbright bench ipc --chart <file>`: per message size, the median round trip per
 * transport (p99 in the label) beside the messages/s streamed (MB/s in the label), as .svg or .png.
 */
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import sharp from 'sharp';
import type { TopLevelSpec } from 'vega-lite';
import { RawbrightError } from '../errors.js';
import { renderChartSvg } from './chart.js';
import type { IpcRow } from './ipc-bench.js';

function sizeLabel(bytes: number): string {
  return bytes >= 1 << 20 ? `${bytes / (1 << 20)} MiB` : bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

/** The Vega-Lite specification of the IPC chart. */
export function ipcChartSpec(rows: readonly IpcRow[], subtitle: string): TopLevelSpec {
  if (rows.length === 0)
    throw new RawbrightError('ERR_NOTHING_TO_CHART', 'the result has no figures to chart');
  const sizes = [...new Set(rows.map((row) => row.bytes))].sort((a, b) => a - b);
  const bar = (field: string, title: string, label: string) => ({
    width: 320,
    encoding: {
      y: { field: 'transport', type: 'nominal', sort: null, title: null, axis: { minExtent: 110 } },
    },
    layer: [
      {
        mark: { type: 'bar', color: field === 'median' ? '#4c78a8' : '#f58518' },
        encoding: { x: { field, type: 'quantitative', title } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 },
        encoding: { x: { field, type: 'quantitative' }, text: { field: label } },
      },
    ],
  });
  const panels = sizes.map((bytes) => ({
    title: `${sizeLabel(bytes)} messages`,
    data: {
      values: rows
        .filter((row) => row.bytes === bytes)
        .map((row) => ({
          transport: row.transport,
          median: row.medianUs,
          p99: row.p99Us,
          label: `${row.medianUs.toFixed(row.medianUs < 100 ? 1 : 0)} µs (p99 ${row.p99Us.toFixed(0)})`,
          rate: row.messagesPerSecond,
          rateLabel: `${Math.round(row.messagesPerSecond).toLocaleString('en-US')}/s (${row.throughputMBps.toFixed(row.throughputMBps < 10 ? 1 : 0)} MB/s)`,
        })),
    },
    hconcat: [
      bar('median', 'median round trip, µs (label: median, p99)', 'label'),
      bar('rate', 'messages/s streamed (label: and MB/s)', 'rateLabel'),
    ],
    spacing: 140,
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    vconcat: panels,
    spacing: 24,
    title: {
      text: 'IPC round trips and streamed throughput',
      subtitle,
      anchor: 'start',
      fontSize: 16,
      subtitleColor: '#555',
    },
    background: 'white',
    padding: 16,
    config: { font: 'DejaVu Sans, Helvetica, Arial, sans-serif', view: { stroke: null } },
  } as unknown as TopLevelSpec;
}

/**
 * Writes the chart as .svg or .png (by the file's extension).
 * @throws {RawbrightError} `ERR_USAGE` for another extension, `ERR_NOTHING_TO_CHART` without rows
 */
export async function writeIpcChart(file: string, rows: readonly IpcRow[], subtitle: string): Promise<void> {
  const format = extname(file).toLowerCase();
  if (format !== '.svg' && format !== '.png') {
    throw new RawbrightError('ERR_USAGE', `the chart file must end in .png or .svg, not ${file}`, {
      path: file,
    });
  }
  const svg = await renderChartSvg(ipcChartSpec(rows, subtitle));
  if (format === '.svg') {
    writeFileSync(file, svg);
    return;
  }
  const png = await sharp(Buffer.from(svg), { density: 144 })
    .flatten({ background: '#ffffff' })
    .png({ compressionLevel: 9 })
    .toBuffer();
  writeFileSync(file, png);
}
