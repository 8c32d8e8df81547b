// Probe kernels for the f32 and f16 multiply-add ceilings through WGSL on this stack (`bench --fma-peak`): no
// weights, no memory traffic beyond one store a thread, so their GPU time is arithmetic and
// instruction issue only. What a decode GEMV at 8–16 rows of x could reach at best:
//   fma        8 independent vec4 fma chains a thread (the adapter's raw f32 rate through WGSL)
//   dot xs     MR accumulators a thread, each += dot(x, w) with x a uniform vec4 from workgroup
//              memory and w constant (the row-lane GEMV's x reads and multiply-adds, no dequant)
//   lut MR×NR  the row-lane GEMV's inner loop without memory: NR code words a thread (an LCG in
//              registers instead of loads), each decoded through a 16-entry workgroup-memory codebook
//              into 8 weights, times MR rows of x read uniformly from workgroup memory (or, "x uniform
//              from memory", from a storage buffer through L1, as the row-lane GEMV reads it)
//   fma chains the lut probe with vec4 accumulators and fma() (4 multiply-adds an instruction, no
//              dot's separate add)
//   lut4 f32/f16  the 16-row lane-group GEMV's 4-weight step (gemvBody4) without weight loads: lane l
//              of 32 reads x vec4 l + 32·step of each row from a storage buffer (a warp's loads 512
//              contiguous bytes of f32, 256 of f16), NR code words decoded through the codebook and
//              times a scale; f32: dot() into f32 sums; f16 (shader-f16 only): x stored as f16, fma()
//              into vec4<f16> sums over 16 steps (a lane's walk), then added into f32 ones
// Each reports useful multiply-adds per second (T/s); the GEMVs' own rates are in gemv-stream.ts.
import type { GpuContext } from '../../gpu/device';
import type { Recorder } from '../../gpu/encoder';
import { GpuTimer } from './gpu-timer';

const WG = 256;

const FMA = `
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
override ITERS: u32 = 1024u;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let s = f32(gid.x) * 1e-9;
  ${Array.from({ length: 8 }, (_, i) => `var a${i} = vec4f(s + ${i}.0);`).join(' ')}
  let b = vec4f(0.999, 1.0001, 0.9999, 1.00001);
  let c = vec4f(1e-7, 2e-7, 3e-7, 4e-7);
  for (var i = 0u; i < ITERS; i++) {
    ${Array.from({ length: 8 }, (_, i) => `a${i} = fma(a${i}, b, c);`).join(' ')}
  }
  out[gid.x] = dot(${Array.from({ length: 8 }, (_, i) => `a${i}`).join(' + ')}, vec4f(1.0));
}`;

function dotXs(MR: number): string {
  const ms = Array.from({ length: MR }, (_, m) => m);
  return `
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
override ITERS: u32 = 1024u;
var<workgroup> xs: array<vec4f, ${MR * 16}>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_index) lid: u32) {
  for (var i = lid; i < ${MR * 16}u; i += ${WG}u) { xs[i] = vec4f(f32(i) * 1e-3); }
  workgroupBarrier();
  let w = vec4f(f32(gid.x) * 1e-9, 0.5, 0.25, 0.125);
  ${ms.map((m) => `var a${m} = 0.0;`).join(' ')}
  for (var i = 0u; i < ITERS; i++) {
    let v = i & 15u;
    ${ms.map((m) => `a${m} += dot(xs[${m * 16}u + v], w);`).join(' ')}
  }
  out[gid.x] = ${ms.map((m) => `a${m}`).join(' + ')};
}`;
}

function lut(MR: number, NR: number, global = false, fmaChains = false): string {
  const ms = Array.from({ length: MR }, (_, m) => m);
  const rs = Array.from({ length: NR }, (_, i) => i);
  const nib = (q: string, k: number) => (k === 7 ? `lut[${q} >> 28u]` : `lut[(${q} >> ${4 * k}u) & 15u]`);
  return `
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
override ITERS: u32 = 1024u;
${global ? `@group(0) @binding(2) var<storage, read> xs: array<vec4f, ${MR * 16}>;` : `var<workgroup> xs: array<vec4f, ${MR * 16}>;`}
var<workgroup> lut: array<f32, 16>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_index) lid: u32) {
  ${global ? '' : `for (var i = lid; i < ${MR * 16}u; i += ${WG}u) { xs[i] = vec4f(f32(i) * 1e-3); }`}
  if (lid < 16u) { lut[lid] = f32(lid) * 0.125 - 1.0; }
  workgroupBarrier();
  ${rs.map((i) => `var q${i} = (gid.x + ${i}u) * 2654435761u;`).join(' ')}
  ${rs.flatMap((i) => ms.map((m) => (fmaChains ? `var a${i}_${m} = vec4f(0.0); var b${i}_${m} = vec4f(0.0);` : `var a${i}_${m} = 0.0;`))).join(' ')}
  for (var i = 0u; i < ITERS; i++) {
    ${rs.map((i) => `let wa${i} = vec4f(${[0, 1, 2, 3].map((k) => nib(`q${i}`, k)).join(', ')}); let wb${i} = vec4f(${[4, 5, 6, 7].map((k) => nib(`q${i}`, k)).join(', ')}); q${i} = q${i} * 1664525u + 1013904223u;`).join('\n    ')}
    let v = (i & 7u) * 2u;
    ${ms.map((m) => `{ let xa = xs[${m * 16}u + v]; let xb = xs[${m * 16}u + v + 1u]; ${rs.map((i) => (fmaChains ? `a${i}_${m} = fma(xa, wa${i}, a${i}_${m}); b${i}_${m} = fma(xb, wb${i}, b${i}_${m});` : `a${i}_${m} += dot(xa, wa${i}) + dot(xb, wb${i});`)).join(' ')} }`).join('\n    ')}
  }
  out[gid.x] = ${rs.flatMap((i) => ms.map((m) => (fmaChains ? `dot(a${i}_${m} + b${i}_${m}, vec4f(1.0))` : `a${i}_${m}`))).join(' + ')};
}`;
}

export const FMA16 = `
enable f16;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
override ITERS: u32 = 1024u;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let s = f16(f32(gid.x & 255u) * 1e-3);
  ${Array.from({ length: 8 }, (_, i) => `var a${i} = vec4<f16>(s + ${i}.0h);`).join(' ')}
  let b = vec4<f16>(0.999h, 1.0h, 0.998h, 1.0h);
  let c = vec4<f16>(1e-3h, 2e-3h, 3e-3h, 4e-3h);
  for (var i = 0u; i < ITERS; i++) {
    ${Array.from({ length: 8 }, (_, i) => `a${i} = fma(a${i}, b, c);`).join(' ')}
  }
  out[gid.x] = f32(dot(${Array.from({ length: 8 }, (_, i) => `a${i}`).join(' + ')}, vec4<f16>(1.0h)));
}`;

/** Rows of x vec4 per row in the lut4 probe's x buffer (8 steps × 32 lanes). */
const LUT4_ROW = 256;

export function lut4(MR: number, NR: number, f16: boolean): string {
  const ms = Array.from({ length: MR }, (_, m) => m);
  const rs = Array.from({ length: NR }, (_, i) => i);
  const T = f16 ? 'f16' : 'f32';
  const acc = (i: number, m: number) => (f16 ? `h${i}_${m} = fma(x, w${i}, h${i}_${m});` : `a${i}_${m} += dot(x, w${i});`);
  return `${f16 ? 'enable f16;' : ''}
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> xs: array<vec4<${T}>, ${MR * LUT4_ROW}>;
override ITERS: u32 = 1024u;
var<workgroup> lut: array<${T}, 16>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_index) lid: u32) {
  if (lid < 16u) { lut[lid] = ${T}(f32(lid) * 0.125 - 1.0); }
  workgroupBarrier();
  let lane = lid & 31u;
  ${rs.map((i) => `var q${i} = (gid.x + ${i}u) * 2654435761u; var sc${i} = ${T}(0.01 + f32(lid & 7u) * 1e-3);`).join(' ')}
  ${rs.flatMap((i) => ms.map((m) => `var a${i}_${m} = 0.0;`)).join(' ')}
  for (var o = 0u; o < ITERS / 16u; o++) {
    ${f16 ? rs.flatMap((i) => ms.map((m) => `var h${i}_${m} = vec4<f16>(0.0h);`)).join(' ') : ''}
    for (var t = 0u; t < 16u; t++) {
      ${rs.map((i) => `let w${i} = vec4<${T}>(lut[q${i} & 15u], lut[(q${i} >> 4u) & 15u], lut[(q${i} >> 8u) & 15u], lut[(q${i} >> 12u) & 15u]) * sc${i}; q${i} = q${i} * 1664525u + 1013904223u; sc${i} = sc${i} * ${T}(0.999);`).join('\n      ')}
      let v = (t & 7u) * 32u + lane;
      ${ms.map((m) => `{ let x = xs[${m * LUT4_ROW}u + v]; ${rs.map((i) => acc(i, m)).join(' ')} }`).join('\n      ')}
    }
    ${f16 ? rs.flatMap((i) => ms.map((m) => `{ let s = h${i}_${m}.xy + h${i}_${m}.zw; a${i}_${m} += f32(s.x) + f32(s.y); }`)).join(' ') : ''}
  }
  out[gid.x] = ${rs.flatMap((i) => ms.map((m) => `a${i}_${m}`)).join(' + ')};
}`;
}

export interface FmaPeakRow { name: string; ms: number; tfmaPerS: number }

/** Each probe at `workgroups` × 256 threads and `iters` loop trips, GPU-timed (median of 5); null without timestamp-query. */
export async function benchFmaPeak(ctx: GpuContext, workgroups: number, iters: number): Promise<FmaPeakRow[] | null> {
  const timer = GpuTimer.create(ctx);
  if (!timer) return null;
  const threads = workgroups * WG;
  const out = ctx.memory.create('fma.out', threads * 4);
  const xg = ctx.memory.create('fma.x', 16 * LUT4_ROW * 16);
  const f16 = ctx.features.f16;
  const probes: Array<[string, string, number, boolean?]> = [
    ['fma (8 vec4 chains)', FMA, 32],
    ...[8, 16].map((mr): [string, string, number] => [`dot xs, ${mr} rows of x`, dotXs(mr), 4 * mr]),
    ...[8, 16].flatMap((mr) => [1, 2, 4].map((nr): [string, string, number] => [`lut ${mr}×${nr} (rows of x × rows of W)`, lut(mr, nr), 8 * mr * nr])),
    ...[1, 2].map((nr): [string, string, number, boolean] => [`lut 16×${nr}, x uniform from memory (L1)`, lut(16, nr, true), 8 * 16 * nr, true]),
    ...[8, 16].map((mr): [string, string, number] => [`lut ${mr}×2, vec4 fma chains instead of dot()`, lut(mr, 2, false, true), 8 * mr * 2]),
    ...(f16 ? [['fma f16 (8 vec4<f16> chains)', FMA16, 32] as [string, string, number]] : []),
    ...[8, 16].flatMap((mr) => [1, 2, 4].flatMap((nr) => (f16 ? [false, true] : [false]).map((h): [string, string, number, boolean] => [`lut4 ${h ? 'f16' : 'f32'} ${mr}×${nr}, x by lane from memory`, lut4(mr, nr, h), 4 * mr * nr, true]))),
  ];
  const rows: FmaPeakRow[] = [];
  try {
    for (const [name, code, perTrip, global] of probes) {
      const pl = ctx.pipelines.getSync(`fma_peak.${name}`, code, { ITERS: iters });
      const [ms] = await timer.median([(rec: Recorder) => rec.dispatch(pl, null, global ? [out, xg] : [out], [workgroups])], 5);
      const tfmaPerS = (threads * iters * perTrip) / (ms * 1e9);
      rows.push({ name, ms, tfmaPerS });
      console.log(`  ${name}: ${ms.toFixed(4)} ms = ${tfmaPerS.toFixed(2)} T multiply-adds/s`);
    }
    return rows;
  } finally {
    ctx.memory.destroy(out);
    ctx.memory.destroy(xg);
    timer.destroy();
  }
}
