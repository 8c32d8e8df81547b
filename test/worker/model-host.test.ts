// The worker's model commands on a real adapter (Dawn in Node), with the tiny model of
// test/helpers/tiny-model.ts: load from local files (File objects) and from a hub stand-in (no
// browser cache in Node: streamed by Range reads), progress and summary events, a greedy reply
// streamed as token events that decode to the completion, stop-generate, the refusals (no adapter,
// unsupported config, a device too small) and unload.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GpuContext } from '../../src/gpu/device';
import type { Command, Event } from '../../src/worker/protocol';
import { createWorkerContext, type WorkerContext } from '../../src/worker/context';
import { cancelLoadCommand, generateCommand, loadModelCommand, releaseModel, stopGenerateCommand, unloadModelCommand } from '../../src/worker/model-host';
import { browserLocalFiles, localModelFiles } from '../../src/worker/model-files';
import { loadFromFiles } from '../../src/worker/model-load';
import { parameterCount } from '../../src/model/plan';
import { parseQwen2Config } from '../../src/model/config';
import { testGpu } from '../helpers/gpu';
import { startHubServer, type HubServer } from '../helpers/hub-server';
import { tinyModelConfig, writeTinyModel } from '../helpers/tiny-model';

let tmp: string;
let dir: string;
let gpu: GpuContext;
let hub: HubServer;

const filesOf = (d: string, skip: string[] = []) => readdirSync(d).filter((n) => !skip.includes(n)).map((n) => new File([readFileSync(join(d, n))], n));

function harness(): { ctx: WorkerContext; events: Event[] } {
  const events: Event[] = [];
  const ctx = createWorkerContext((e) => events.push(e), () => testGpu());
  return { ctx, events };
}

const load = (id: number, files: File[]): Extract<Command, { type: 'load-model' }> => ({ type: 'load-model', id, source: { kind: 'files', files, name: 'tiny' }, linearFormat: 'q4', embedFormat: 'bf16' });
// SwiftShader runs a decode step of even this tiny model in ~0.5–1 s (matmul kernels), so replies stay short
const greedy = { temperature: 0, topK: 0, topP: 1, minP: 0, seed: 0, maxNewTokens: 4 };

beforeAll(async () => {
  gpu = await testGpu();
  tmp = mkdtempSync(join(tmpdir(), 'tabzero-host-'));
  dir = join(tmp, 'hub', 'test', 'tiny');
  await writeTinyModel(dir);
  hub = await startHubServer({ root: join(tmp, 'hub') });
});
afterAll(async () => {
  await hub?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('model host', () => {
  const { ctx, events } = harness();

  it('loads local files: progress, then a summary', async () => {
    await loadModelCommand(load(1, filesOf(dir)), ctx);
    const phases = new Set(events.filter((e) => e.type === 'load-progress').map((e) => (e as { phase: string }).phase));
    expect(phases).toEqual(new Set(['tokenizer', 'weights']));
    const loaded = events.find((e) => e.type === 'model-loaded');
    expect(loaded?.type === 'model-loaded' && loaded.summary).toMatchObject({
      name: 'tiny', numLayers: 2, hiddenSize: 64, vocabSize: 320, linearFormat: 'q4', embedFormat: 'bf16', quantizedFrom: 'bf16', hasChatTemplate: true,
      parameters: parameterCount(parseQwen2Config(tinyModelConfig())),
    });
    expect(ctx.model?.eosIds.sort()).toEqual([317, 319]);
    expect(ctx.job).toBeNull();
  });

  it('streams a greedy reply as token events that decode to the completion', async () => {
    events.length = 0;
    await generateCommand({ type: 'generate', id: 2, messages: [{ role: 'user', content: 'Hi there' }], sampling: greedy, adapter: false }, ctx);
    const tokens = events.filter((e) => e.type === 'token').map((e) => (e as { text: string }).text);
    const done = events.find((e) => e.type === 'generate-done');
    expect(done).toMatchObject({ id: 2 });
    if (done?.type !== 'generate-done') throw new Error('no generate-done');
    expect(done.tokens).toBeGreaterThan(0);
    expect(tokens.length).toBeGreaterThan(0);
    // the same greedy run again gives the same text (deterministic)
    events.length = 0;
    await generateCommand({ type: 'generate', id: 3, messages: [{ role: 'user', content: 'Hi there' }], sampling: greedy, adapter: false }, ctx);
    expect(events.filter((e) => e.type === 'token').map((e) => (e as { text: string }).text).join('')).toBe(tokens.join(''));
  });

  it('stop-generate ends a reply early', async () => {
    events.length = 0;
    const post = ctx.post;
    ctx.post = (e) => {
      post(e);
      if (e.type === 'token' && ctx.job?.kind === 'generating') void stopGenerateCommand({ type: 'stop-generate', id: 5 }, ctx);
    };
    try {
      await generateCommand({ type: 'generate', id: 4, messages: [{ role: 'user', content: 'Tell me more' }], sampling: { ...greedy, maxNewTokens: 200 }, adapter: false }, ctx);
    } finally {
      ctx.post = post;
    }
    const done = events.find((e) => e.type === 'generate-done');
    expect(done?.type === 'generate-done' && !done.finished && done.tokens < 200).toBe(true);
    expect(events.some((e) => e.type === 'ok' && e.id === 5)).toBe(true);
  });

  it('refuses adapter: true without an adapter, and a too-long reply, with hints', async () => {
    await expect(generateCommand({ type: 'generate', id: 6, messages: [{ role: 'user', content: 'x' }], sampling: greedy, adapter: true }, ctx)).rejects.toMatchObject({ message: 'no adapter is active', hint: expect.stringContaining('Adapters panel') });
    await expect(generateCommand({ type: 'generate', id: 7, messages: [{ role: 'user', content: 'x' }], sampling: { ...greedy, maxNewTokens: 600 }, adapter: false }, ctx)).rejects.toMatchObject({ hint: expect.stringMatching(/lower max tokens to \d+/) });
  });

  it('unload frees the model; generate then says to load one', async () => {
    const live = gpu.memory.live;
    await unloadModelCommand({ type: 'unload-model', id: 8 }, ctx);
    expect(ctx.model).toBeNull();
    expect(gpu.memory.live).toBeLessThan(live);
    await expect(generateCommand({ type: 'generate', id: 9, messages: [{ role: 'user', content: 'x' }], sampling: greedy, adapter: false }, ctx)).rejects.toMatchObject({ hint: expect.stringContaining('Model panel') });
  });
});

describe('model host: other sources and refusals', () => {
  it('loads a hub repo (streamed in Node: no browser cache)', async () => {
    const { ctx, events } = harness();
    await loadModelCommand({ type: 'load-model', id: 1, source: { kind: 'hub', repo: 'test/tiny', endpoint: hub.url }, linearFormat: 'bf16', embedFormat: 'i8' }, ctx);
    expect(events.find((e) => e.type === 'model-loaded')).toMatchObject({ summary: { name: 'test/tiny', linearFormat: 'bf16', embedFormat: 'i8' } });
    expect(hub.requests.some((r) => r.path.endsWith('/model.safetensors') && r.method === 'GET' && r.range)).toBe(true);
    releaseModel(ctx, 2);
  });

  it('an unsupported config fails before any weight is read, with a hint', async () => {
    const bad = join(tmp, 'llama');
    mkdirSync(bad, { recursive: true });
    await writeTinyModel(bad);
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...tinyModelConfig(), model_type: 'llama', architectures: ['LlamaForCausalLM'] }));
    const { ctx, events } = harness();
    await expect(loadModelCommand(load(1, filesOf(bad)), ctx)).rejects.toMatchObject({ name: 'ConfigError', hint: expect.stringContaining('Qwen2') });
    expect(events.filter((e) => e.type === 'load-progress')).toEqual([]);
    expect(ctx.job).toBeNull();
  });

  it('cancel-load aborts a load; nothing stays loaded and the next command may run', async () => {
    const { ctx, events } = harness();
    const loading = loadModelCommand(load(1, filesOf(dir)), ctx);
    await cancelLoadCommand({ type: 'cancel-load', id: 2 }, ctx);
    await expect(loading).rejects.toMatchObject({ name: 'SourceError', code: 'aborted', hint: expect.stringContaining('start again') });
    expect(events.some((e) => e.type === 'ok' && e.id === 2)).toBe(true);
    expect(ctx.model).toBeNull();
    expect(ctx.job).toBeNull();
  });

  it('a folder without tokenizer files or weights says what is missing', async () => {
    const { ctx } = harness();
    await expect(loadModelCommand(load(1, filesOf(dir, ['tokenizer.json'])), ctx)).rejects.toMatchObject({ name: 'TokenizerError', message: expect.stringContaining('no tokenizer.json') });
    await expect(loadModelCommand(load(2, filesOf(dir, ['model.safetensors'])), ctx)).rejects.toMatchObject({ name: 'SourceError', message: expect.stringContaining('no *.safetensors') });
  });

  it('refuses a model whose buffers exceed the device limits, before loading', async () => {
    const small = { ...gpu, limits: { ...gpu.limits, maxStorageBufferBindingSize: 16 * 1024, maxBufferSize: 16 * 1024 } };
    const files = await localModelFiles(browserLocalFiles(filesOf(dir)), 'tiny');
    const live = gpu.memory.live;
    await expect(loadFromFiles(small, files, { linearFormat: 'q4', embedFormat: 'bf16' })).rejects.toMatchObject({
      name: 'ModelError', message: expect.stringMatching(/does not fit this GPU: one layer's K \(or V\) cache for 512 positions needs a 64 KiB binding, the device allows 16 KiB/),
    });
    expect(gpu.memory.live).toBe(live);
  });
});
