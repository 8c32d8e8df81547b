// Streams a Qwen2 checkpoint into GPU weights (ModelWeights), tensor by tensor, holding about one
// tensor on the host: checks the tensor list first, allocates every GPU buffer up front, then fills:
//  - BF16/F16/F32 projections → q4 by the quantize_q4 kernel (bit-exact with quantizeQ4), or bf16 bits
//    (BF16 bytes as they are: exact); q|k|v into one fused weight (biases f32, concatenated), gate|up;
//  - bitsandbytes NF4 projections → repacked into q4 without requantizing (codes kept, codebook =
//    quant_map, f16 scales = the expanded absmax); dequantized + requantized when K % 64 ≠ 0;
//    llm_int8_skip_modules stay 16-bit (their fused weight is bf16);
//  - the embedding (and an untied lm_head) as bf16 bits or int8 + f32 row scale; norms in f32.
// Quantization error (README): NF4 with absmax scales on Gaussian weights has a relative RMS error
// below 12% per weight (≈10% measured); the f16 rounding of a scale adds at most 2^-11 relative
// (< 0.05%). A bnb checkpoint keeps its own codes: only that f16 rounding separates our weights from
// bnb's dequantization (|Δw| ≤ 2^-11·|w| for scales ≥ 2^-14, else ≤ 2^-25·|code|).
import type { GpuContext } from '../gpu/device';
import { writeView } from '../gpu/buffers';
import { destroyWeight, type Weight } from '../kernels/matmul';
import { iterateShards, type ShardedModel } from '../formats/shards';
import { throwIfAborted } from '../formats/sources';
import { toFloat32, type Dtype } from '../formats/safetensors';
import { NF4_CODEBOOK } from '../formats/q4';
import { assertCheckpointComplete, expectedTensors, isSkippedModule, projectionShapes, type Qwen2Config } from './config';
import { CheckpointError } from './errors';
import { destroyModel, qkvSlices, type LayerWeights, type ModelWeights } from './weights';
import { allocWeight, writeBias, writeQ4Rows } from './weight-writer';
import { chunkRows, writeF32Rows, writeFloatRows, type FloatDtype } from './embedding';
import { BnbAssembler, bnbAlignsWithQ4, dequantizeBnbRows, repackBnbToQ4, type BnbTensor } from './bnb';
import { Q4Writer } from './q4-writer';
import { WeightsFingerprint } from './fingerprint';

export interface LoadProgress {
  phase: 'check' | 'weights' | 'done';
  /** checkpoint bytes read so far (monotonic) of bytesTotal (the tensors the model uses) */
  bytesDone: number;
  bytesTotal: number;
  tensor: string;
}

export interface LoadOptions {
  linearFormat: 'q4' | 'bf16';
  embedFormat: 'bf16' | 'i8';
  onProgress?(p: LoadProgress): void;
  signal?: AbortSignal;
  /** largest binding a weight part may use (default: the device's); tests force splits with it */
  maxBinding?: number;
  /** GPU staging for quantize-at-load (default 32 MiB) */
  stagingBytes?: number;
  /** notes (requantized tensors, 16-bit skip modules); default console.info */
  log?(note: string): void;
}

export interface ModelSource {
  config: Qwen2Config;
  model: ShardedModel;
}

/** Where a checkpoint tensor goes: rows of a weight (projections, embedding, lm_head), a bias range, a norm. */
export type Dest =
  | { kind: 'linear'; w: Weight; row0: number; N: number; K: number; bnb: boolean }
  | { kind: 'bias'; w: Weight; row0: number }
  | { kind: 'norm'; buf: GPUBuffer };

const FLOAT = new Set<string>(['F32', 'F16', 'BF16']);
const DRAIN_BYTES = 64 << 20; // wait for the GPU after this many uploaded bytes (bounds Dawn's staging copies)

/** Loads every weight of a Qwen2 checkpoint onto the GPU. Throws CheckpointError / SourceError; frees all on failure. */
export async function loadModel(ctx: GpuContext, src: ModelSource, opts: LoadOptions): Promise<ModelWeights> {
  const { config, model } = src;
  const total = model.shards.reduce((n, s) => n + s.header.tensors.length, 0);
  assertCheckpointComplete(config, model.shards.flatMap((s) => s.header.tensors));
  throwIfAborted(opts.signal, 'loading the model');
  const log = opts.log ?? ((m: string) => console.info(`tabzero: ${m}`));
  const { weights, dests } = allocModelWeights(ctx, config, opts, log);
  let writer: Q4Writer | null = null;
  try {
    writer = await Q4Writer.create(ctx, opts.stagingBytes);
    const sink = new Sink(ctx, writer, dests, log);
    const print = new WeightsFingerprint();
    const wanted = (name: string) => dests.has(name) || BnbAssembler.split(name, sink.isBnbLinear) !== null;
    const bytesTotal = model.shards.reduce((n, s) => n + s.header.tensors.filter((t) => wanted(t.name)).reduce((m, t) => m + t.end - t.begin, 0), 0);
    opts.onProgress?.({ phase: 'check', bytesDone: 0, bytesTotal, tensor: '' });
    let last = { bytesDone: 0, bytesTotal };
    const errorsBefore = ctx.errors.length;
    for await (const t of iterateShards(model, {
      signal: opts.signal,
      filter: (info) => wanted(info.name),
      onProgress: (p) => { last = p; opts.onProgress?.({ phase: 'weights', bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, tensor: p.tensor }); },
    })) {
      print.add(t.info.name, t.info.dtype, t.info.shape, t.bytes);
      await sink.accept(t.info.name, t.info.dtype, t.info.shape, t.bytes);
      throwIfAborted(opts.signal, 'loading the model');
    }
    sink.finish(total);
    await ctx.device.queue.onSubmittedWorkDone();
    if (ctx.errors.length > errorsBefore) throw ctx.errors[errorsBefore];
    weights.fingerprint = await print.digest();
    opts.onProgress?.({ phase: 'done', bytesDone: last.bytesTotal, bytesTotal: last.bytesTotal, tensor: '' });
    return weights;
  } catch (e) {
    destroyModel(ctx, weights);
    throw e;
  } finally {
    writer?.destroy();
  }
}

export type AllocOptions = Pick<LoadOptions, 'linearFormat' | 'embedFormat' | 'maxBinding'>;

/**
 * Allocates every buffer of a model (uninitialised; q4 codebooks NF4) and maps checkpoint tensor
 * names to where they go. Projections are q4 or bf16 by linearFormat; a bnb config's skip modules
 * make their fused weight bf16.
 */
export function allocModelWeights(ctx: GpuContext, config: Qwen2Config, opts: AllocOptions, log: (m: string) => void = () => {}): { weights: ModelWeights; dests: Map<string, Dest> } {
  const { hiddenSize: C, vocabSize: V } = config;
  const dests = new Map<string, Dest>();
  const maxBinding = opts.maxBinding;
  const made: Weight[] = [];
  const norms: GPUBuffer[] = [];
  const weight = (format: 'q4' | 'bf16' | 'i8', N: number, K: number, label: string, bias = false) => {
    const w = allocWeight(ctx, format, N, K, label, { maxBinding, bias });
    made.push(w);
    return w;
  };
  const norm = (name: string, label: string) => {
    const buf = ctx.memory.create(label, C * 4);
    norms.push(buf);
    dests.set(name, { kind: 'norm', buf });
    return buf;
  };
  try {
    const table = (name: string, label: string) => {
      const w = weight(opts.embedFormat, V, C, label);
      dests.set(name, { kind: 'linear', w, row0: 0, N: V, K: C, bnb: expected.get(name)?.quantized ?? false });
      return w;
    };
    const expected = new Map(expectedTensors(config).map((e) => [e.name, e]));
    const embed = table('model.embed_tokens.weight', 'embed');
    const lmHead = config.tieWordEmbeddings ? embed : table('lm_head.weight', 'lm_head');
    const layers: LayerWeights[] = [];
    for (let l = 0; l < config.numLayers; l++) layers.push(allocLayer(config, l, weight, norm, dests, opts, log));
    const finalNorm = norm('model.norm.weight', 'final_norm');
    const bytes = made.reduce((n, w) => n + w.bytes, 0) + norms.reduce((n, b) => n + b.size, 0);
    return { weights: { config, linearFormat: opts.linearFormat, embed, lmHead, layers, finalNorm, bytes, fingerprint: '' }, dests };
  } catch (e) {
    for (const w of made) destroyWeight(ctx, w);
    for (const b of norms) ctx.memory.destroy(b);
    throw e;
  }
}

type MakeWeight = (format: 'q4' | 'bf16' | 'i8', N: number, K: number, label: string, bias?: boolean) => Weight;

function allocLayer(config: Qwen2Config, l: number, weight: MakeWeight, norm: (n: string, l: string) => GPUBuffer, dests: Map<string, Dest>, opts: AllocOptions, log: (m: string) => void): LayerWeights {
  const p = `model.layers.${l}`;
  const shapes = new Map(projectionShapes(config).map((s) => [s.name, s]));
  const q = config.quantization;
  const expected = new Map(expectedTensors(config).map((e) => [e.name, e]));
  /** one (fused) weight over the given projections, rows in order; bf16 if any member is kept 16-bit */
  const fused = (names: string[], label: string, bias: boolean): Weight => {
    const members = names.map((n) => shapes.get(n as never)!);
    const skipped = q ? members.filter((s) => isSkippedModule(`${p}.${s.module}.${s.name}`, q.skipModules)) : [];
    if (skipped.length && opts.linearFormat === 'q4') log(`${p}: ${skipped.map((s) => s.name).join(', ')} kept 16-bit by llm_int8_skip_modules: ${label} loads as bf16`);
    const format = opts.linearFormat === 'bf16' || skipped.length ? 'bf16' : 'q4';
    const N = members.reduce((n, s) => n + s.out, 0);
    const w = weight(format, N, members[0].in, `layers.${l}.${label}`, bias);
    let row0 = 0;
    for (const s of members) {
      const name = `${p}.${s.module}.${s.name}`;
      dests.set(`${name}.weight`, { kind: 'linear', w, row0, N: s.out, K: s.in, bnb: expected.get(`${name}.weight`)?.quantized ?? false });
      if (s.bias) dests.set(`${name}.bias`, { kind: 'bias', w, row0 });
      row0 += s.out;
    }
    return w;
  };
  const inputNorm = norm(`${p}.input_layernorm.weight`, `layers.${l}.input_norm`);
  const qkv = fused(['q_proj', 'k_proj', 'v_proj'], 'qkv', true);
  if (qkv.N !== qkvSlices(config).total) throw new Error(`fused qkv has ${qkv.N} rows, expected ${qkvSlices(config).total}`);
  const o = fused(['o_proj'], 'o', false);
  const postNorm = norm(`${p}.post_attention_layernorm.weight`, `layers.${l}.post_norm`);
  const gateUp = fused(['gate_proj', 'up_proj'], 'gate_up', false);
  const down = fused(['down_proj'], 'down', false);
  return { inputNorm, qkv, o, postNorm, gateUp, down };
}

/** Puts each arriving tensor where it belongs; gathers bnb linears until complete. */
class Sink {
  private bnb = new BnbAssembler();
  private done = new Set<string>();
  /** q4 weights: the codebook on the GPU, and whether a write has fixed it */
  private codebooks = new Map<Weight, { values: Float32Array; fixed: boolean }>();
  private sinceDrain = 0;

  constructor(private ctx: GpuContext, private writer: Q4Writer, private dests: Map<string, Dest>, private log: (m: string) => void) {}

  /** a projection stored as bnb NF4 (its companions are gathered with it) */
  readonly isBnbLinear = (name: string): boolean => {
    const d = this.dests.get(name);
    return d?.kind === 'linear' && d.bnb;
  };

  async accept(name: string, dtype: Dtype, shape: number[], bytes: Uint8Array): Promise<void> {
    const d = this.dests.get(name);
    let n = 0;
    if (!d || (d.kind === 'linear' && d.bnb)) {
      const s = BnbAssembler.split(name, this.isBnbLinear)!;
      const ld = this.dests.get(s.weight) as Extract<Dest, { kind: 'linear' }>;
      const t = this.bnb.add(s.weight, s.part, dtype, shape, bytes, ld.N, ld.K);
      if (t) { n = this.writeBnb(t, ld); this.done.add(s.weight); }
    } else {
      if (!FLOAT.has(dtype)) throw new CheckpointError(`tensor "${name}" is ${dtype}; expected F32, F16 or BF16`, 'the checkpoint does not match config.json; download both from the same repo');
      n = this.writeFloat(name, d, dtype as FloatDtype, bytes);
      this.done.add(name);
    }
    this.sinceDrain += n;
    if (this.sinceDrain > DRAIN_BYTES) {
      this.sinceDrain = 0;
      await this.ctx.device.queue.onSubmittedWorkDone();
    }
  }

  private writeFloat(name: string, d: Dest, dtype: FloatDtype, bytes: Uint8Array): number {
    switch (d.kind) {
      case 'norm':
        writeView(this.ctx.device, d.buf, 0, toFloat32(dtype, bytes));
        return bytes.byteLength;
      case 'bias':
        return writeBias(this.ctx, d.w, d.row0, toFloat32(dtype, bytes));
      case 'linear':
        if (d.w.format !== 'q4') return writeFloatRows(this.ctx, d.w, d.row0, dtype, bytes);
        return this.writer.write(d.w, d.row0, dtype, bytes, this.codebook(d.w, null, name));
    }
  }

  /** The codebook to quantize w with; `want` (a bnb quant_map) becomes it when nothing fixed it yet. */
  private codebook(w: Weight, want: Float32Array | null, name: string): Float32Array {
    let c = this.codebooks.get(w);
    if (!c) this.codebooks.set(w, (c = { values: NF4_CODEBOOK, fixed: false }));
    if (!c.fixed && want && !sameValues(want, c.values)) {
      writeView(this.ctx.device, w.codebook as GPUBuffer, 0, want);
      c.values = Float32Array.from(want);
      this.log(`${name}: codebook from its quant_map`);
    }
    c.fixed = true;
    return c.values;
  }

  private writeBnb(t: BnbTensor, d: Extract<Dest, { kind: 'linear' }>): number {
    if (d.w.format === 'q4') {
      const cb = this.codebook(d.w, t.quantMap, t.name);
      if (bnbAlignsWithQ4(t) && sameValues(cb, t.quantMap)) return writeQ4Rows(this.ctx, d.w, d.row0, repackBnbToQ4(t));
      this.log(`${t.name}: ${bnbAlignsWithQ4(t) ? 'its quant_map differs from its fused neighbours\'' : `K=${t.K} is not a multiple of 64, so bnb blocks cross rows`}; dequantized and requantized`);
    }
    let n = 0;
    const step = chunkRows(t.K);
    for (let r = 0; r < t.N; r += step) {
      const rows = dequantizeBnbRows(t, r, Math.min(t.N, r + step));
      n += d.w.format === 'q4'
        ? this.writer.write(d.w, d.row0 + r, 'F32', new Uint8Array(rows.buffer), this.codebook(d.w, null, t.name))
        : writeF32Rows(this.ctx, d.w, d.row0 + r, rows);
    }
    return n;
  }

  /** Throws when a destination never got its tensor (e.g. a bnb companion is missing). */
  finish(tensorCount: number): void {
    const waiting = this.bnb.waiting();
    if (waiting.length) {
      throw new CheckpointError(`bnb-4bit tensor "${waiting[0]}" is incomplete: a companion (absmax, quant_map, quant_state or nested_*) never arrived${waiting.length > 1 ? ` (and ${waiting.length - 1} more)` : ''}`, 'the download may be incomplete; download the model again');
    }
    const missing = [...this.dests.keys()].filter((n) => !this.done.has(n));
    if (missing.length) throw new CheckpointError(`tensor "${missing[0]}" was never read (${missing.length} missing of ${tensorCount} in the checkpoint)`, 'this is a TabZero bug; please report it with the model name');
  }
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}
