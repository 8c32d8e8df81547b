// Test helper: PEFT adapter files generated in the test (config + safetensors bytes) for a small
// base shape, with knobs to break them in each way an incompatible adapter can be broken.
import { writeSafetensors, type Dtype, type TensorToWrite } from '../../src/formats/safetensors';
import { targetRows, type LoraBaseShape } from '../../src/lora/adapter';
import { peftKey } from '../../src/lora/peft';
import { LORA_TARGETS, type LoraTarget } from '../../src/lora/targets';

/** The reference-tiny fixture's shapes: 2 layers, C 64, I 160, 4 heads (2 kv) of 16. */
export const TINY_BASE: LoraBaseShape = { numLayers: 2, hiddenSize: 64, intermediateSize: 160, qDim: 64, kvDim: 32 };

export interface FakeAdapterOptions {
  r?: number;
  alpha?: number;
  targets?: LoraTarget[];
  base?: LoraBaseShape;
  dtype?: Extract<Dtype, 'F32' | 'BF16' | 'F16'>;
  /** merged into adapter_config.json */
  config?: Record<string, unknown>;
  /** extra tensors [name, shape] (F32 zeros) */
  extra?: Array<[string, number[]]>;
  /** keys to leave out */
  omit?: string[];
  seed?: number;
}

/** Deterministic values in (-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = s / 2 ** 31 - 1; }
  return out;
}

function encode(data: Float32Array, dtype: 'F32' | 'BF16' | 'F16'): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(data.buffer.slice(0));
  const u = new Uint32Array(data.buffer);
  const out = new Uint16Array(data.length);
  // bf16 by truncation; f16 tests only need valid bytes, so reuse the bf16 bits' high half as zeros
  for (let i = 0; i < data.length; i++) out[i] = dtype === 'BF16' ? u[i] >>> 16 : 0x3c00;
  return new Uint8Array(out.buffer);
}

export function fakeAdapter(o: FakeAdapterOptions = {}): { config: Record<string, unknown>; safetensors: Uint8Array; configText: string } {
  const r = o.r ?? 4;
  const base = o.base ?? TINY_BASE;
  const targets = o.targets ?? [...LORA_TARGETS];
  const dtype = o.dtype ?? 'F32';
  const tensors: TensorToWrite[] = [];
  let seed = o.seed ?? 7;
  for (let l = 0; l < base.numLayers; l++) {
    for (const t of targets) {
      const tr = targetRows(base, t);
      for (const [which, shape] of [['A', [r, tr.in]], ['B', [tr.out, r]]] as const) {
        const name = peftKey(l, t, which);
        if (o.omit?.includes(name)) continue;
        tensors.push({ name, dtype, shape: [...shape], data: encode(values(shape[0] * shape[1], seed++), dtype) });
      }
    }
  }
  for (const [name, shape] of o.extra ?? []) tensors.push({ name, dtype: 'F32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  const config = {
    peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: 'tiny-qwen2', r, lora_alpha: o.alpha ?? 8,
    lora_dropout: 0, target_modules: targets, bias: 'none', use_dora: false, use_rslora: false, modules_to_save: null, ...o.config,
  };
  return { config, configText: JSON.stringify(config), safetensors: writeSafetensors(tensors, { format: 'pt' }) };
}
