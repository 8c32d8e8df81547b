// Prints benchmark results as a plain table (last, so it is what a terminal shows).
import type { MatmulResult } from './run';

export function printTable(copy: { bytes: number; ms: number; gbps: number }, rows: MatmulResult[]): void {
  console.log(`\ncopy roofline: ${(copy.bytes / 2 ** 20).toFixed(0)} MiB in ${copy.ms.toFixed(3)} ms = ${copy.gbps.toFixed(1)} GB/s (read + write)`);
  const head = ['impl', 'variant', 'M', 'N', 'K', 'ms', 'GB/s', 'GFLOP/s', '% copy BW'];
  const body = rows.map((r) => [r.impl, r.variant, r.M, r.N, r.K, r.ms.toFixed(4), r.gbps.toFixed(1), r.gflops.toFixed(1), ((100 * r.gbps) / copy.gbps).toFixed(1)].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(head));
  for (const b of body) console.log(line(b));
}
