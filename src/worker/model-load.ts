// A model's files → a LoadedModel: config.json parsed (clear errors for unsupported models), the
// memory plan checked against the device BEFORE anything big is read, the tokenizer built (its ids
// must fit the embedding), weights downloaded or streamed onto the GPU, the chat engine created.
// Shared by the engine worker and the CLI.
import type { GpuContext } from '../gpu/device';
import type { Qwen2Config } from '../model/config';
import { ModelError, TokenizerError } from '../model/errors';
import { loadModel } from '../model/loader';
import { Engine } from '../model/engine';
import { destroyModel } from '../model/weights';
import { createTokenizer, type TabTokenizer } from '../model/tokenizer';
import type { DeviceLimitsLike } from '../model/memory';
import { chatPlan, checkChatFits, engineSizes, parameterCount, type EngineSizes, type Formats } from '../model/plan';
import { closeShards, type ShardedModel } from '../formats/shards';
import { throwIfAborted } from '../formats/sources';
import { parseConfigText, type ModelFiles } from './model-files';
import type { LoadedModel } from './context';
import type { ModelSummary } from './protocol';

export interface LoadProgressInfo {
  phase: 'download' | 'weights' | 'tokenizer';
  bytesDone: number;
  bytesTotal: number;
  file?: string;
}

export interface LoadOptions extends Formats {
  signal?: AbortSignal;
  onProgress?(p: LoadProgressInfo): void;
  /** default DEFAULT_ENGINE clamped to the model */
  sizes?: EngineSizes;
  /** largest LoRA rank the engine will apply (default 64) */
  maxRank?: number;
  log?(note: string): void;
}

export async function loadFromFiles(gpu: GpuContext, files: ModelFiles, o: LoadOptions): Promise<LoadedModel> {
  const config = parseConfigText(files.configText);
  const sizes = engineSizes(config, o.sizes);
  const fit = checkChatFits(chatPlan(config, o, sizes), gpu.limits as unknown as DeviceLimitsLike);
  if (!fit.fits) {
    throw new ModelError(`${files.name} does not fit this GPU: ${fit.problems.join('; ')}`, 'pick a smaller model, or the 4-bit weight format; a desktop GPU has larger limits');
  }
  o.onProgress?.({ phase: 'tokenizer', bytesDone: 0, bytesTotal: 0 });
  const { tokenizer, eosIds } = await buildTokenizer(files, config);
  throwIfAborted(o.signal, `loading ${files.name}`);
  const model = await files.open({ signal: o.signal, onDownload: (p) => o.onProgress?.({ phase: 'download', ...p }) });
  try {
    const weights = await loadModel(gpu, { config, model }, {
      linearFormat: o.linearFormat, embedFormat: o.embedFormat, signal: o.signal, log: o.log,
      onProgress: (p) => o.onProgress?.({ phase: 'weights', bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, file: p.tensor || undefined }),
    });
    try {
      const engine = await Engine.create(gpu, weights, { ...sizes, maxRank: o.maxRank ?? 64 });
      const summary = summarize(files.name, config, model, o, weights.bytes, tokenizer);
      return { name: files.name, config, weights, tokenizer, engine, eosIds, summary };
    } catch (e) {
      destroyModel(gpu, weights);
      throw e;
    }
  } finally {
    await closeShards(model);
  }
}

/** The tokenizer from tokenizer.json + tokenizer_config.json (+ chat_template.jinja), and every end-of-sequence id. */
export async function buildTokenizer(files: ModelFiles, config: Qwen2Config): Promise<{ tokenizer: TabTokenizer; eosIds: number[] }> {
  const [tj, tc, gen, template] = await Promise.all(['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'chat_template.jinja'].map((f) => files.text(f)));
  const missing = [tj === null && 'tokenizer.json', tc === null && 'tokenizer_config.json'].filter(Boolean);
  if (missing.length) {
    throw new TokenizerError(`${files.name} has no ${missing.join(' and ')}`, 'TabZero needs the model\'s own tokenizer files: use the original repo, or copy them into the folder');
  }
  const genEos = generationEos(gen);
  const tokenizer = createTokenizer(tj, tc, { chatTemplate: template ?? undefined, extraEosTokenIds: [...config.eosTokenIds, ...genEos] });
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new TokenizerError(`the tokenizer has ${tokenizer.vocabSize} ids but the model's embedding has ${config.vocabSize} rows`, 'use the tokenizer files of the same repo as the weights');
  }
  return { tokenizer, eosIds: [...tokenizer.eosTokenIds] };
}

/** generation_config.json eos_token_id (a number or a list); [] when absent or unreadable. */
function generationEos(text: string | null): number[] {
  if (text === null) return [];
  try {
    const v = (JSON.parse(text) as { eos_token_id?: unknown }).eos_token_id;
    const ids = Array.isArray(v) ? v : [v];
    return ids.filter((x): x is number => Number.isSafeInteger(x) && (x as number) >= 0);
  } catch {
    return [];
  }
}

function summarize(name: string, c: Qwen2Config, model: ShardedModel, f: Formats, gpuBytes: number, tok: TabTokenizer): ModelSummary {
  const proj = model.shards.flatMap((s) => s.header.tensors).find((t) => t.name.endsWith('.mlp.down_proj.weight'));
  const fromDtype = proj?.dtype === 'F16' ? 'f16' : proj?.dtype === 'F32' ? 'f32' : 'bf16';
  let hasChatTemplate = true;
  try {
    tok.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true });
  } catch {
    hasChatTemplate = false;
  }
  return {
    name, numLayers: c.numLayers, hiddenSize: c.hiddenSize, vocabSize: c.vocabSize, parameters: parameterCount(c),
    linearFormat: f.linearFormat, embedFormat: f.embedFormat, gpuBytes,
    quantizedFrom: c.quantization ? 'bnb-nf4' : fromDtype, hasChatTemplate,
  };
}
