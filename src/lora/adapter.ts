// LoRA adapters on the GPU, in TabZero's fused layout: for each fused weight (q|k|v, o, gate|up,
// down) one A with the slices' A matrices stacked and one B with their rows, so the forward pass
// computes u = x·Aᵀ once and the matmul epilogue adds scale·u_slice·B_sliceᵀ (kernels/matmul.ts).
// Untargeted slices hold zeros and are neither trained nor exported. Scale = alpha / r (PEFT).
import type { GpuContext } from '../gpu/device';
import { writeView } from '../gpu/buffers';
import { createRng } from '../tasks/rng';
import type { LoraEpilogue } from '../kernels/matmul';
import { FUSED_TARGETS, TARGET_SLOT, type FusedName, type LoraTarget } from './targets';

/** The shapes a LoRA adapter needs from the base model. */
export interface LoraBaseShape {
  numLayers: number;
  hiddenSize: number;
  intermediateSize: number;
  /** numHeads · headDim and numKvHeads · headDim */
  qDim: number;
  kvDim: number;
}

export interface LoraLinear {
  /** f32[S·R, K]: slice s in rows [s·R, (s+1)·R) */
  A: GPUBuffer;
  /** f32[N, R]: slice s in rows [start_s, start_{s+1}) */
  B: GPUBuffer;
  K: number;
  N: number;
  /** slice row starts in N: [0, slice1, slice2] (slice2 = N when there are two slices) */
  starts: number[];
  /** slices that are LoRA targets (the others stay zero) */
  enabled: boolean[];
}

export type LoraLayer = Record<FusedName, LoraLinear>;

export interface LoraAdapter {
  r: number;
  alpha: number;
  scale: number;
  targets: LoraTarget[];
  base: LoraBaseShape;
  layers: LoraLayer[];
  bytes: number;
}

/** [in, out] of each target, and the fused weight's N and slice starts. */
export function fusedShapes(b: LoraBaseShape): Record<FusedName, { K: number; N: number; starts: number[] }> {
  const C = b.hiddenSize;
  return {
    qkv: { K: C, N: b.qDim + 2 * b.kvDim, starts: [0, b.qDim, b.qDim + b.kvDim] },
    o: { K: b.qDim, N: C, starts: [0] },
    gateUp: { K: C, N: 2 * b.intermediateSize, starts: [0, b.intermediateSize] },
    down: { K: b.intermediateSize, N: C, starts: [0] },
  };
}

/** rows of target t's B inside its fused B, and its [out, in] */
export function targetRows(b: LoraBaseShape, t: LoraTarget): { fused: FusedName; slice: number; row0: number; out: number; in: number } {
  const { fused, slice } = TARGET_SLOT[t];
  const f = fusedShapes(b)[fused];
  const end = slice + 1 < f.starts.length ? f.starts[slice + 1] : f.N;
  return { fused, slice, row0: f.starts[slice], out: end - f.starts[slice], in: f.K };
}

/** A new adapter: A Kaiming-uniform (bound 1/√in, as PEFT's kaiming_uniform_(a=√5)), B zero. */
export function createLora(ctx: GpuContext, base: LoraBaseShape, opts: { r: number; alpha: number; targets: LoraTarget[]; seed: number }): LoraAdapter {
  const rng = createRng(opts.seed);
  const adapter = allocLora(ctx, base, opts);
  for (const layer of adapter.layers) {
    for (const t of opts.targets) {
      const { fused, slice, in: K } = targetRows(base, t);
      const bound = 1 / Math.sqrt(K);
      const a = new Float32Array(opts.r * K);
      for (let i = 0; i < a.length; i++) a[i] = (2 * rng.next() - 1) * bound;
      writeView(ctx.device, layer[fused].A, slice * opts.r * K * 4, a);
    }
  }
  return adapter;
}

/** Zeroed buffers for every fused weight of every layer. */
export function allocLora(ctx: GpuContext, base: LoraBaseShape, opts: { r: number; alpha: number; targets: LoraTarget[] }): LoraAdapter {
  const shapes = fusedShapes(base);
  let bytes = 0;
  const layers: LoraLayer[] = [];
  for (let l = 0; l < base.numLayers; l++) {
    const layer = {} as LoraLayer;
    for (const name of Object.keys(shapes) as FusedName[]) {
      const { K, N, starts } = shapes[name];
      const S = starts.length;
      const A = ctx.memory.upload(`lora.${l}.${name}.A`, new Float32Array(S * opts.r * K));
      const B = ctx.memory.upload(`lora.${l}.${name}.B`, new Float32Array(N * opts.r));
      bytes += A.size + B.size;
      layer[name] = { A, B, K, N, starts, enabled: FUSED_TARGETS[name].map((t) => opts.targets.includes(t)) };
    }
    layers.push(layer);
  }
  return { r: opts.r, alpha: opts.alpha, scale: opts.alpha / opts.r, targets: [...opts.targets], base, layers, bytes };
}

export function destroyLora(ctx: GpuContext, a: LoraAdapter): void {
  for (const l of a.layers) for (const lin of Object.values(l)) { ctx.memory.destroy(lin.A); ctx.memory.destroy(lin.B); }
}

/** Whether any slice of this fused weight is a target (else the forward skips its LoRA term). */
export function isActive(lin: LoraLinear): boolean {
  return lin.enabled.some(Boolean);
}

/** The matmul epilogue for this fused weight, given u = x·Aᵀ in `u` with row stride `ldu`. */
export function epilogue(a: LoraAdapter, lin: LoraLinear, u: GPUBuffer, ldu: number): LoraEpilogue {
  return { u, ldu, B: lin.B, R: a.r, scale: a.scale, slice1: lin.starts[1] ?? lin.N, slice2: lin.starts[2] ?? lin.N };
}
