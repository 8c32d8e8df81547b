// PEFT files ⇄ TabZero adapters: adapter_config.json validation (what TabZero can load, and a clear
// reason for what it cannot), tensor keys `base_model.model.model.layers.{i}.{self_attn|mlp}.{name}.lora_{A|B}.weight`
// (A [r, in], B [out, r], F32), import into the fused GPU layout and export from it.
import type { GpuContext } from '../gpu/device';
import { readBuffer, writeView } from '../gpu/buffers';
import { toFloat32, writeSafetensors, type Dtype, type TensorToWrite } from '../formats/safetensors';
import { allocLora, targetRows, type LoraAdapter, type LoraBaseShape } from './adapter';
import { LORA_TARGETS, TARGET_SLOT, isLoraTarget, type LoraTarget } from './targets';

export class LoraError extends Error {
  override name = 'LoraError';
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

export interface PeftSettings {
  r: number;
  alpha: number;
  targets: LoraTarget[];
  baseModel: string | null;
}

export function peftKey(layer: number, t: LoraTarget, which: 'A' | 'B'): string {
  return `base_model.model.model.layers.${layer}.${TARGET_SLOT[t].block}.${t}.lora_${which}.weight`;
}

const ALL = 'all-linear';

/** What TabZero can load from an adapter_config.json, or a LoraError naming what it cannot. */
export function parsePeftConfig(json: unknown): PeftSettings {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new LoraError('adapter_config.json is not a JSON object', 'export the adapter again with PEFT (model.save_pretrained)');
  const c = json as Record<string, unknown>;
  const reject = (what: string, hint: string) => { throw new LoraError(`unsupported adapter: ${what}`, hint); };
  if (c.peft_type !== 'LORA') reject(`peft_type is ${JSON.stringify(c.peft_type)}, TabZero loads LORA adapters`, 'convert or retrain it as a plain LoRA adapter');
  if (c.task_type !== undefined && c.task_type !== null && c.task_type !== 'CAUSAL_LM') reject(`task_type is ${JSON.stringify(c.task_type)}, expected CAUSAL_LM`, 'use an adapter trained for causal language modelling');
  if (c.use_dora === true) reject('DoRA (use_dora: true)', 'TabZero trains and loads plain LoRA; merge the DoRA adapter or retrain without use_dora');
  if (c.bias !== undefined && c.bias !== 'none') reject(`bias is ${JSON.stringify(c.bias)}, TabZero supports bias "none"`, 'retrain with bias="none"');
  if (Array.isArray(c.modules_to_save) && c.modules_to_save.length) reject(`modules_to_save ${JSON.stringify(c.modules_to_save)} (fully trained modules)`, 'TabZero adapters hold LoRA matrices only; retrain without modules_to_save');
  for (const k of ['rank_pattern', 'alpha_pattern'] as const) {
    if (c[k] && typeof c[k] === 'object' && Object.keys(c[k] as object).length) reject(`per-module ${k}`, 'use one rank and alpha for all modules');
  }
  if (c.layers_to_transform !== undefined && c.layers_to_transform !== null) reject('layers_to_transform (LoRA on some layers only)', 'retrain with LoRA on every layer');
  if (c.use_rslora === true) reject('rsLoRA scaling (use_rslora: true)', 'retrain with use_rslora=False, or merge the adapter');
  const r = c.r;
  const alpha = c.lora_alpha;
  if (!Number.isInteger(r) || (r as number) < 1 || (r as number) > 1024) reject(`r = ${JSON.stringify(r)}`, 'r must be an integer from 1 to 1024');
  if (typeof alpha !== 'number' || !(alpha > 0)) reject(`lora_alpha = ${JSON.stringify(alpha)}`, 'lora_alpha must be a positive number');
  const tm = c.target_modules;
  let targets: string[];
  if (tm === ALL) targets = [...LORA_TARGETS];
  else if (Array.isArray(tm)) targets = tm.map(String);
  else reject(`target_modules ${JSON.stringify(tm)}`, 'list the modules by name (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)');
  const bad = targets!.filter((t) => !isLoraTarget(t));
  if (bad.length) reject(`target module(s) ${bad.join(', ')}`, `TabZero applies LoRA to ${LORA_TARGETS.join(', ')} (never lm_head or embeddings)`);
  if (!targets!.length) reject('no target_modules', 'list at least one module');
  const baseModel = typeof c.base_model_name_or_path === 'string' ? c.base_model_name_or_path : null;
  return { r: r as number, alpha: alpha as number, targets: LORA_TARGETS.filter((t) => targets!.includes(t)), baseModel };
}

export interface PeftTensor {
  dtype: Dtype;
  shape: number[];
  bytes: Uint8Array;
}

/** Loads PEFT tensors into a new GPU adapter; every expected key must be present with its shape. */
export function importPeft(ctx: GpuContext, base: LoraBaseShape, s: PeftSettings, tensors: Map<string, PeftTensor>): LoraAdapter {
  const seen = new Set<string>();
  const adapter = allocLora(ctx, base, s);
  for (let l = 0; l < base.numLayers; l++) {
    for (const t of s.targets) {
      const tr = targetRows(base, t);
      for (const which of ['A', 'B'] as const) {
        const key = peftKey(l, t, which);
        const ten = tensors.get(key);
        const want = which === 'A' ? [s.r, tr.in] : [tr.out, s.r];
        if (!ten) throw new LoraError(`adapter has no tensor ${key}`, 'the adapter does not match this model or its target_modules; export it again');
        if (ten.shape.length !== 2 || ten.shape[0] !== want[0] || ten.shape[1] !== want[1]) {
          throw new LoraError(`tensor ${key} has shape [${ten.shape}], this model needs [${want}]`, 'the adapter was trained on a model of another shape; load the base model it was trained on');
        }
        const data = toFloat32(ten.dtype, ten.bytes);
        const lin = adapter.layers[l][tr.fused];
        if (which === 'A') writeView(ctx.device, lin.A, tr.slice * s.r * tr.in * 4, data);
        else writeView(ctx.device, lin.B, tr.row0 * s.r * 4, data);
        seen.add(key);
      }
    }
  }
  const extra = [...tensors.keys()].filter((k) => !seen.has(k));
  if (extra.length) {
    throw new LoraError(`adapter has ${extra.length} tensor(s) TabZero does not use, e.g. ${extra[0]}`, 'the adapter targets modules or layers this model does not have (or its config lists fewer target_modules than its weights)');
  }
  return adapter;
}

/** Reads an adapter's targeted slices back from the GPU as PEFT tensors (A [r, in], B [out, r]), sorted by key. */
export async function readLoraTensors(ctx: GpuContext, a: LoraAdapter): Promise<Map<string, { data: Float32Array; shape: number[] }>> {
  const out: [string, { data: Float32Array; shape: number[] }][] = [];
  for (let l = 0; l < a.layers.length; l++) {
    for (const t of a.targets) {
      const tr = targetRows(a.base, t);
      const lin = a.layers[l][tr.fused];
      const A = new Float32Array(await readBuffer(ctx.device, lin.A, a.r * tr.in * 4, tr.slice * a.r * tr.in * 4));
      const B = new Float32Array(await readBuffer(ctx.device, lin.B, tr.out * a.r * 4, tr.row0 * a.r * 4));
      out.push([peftKey(l, t, 'A'), { data: A, shape: [a.r, tr.in] }]);
      out.push([peftKey(l, t, 'B'), { data: B, shape: [tr.out, a.r] }]);
    }
  }
  out.sort((x, y) => (x[0] < y[0] ? -1 : 1));
  return new Map(out);
}

/** Reads an adapter back and writes PEFT's two files (config object + safetensors bytes). */
export async function exportPeft(ctx: GpuContext, a: LoraAdapter, baseModel: string): Promise<{ config: Record<string, unknown>; safetensors: Uint8Array }> {
  const out: TensorToWrite[] = [...(await readLoraTensors(ctx, a))].map(([name, t]) => ({ name, dtype: 'F32', shape: t.shape, data: t.data }));
  return { config: peftConfigJson(a, baseModel), safetensors: writeSafetensors(out, { format: 'pt' }) };
}

export function peftConfigJson(a: Pick<LoraAdapter, 'r' | 'alpha' | 'targets'>, baseModel: string): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: a.r,
    lora_alpha: a.alpha,
    lora_dropout: 0.0,
    target_modules: [...a.targets],
    bias: 'none',
    fan_in_fan_out: false,
    use_dora: false,
    use_rslora: false,
    modules_to_save: null,
    init_lora_weights: true,
    inference_mode: true,
    revision: null,
  };
}
