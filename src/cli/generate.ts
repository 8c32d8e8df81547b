// `tabzero generate --model <folder | owner/name> [--adapter <folder>] --prompt "…"`: loads a model (a
// local folder, or a hub repo streamed by Range reads, not cached), optionally a PEFT adapter
// (adapter_config.json + adapter_model.safetensors), renders the prompt with the model's chat
// template and streams the reply to stdout; timing goes to stderr.
import { parseArgs } from 'node:util';
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { GpuContext } from '../gpu/device';
import { acquireDevice, parseDisable, type OptionalFeature } from '../gpu/device';
import { NODE_GPU_FLAGS, nodeGpu } from '../gpu/node';
import { openFileSource } from '../formats/node-source';
import { readSafetensors } from '../formats/safetensors';
import { destroyModel } from '../model/weights';
import type { Qwen2Config } from '../model/config';
import { destroyLora, type LoraAdapter } from '../lora/adapter';
import { importPeft, LoraError, parsePeftConfig, type PeftSettings, type PeftTensor } from '../lora/peft';
import { hubModelFiles, localModelFiles, type LocalFile, type ModelFiles } from '../worker/model-files';
import { loadFromFiles } from '../worker/model-load';
import { DEFAULT_SAMPLING, runChat, type ChatReply } from '../worker/chat';
import type { ChatMessage, SamplingSpec } from '../worker/protocol';

export interface GenerateOptions {
  /** a local folder, or a hub repo id */
  model: string;
  /** a PEFT adapter folder */
  adapter?: string;
  prompt: string;
  system?: string;
  sampling: SamplingSpec;
  linearFormat: 'q4' | 'bf16';
  endpoint?: string;
  revision?: string;
  token?: string;
  /** optional GPU features to leave off (--disable) */
  disable?: OptionalFeature[];
}

/** A model folder in Node as ModelFiles (files read on demand, weights through file handles). */
export async function folderModelFiles(dir: string): Promise<ModelFiles> {
  const names = await readdir(dir);
  const files: LocalFile[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const st = await stat(path);
    if (st.isFile()) files.push({ path: name, size: st.size, text: () => readFile(path, 'utf8'), source: () => openFileSource(path) });
  }
  return localModelFiles(files, basename(dir));
}

async function modelFiles(o: GenerateOptions): Promise<ModelFiles> {
  if ((await stat(o.model).catch(() => null))?.isDirectory()) return folderModelFiles(o.model);
  return hubModelFiles({ repo: o.model, endpoint: o.endpoint ?? process.env.HF_ENDPOINT, revision: o.revision, token: o.token ?? process.env.HF_TOKEN }, { cache: null });
}

/** adapter_config.json settings and the tensors of adapter_model.safetensors. */
export async function readPeftFolder(dir: string): Promise<{ settings: PeftSettings; tensors: Map<string, PeftTensor> }> {
  const read = (f: string) => readFile(join(dir, f)).catch((e: NodeJS.ErrnoException) => {
    throw new LoraError(`${join(dir, f)}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, 'pass the folder holding adapter_config.json and adapter_model.safetensors (as PEFT save_pretrained writes it)');
  });
  const [configBytes, weights] = await Promise.all([read('adapter_config.json'), read('adapter_model.safetensors')]);
  let json: unknown;
  try {
    json = JSON.parse(configBytes.toString('utf8'));
  } catch (e) {
    throw new LoraError(`adapter_config.json is not valid JSON: ${(e as Error).message}`, 'export the adapter again');
  }
  const settings = parsePeftConfig(json);
  const tensors = new Map<string, PeftTensor>();
  for (const [name, t] of readSafetensors(new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength)).tensors) {
    tensors.set(name, { dtype: t.info.dtype, shape: t.info.shape, bytes: t.bytes });
  }
  return { settings, tensors };
}

function loraBase(c: Qwen2Config) {
  return { numLayers: c.numLayers, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize, qDim: c.numHeads * c.headDim, kvDim: c.numKvHeads * c.headDim };
}

/** Loads, generates one reply (each piece of text to `write` as it arrives), frees everything. */
export async function generateText(gpu: GpuContext, o: GenerateOptions, write: (text: string) => void): Promise<ChatReply> {
  const peft = o.adapter ? await readPeftFolder(o.adapter) : null;
  const files = await modelFiles(o);
  const model = await loadFromFiles(gpu, files, { linearFormat: o.linearFormat, embedFormat: 'bf16', maxRank: Math.max(64, peft?.settings.r ?? 0), log: () => {} });
  let lora: LoraAdapter | null = null;
  try {
    if (peft) lora = importPeft(gpu, loraBase(model.config), peft.settings, peft.tensors);
    const messages: ChatMessage[] = [...(o.system ? [{ role: 'system' as const, content: o.system }] : []), { role: 'user', content: o.prompt }];
    return await runChat(model, messages, o.sampling, lora, { onText: write });
  } finally {
    if (lora) destroyLora(gpu, lora);
    model.engine.destroy();
    destroyModel(gpu, model.weights);
  }
}

const USAGE = 'usage: tabzero generate --model <folder | owner/name> [--adapter <folder>] --prompt "…" [--system "…"] [--max-tokens N] [--temperature T] [--top-p P] [--top-k K] [--min-p P] [--seed S] [--bf16] [--endpoint URL] [--revision REV] [--disable shader-f16,subgroups,…]';

function usageError(message: string): Error {
  return Object.assign(new Error(message), { name: 'UsageError', hint: USAGE });
}

function num(v: string | undefined, name: string, d: number, int = false): number {
  if (v === undefined) return d;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || (int && !Number.isInteger(n))) throw usageError(`--${name} must be a ${int ? 'non-negative integer' : 'non-negative number'}, got ${JSON.stringify(v)}`);
  return n;
}

/** Parses the command line (throws UsageError with the usage as hint). */
export function parseGenerateArgs(argv: string[]): GenerateOptions {
  const s = { type: 'string' } as const;
  const { values: v, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      model: s, adapter: s, prompt: s, system: s, 'max-tokens': s, temperature: s, 'top-p': s, 'top-k': s, 'min-p': s, seed: s,
      bf16: { type: 'boolean' }, endpoint: s, revision: s, disable: s,
    },
  });
  if (positionals.length) throw usageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (!v.model) throw usageError('--model is required');
  if (v.prompt === undefined) throw usageError('--prompt is required');
  const d = DEFAULT_SAMPLING;
  const sampling: SamplingSpec = {
    temperature: num(v.temperature, 'temperature', d.temperature), topP: num(v['top-p'], 'top-p', d.topP), topK: num(v['top-k'], 'top-k', d.topK, true),
    minP: num(v['min-p'], 'min-p', d.minP), seed: num(v.seed, 'seed', d.seed, true), maxNewTokens: num(v['max-tokens'], 'max-tokens', d.maxNewTokens, true),
  };
  if (sampling.maxNewTokens < 1) throw usageError('--max-tokens must be at least 1');
  if (sampling.topP <= 0 || sampling.topP > 1) throw usageError(`--top-p must be in (0, 1], got ${sampling.topP}`);
  let disable: OptionalFeature[];
  try {
    disable = parseDisable(v.disable ?? '');
  } catch (e) {
    throw usageError((e as Error).message);
  }
  return { model: v.model, adapter: v.adapter, prompt: v.prompt, system: v.system, sampling, linearFormat: v.bf16 ? 'bf16' : 'q4', endpoint: v.endpoint, revision: v.revision, disable };
}

/** `tabzero generate …`: the reply on stdout, a one-line summary on stderr. */
export async function runGenerate(argv: string[]): Promise<number> {
  const o = parseGenerateArgs(argv);
  const gpu = await acquireDevice(await nodeGpu(NODE_GPU_FLAGS), { disable: o.disable });
  try {
    const r = await generateText(gpu, o, (t) => process.stdout.write(t));
    process.stdout.write('\n');
    const rate = r.seconds > 0 ? `, ${(r.ids.length / r.seconds).toFixed(1)} tokens/s` : '';
    console.error(`[${r.promptTokens} prompt tokens; ${r.ids.length} generated in ${r.seconds.toFixed(2)} s${rate}; ${r.finished ? 'ended with EOS' : 'cut at --max-tokens'}]`);
    return 0;
  } finally {
    gpu.destroy();
  }
}
