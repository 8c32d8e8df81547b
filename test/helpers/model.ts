// Test helpers for whole models: load a fixture checkpoint onto the GPU, read GPU weights back as
// f32 (exactly what kernels multiply with), and build the CPU reference model from them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GpuContext } from '../../src/gpu/device';
import { readBuffer } from '../../src/gpu/buffers';
import { MemorySource } from '../../src/formats/sources';
import { openShards } from '../../src/formats/shards';
import { dequantizeWeight, type WeightHost } from '../../src/formats/weights';
import { scaleStride } from '../../src/formats/q4';
import { parseQwen2Config, type Qwen2Config } from '../../src/model/config';
import { loadModel } from '../../src/model/loader';
import { qkvSlices, type ModelWeights } from '../../src/model/weights';
import type { Weight } from '../../src/kernels/matmul';
import type { RefLinear, RefModel } from '../../src/reference/qwen2';
import { parsePeftConfig, peftKey } from '../../src/lora/peft';
import type { FixtureTensor } from './fixtures';

export async function loadFixtureModel(ctx: GpuContext, dir: string, linearFormat: 'q4' | 'bf16', embedFormat: 'bf16' | 'i8' = 'bf16'): Promise<{ config: Qwen2Config; weights: ModelWeights }> {
  const config = parseQwen2Config(JSON.parse(readFileSync(join(dir, 'model', 'config.json'), 'utf8')));
  const bytes = new Uint8Array(readFileSync(join(dir, 'model', 'model.safetensors')));
  const model = await openShards([{ file: 'model.safetensors', source: new MemorySource(bytes, 'model.safetensors') }], null);
  const weights = await loadModel(ctx, { config, model }, { linearFormat, embedFormat, log: () => {} });
  return { config, weights };
}

async function view(ctx: GpuContext, b: GPUBuffer | { buffer: GPUBuffer; offset: number; size: number }): Promise<ArrayBuffer> {
  return 'buffer' in b ? readBuffer(ctx.device, b.buffer, b.size, b.offset) : readBuffer(ctx.device, b);
}

/** W [N, K] as f32, read back from the GPU and dequantized on the CPU. */
export async function downloadWeight(ctx: GpuContext, w: Weight): Promise<Float32Array> {
  const out = new Float32Array(w.N * w.K);
  const codebook = w.codebook ? new Float32Array(await readBuffer(ctx.device, w.codebook)) : null;
  for (const p of w.parts) {
    const data = await view(ctx, p.data);
    let host: WeightHost;
    if (w.format === 'q4') {
      const scales = new Uint16Array(await view(ctx, p.scales!)).slice(0, p.rows * scaleStride(w.K));
      host = { format: 'q4', N: p.rows, K: w.K, q: { N: p.rows, K: w.K, codes: new Uint32Array(data).slice(0, (p.rows * w.K) / 8), scales, codebook: codebook! } };
    } else if (w.format === 'bf16') {
      host = { format: 'bf16', N: p.rows, K: w.K, bits: new Uint16Array(data).slice(0, p.rows * w.K) };
    } else {
      host = { format: 'i8', N: p.rows, K: w.K, q: new Int8Array(data).slice(0, p.rows * w.K), scales: new Float32Array(await view(ctx, p.scales!)).slice(0, p.rows) };
    }
    out.set(dequantizeWeight(host), p.rowOffset * w.K);
  }
  return out;
}

function rows(w: Float32Array, K: number, r0: number, r1: number): Float32Array {
  return w.slice(r0 * K, r1 * K);
}

/** The CPU reference model holding exactly the GPU's weights; LoRA from PEFT tensors when given. */
export async function refModelFrom(ctx: GpuContext, m: ModelWeights, lora?: { config: Record<string, unknown>; tensors: Map<string, FixtureTensor> }): Promise<RefModel> {
  const c = m.config;
  const s = qkvSlices(c);
  const C = c.hiddenSize;
  const I = c.intermediateSize;
  const f32 = async (b: GPUBuffer) => new Float32Array(await readBuffer(ctx.device, b));
  const peft = lora ? parsePeftConfig(lora.config) : null;
  const lo = (l: number, t: Parameters<typeof peftKey>[1]): RefLinear['lora'] => {
    if (!peft || !lora || !peft.targets.includes(t)) return undefined;
    return { A: lora.tensors.get(peftKey(l, t, 'A'))!.data as Float32Array, B: lora.tensors.get(peftKey(l, t, 'B'))!.data as Float32Array, R: peft.r, scale: peft.alpha / peft.r };
  };
  const layers = [];
  for (let l = 0; l < m.layers.length; l++) {
    const L = m.layers[l];
    const qkv = await downloadWeight(ctx, L.qkv);
    const bias = await f32(L.qkv.bias!);
    const gu = await downloadWeight(ctx, L.gateUp);
    const lin = (w: Float32Array, N: number, K: number, b: Float32Array | undefined, t: Parameters<typeof peftKey>[1]): RefLinear => ({ w, N, K, bias: b, lora: lo(l, t) });
    layers.push({
      inputNorm: await f32(L.inputNorm),
      q: lin(rows(qkv, C, 0, s.q), s.q, C, bias.slice(0, s.q), 'q_proj'),
      k: lin(rows(qkv, C, s.q, s.q + s.k), s.k, C, bias.slice(s.q, s.q + s.k), 'k_proj'),
      v: lin(rows(qkv, C, s.q + s.k, s.total), s.v, C, bias.slice(s.q + s.k), 'v_proj'),
      o: lin(await downloadWeight(ctx, L.o), C, s.q, undefined, 'o_proj'),
      postNorm: await f32(L.postNorm),
      gate: lin(rows(gu, C, 0, I), I, C, undefined, 'gate_proj'),
      up: lin(rows(gu, C, I, 2 * I), I, C, undefined, 'up_proj'),
      down: lin(await downloadWeight(ctx, L.down), C, I, undefined, 'down_proj'),
    });
  }
  const embed = await downloadWeight(ctx, m.embed);
  return {
    C, I, H: c.numHeads, K: c.numKvHeads, D: c.headDim, V: c.vocabSize, eps: c.rmsNormEps, theta: c.ropeTheta,
    embed, lmHead: m.lmHead === m.embed ? embed : await downloadWeight(ctx, m.lmHead), layers, finalNorm: await f32(m.finalNorm),
  };
}
