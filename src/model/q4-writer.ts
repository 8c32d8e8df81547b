// Quantize-at-load into q4 weights: a tensor's raw F32/BF16/F16 rows go through one reusable GPU
// staging buffer (at most `capBytes`, a few rows at a time for huge rows) and the quantize_q4 kernel
// writes codes and scales straight into the destination rows of the (fused) weight.
import type { GpuContext } from '../gpu/device';
import { writeView } from '../gpu/buffers';
import { Recorder } from '../gpu/encoder';
import type { Weight } from '../kernels/matmul';
import { QuantizeQ4Kernel, RAW_BYTES, codebookTable, type RawFloatDtype } from '../kernels/quantize_q4';
import { partSlices } from './weight-writer';

export const DEFAULT_STAGING_BYTES = 32 << 20;

export class Q4Writer {
  private staging: GPUBuffer | null = null;
  private tables = new Map<string, GPUBuffer>();
  private constructor(private ctx: GpuContext, private kernel: QuantizeQ4Kernel, private capBytes: number) {}

  static async create(ctx: GpuContext, capBytes = DEFAULT_STAGING_BYTES): Promise<Q4Writer> {
    const cap = Math.min(capBytes, ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
    return new Q4Writer(ctx, await QuantizeQ4Kernel.create(ctx), cap);
  }

  /** raw dtype [rows, K] → q4 weight w rows [row0, row0 + rows), quantized with `codebook`. Returns bytes uploaded. */
  write(w: Weight, row0: number, dtype: RawFloatDtype, bytes: Uint8Array, codebook: Float32Array): number {
    if (w.format !== 'q4') throw new Error(`Q4Writer: weight is ${w.format}, not q4`);
    const rowB = w.K * RAW_BYTES[dtype];
    const rows = bytes.byteLength / rowB;
    const step = Math.max(1, Math.floor(this.capBytes / rowB));
    const staging = this.stagingFor(Math.min(rows, step) * rowB);
    const table = this.table(codebook);
    for (const s of partSlices(w, row0, rows)) {
      for (let r = 0; r < s.rows; r += step) {
        const n = Math.min(step, s.rows - r);
        writeView(this.ctx.device, staging, 0, bytes.subarray((s.from + r) * rowB, (s.from + r + n) * rowB));
        const rec = new Recorder(this.ctx, 'quantize-at-load');
        this.kernel.encode(rec, { buffer: staging, offset: 0, size: n * rowB }, dtype, n, w.K, s.part, s.at + r, table);
        rec.submit(); // the next chunk's writeBuffer is queued after this submission
      }
    }
    return bytes.byteLength;
  }

  /** Frees the staging buffer and codebook tables. */
  destroy(): void {
    this.ctx.memory.destroy(this.staging);
    this.staging = null;
    for (const t of this.tables.values()) this.ctx.memory.destroy(t);
    this.tables.clear();
  }

  private stagingFor(bytes: number): GPUBuffer {
    const need = Math.ceil(bytes / 4) * 4;
    if (!this.staging || this.staging.size < need) {
      this.ctx.memory.destroy(this.staging); // queued work that reads it keeps it alive until done
      this.staging = this.ctx.memory.create('quantize-at-load.staging', need);
    }
    return this.staging;
  }

  private table(codebook: Float32Array): GPUBuffer {
    const key = Array.from(codebook).join(',');
    let t = this.tables.get(key);
    if (!t) this.tables.set(key, (t = this.ctx.memory.upload('quantize-at-load.table', codebookTable(codebook))));
    return t;
  }
}
