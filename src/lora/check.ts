// Checks of PEFT adapter tensors without a GPU (pure): what the tensors say about the model they were
// trained on (layers, each target's [out, in]) and whether they agree with adapter_config.json, then
// whether that model matches a loaded base, and the portability warnings (vLLM's max LoRA rank).
import type { Dtype } from '../formats/safetensors';
import { targetRows, type LoraBaseShape } from './adapter';
import { LoraError, type PeftSettings, type PeftTensor } from './peft';
import { LORA_TARGETS, TARGET_SLOT, isLoraTarget, type LoraTarget } from './targets';

/** What the tensors of an adapter say about the model it was trained on. */
export interface PeftLayout {
  numLayers: number;
  /** [out, in] of each targeted module (the same in every layer) */
  shapes: Partial<Record<LoraTarget, { out: number; in: number }>>;
  tensorCount: number;
  /** bytes of tensor data */
  dataBytes: number;
}

const KEY_RE = /^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.([A-Za-z0-9_]+)\.lora_(A|B)\.weight$/;
const FLOAT_DTYPES: readonly Dtype[] = ['F32', 'F16', 'BF16', 'F64'];

/** Why a tensor key is not one TabZero can load, for keys that do not match KEY_RE. */
function foreignKeyReason(key: string): { what: string; hint: string } {
  if (/lora_magnitude_vector/.test(key)) return { what: `DoRA magnitude tensor ${key}`, hint: 'TabZero loads plain LoRA; merge the DoRA adapter or retrain without use_dora' };
  if (/lora_embedding_[AB]|embed_tokens/.test(key)) return { what: `embedding tensor ${key}`, hint: 'TabZero applies LoRA to q/k/v/o/gate/up/down only; retrain without embedding targets or trainable tokens' };
  if (/lm_head/.test(key)) return { what: `lm_head tensor ${key}`, hint: 'TabZero never adapts lm_head; retrain without lm_head in target_modules or modules_to_save' };
  if (/\.bias$/.test(key)) return { what: `LoRA bias tensor ${key}`, hint: 'retrain with bias="none" and lora_bias=False' };
  if (/lora_[AB]/.test(key)) return { what: `LoRA tensor ${key} in an unexpected place`, hint: 'TabZero expects keys base_model.model.model.layers.{i}.{self_attn|mlp}.{q,k,v,o,gate,up,down}_proj.lora_{A|B}.weight' };
  return { what: `tensor ${key}, which is not a LoRA matrix (a fully trained module, e.g. modules_to_save)`, hint: 'TabZero adapters hold LoRA matrices only; retrain without modules_to_save' };
}

/**
 * Checks that the tensors are exactly the LoRA pairs the config describes: every key parses, every
 * target has A [r, in] and B [out, r] in every layer 0..L-1, shapes agree across layers, dtypes are
 * floating point. Throws LoraError naming the first problem.
 */
export function inspectPeftTensors(s: PeftSettings, tensors: ReadonlyMap<string, PeftTensor>): PeftLayout {
  const bad = (message: string, hint: string): never => { throw new LoraError(message, hint); };
  const shapes: PeftLayout['shapes'] = {};
  const seen = new Map<string, Set<number>>(); // `${target}.${A|B}` → layers
  let maxLayer = -1;
  let dataBytes = 0;
  for (const [key, t] of tensors) {
    const m = KEY_RE.exec(key);
    if (!m) { const r = foreignKeyReason(key); bad(`unsupported adapter: ${r.what}`, r.hint); }
    const [, layerStr, block, mod, which] = m!;
    if (!isLoraTarget(mod) || TARGET_SLOT[mod].block !== block) {
      bad(`unsupported adapter: tensor ${key} adapts module ${block}.${mod}`, `TabZero applies LoRA to ${LORA_TARGETS.join(', ')} (never lm_head or embeddings)`);
    }
    const target = mod as LoraTarget;
    if (!s.targets.includes(target)) {
      bad(`adapter has tensor ${key} but target_modules in adapter_config.json lists only ${s.targets.join(', ')}`, 'the config and the weights disagree; export the adapter again');
    }
    if (!FLOAT_DTYPES.includes(t.dtype)) bad(`tensor ${key} has dtype ${t.dtype}; LoRA matrices must be floating point`, 'export the adapter again in float32, float16 or bfloat16');
    if (t.shape.length !== 2) bad(`tensor ${key} has shape [${t.shape}], expected a matrix`, 'the file is not a LoRA adapter; export it again');
    const [rows, cols] = t.shape;
    const rankDim = which === 'A' ? rows : cols;
    if (rankDim !== s.r) bad(`tensor ${key} has shape [${t.shape}] but adapter_config.json says r = ${s.r}`, 'the config and the weights disagree (rank_pattern?); export the adapter again');
    const dimIn = which === 'A' ? cols : -1;
    const dimOut = which === 'B' ? rows : -1;
    const prev = shapes[target] ?? { out: -1, in: -1 };
    if ((dimOut !== -1 && prev.out !== -1 && prev.out !== dimOut) || (dimIn !== -1 && prev.in !== -1 && prev.in !== dimIn)) {
      bad(`tensor ${key} has shape [${t.shape}], other layers' ${target} is [out ${prev.out}, in ${prev.in}]`, 'every layer of a model has the same shapes; the file is damaged or not from one model');
    }
    const cur = { out: dimOut !== -1 ? dimOut : prev.out, in: dimIn !== -1 ? dimIn : prev.in };
    shapes[target] = cur;
    const layer = Number(layerStr);
    maxLayer = Math.max(maxLayer, layer);
    const k = `${target}.${which}`;
    if (!seen.has(k)) seen.set(k, new Set());
    seen.get(k)!.add(layer);
    dataBytes += t.bytes.byteLength;
  }
  if (maxLayer < 0) bad('adapter_model.safetensors holds no LoRA tensors', 'export the adapter again; the weights file is empty');
  const numLayers = maxLayer + 1;
  for (const t of s.targets) {
    for (const which of ['A', 'B'] as const) {
      const layers = seen.get(`${t}.${which}`) ?? new Set<number>();
      for (let l = 0; l < numLayers; l++) {
        if (!layers.has(l)) {
          bad(`adapter has no tensor for layer ${l} ${t} lora_${which} (it has layers 0..${maxLayer})`, 'TabZero loads adapters that cover every layer for every target module; export the adapter again');
        }
      }
    }
  }
  return { numLayers, shapes, tensorCount: tensors.size, dataBytes };
}

/** Throws LoraError unless an adapter with this layout fits the base model's shapes. */
export function checkLayoutAgainstBase(layout: PeftLayout, base: LoraBaseShape, baseModel?: string | null): void {
  const trainedOn = baseModel ? ` (it was trained on ${baseModel})` : '';
  const hint = `load the base model the adapter was trained on${trainedOn}`;
  if (layout.numLayers !== base.numLayers) {
    throw new LoraError(`adapter is for a model with ${layout.numLayers} layers, the loaded model has ${base.numLayers}`, hint);
  }
  for (const t of LORA_TARGETS) {
    const sh = layout.shapes[t];
    if (!sh) continue;
    const want = targetRows(base, t);
    if (sh.out !== want.out || sh.in !== want.in) {
      throw new LoraError(`adapter's ${t} is [out ${sh.out}, in ${sh.in}], the loaded model's is [out ${want.out}, in ${want.in}]`, hint);
    }
  }
}

/** The ranks vLLM accepts for --max-lora-rank (vllm/config/lora.py MaxLoRARanks); default 16. */
export const VLLM_MAX_LORA_RANKS = [1, 8, 16, 32, 64, 128, 256, 320, 512] as const;
export const VLLM_DEFAULT_MAX_LORA_RANK = 16;

/** Portability warnings for an adapter (pure): things that load here but need care elsewhere. */
export function peftWarnings(s: Pick<PeftSettings, 'r' | 'baseModel'>): string[] {
  const out: string[] = [];
  if (s.r > VLLM_DEFAULT_MAX_LORA_RANK) {
    const n = VLLM_MAX_LORA_RANKS.find((v) => v >= s.r);
    out.push(n !== undefined
      ? `r = ${s.r}: vLLM's default max_lora_rank is ${VLLM_DEFAULT_MAX_LORA_RANK}; pass --max-lora-rank ${n}`
      : `r = ${s.r}: vLLM's default max_lora_rank is ${VLLM_DEFAULT_MAX_LORA_RANK} and it accepts at most ${VLLM_MAX_LORA_RANKS[VLLM_MAX_LORA_RANKS.length - 1]}; merge the adapter into the base weights to serve it there`);
  }
  if (!s.baseModel) out.push('adapter_config.json names no base_model_name_or_path; PEFT\'s AutoPeftModel needs it (set it to the base model\'s repo id)');
  return out;
}
