// Model panel state: where the model comes from (hub repo or a local folder) and in which formats;
// the preview read before loading (config.json, download size, GPU memory to chat and to train,
// checked against the device's limits); the load itself (progress, cancel, errors with hints), the
// loaded model's summary; and the browser weight cache (size, clear).
// URL parameters: ?hub=<endpoint> sets the hub endpoint, ?repo=<owner/name> the repo id.
import type { WorkerClient } from '../worker-client';
import type { GpuState } from './gpu.svelte';
import type { ModelSummary } from '../../worker/protocol';
import { toErrorInfo, type ErrorInfo } from '../../gpu/errors';
import { DEFAULT_ENDPOINT } from '../../formats/hub';
import type { Qwen2Config } from '../../model/config';
import type { DeviceFit, DeviceLimitsLike, MemoryEstimate } from '../../model/memory';
import { chatPlan, checkChatFits, trainingPlan, type ChatPlan, type Formats } from '../../model/plan';
import { DEFAULT_CONFIG } from '../../grpo/config';
import { maxLayoutRows } from '../../model/train-layout';
import { WeightCache, type CacheUsage } from '../../storage/weight-cache';
import { browserLocalFiles, hubModelFiles, localModelFiles, parseConfigText, type ModelFiles, type WeightFile } from '../../worker/model-files';

export const DEFAULT_REPO = 'Qwen/Qwen2.5-1.5B-Instruct';

export type LoadStatus = 'idle' | 'loading' | 'loaded' | 'cancelled' | 'error';

export interface Preview {
  name: string;
  config: Qwen2Config;
  weights: WeightFile[];
  totalBytes: number;
  downloadBytes: number;
  origin: ModelFiles['origin'];
}

export interface LoadProgress {
  phase: 'download' | 'weights' | 'tokenizer';
  bytesDone: number;
  bytesTotal: number;
  file?: string;
}

/** The default GRPO run's shape, for the training estimate. */
export const TRAINING_SHAPE = (() => {
  const c = DEFAULT_CONFIG;
  const numSequences = c.numGenerations * c.promptsPerStep;
  const microBatch = Math.ceil(numSequences / c.gradientAccumulationSteps);
  return {
    numSequences, seqLength: c.maxPromptLength + c.maxCompletionLength,
    microBatch, rows: maxLayoutRows(numSequences, microBatch, c.numGenerations, c.maxPromptLength, c.maxCompletionLength), loraRank: c.loraR, loraTargets: c.loraTargets,
  };
})();

function param(name: string): string | null {
  return typeof location === 'undefined' ? null : new URLSearchParams(location.search).get(name);
}

export class ModelState {
  repo = $state(param('repo') ?? DEFAULT_REPO);
  endpoint = $state(param('hub') ?? DEFAULT_ENDPOINT);
  revision = $state('main');
  token = $state('');
  source = $state<'hub' | 'files'>('hub');
  /** the picked or dropped folder (raw: File objects must not be proxied) */
  localFiles = $state.raw<File[]>([]);
  localName = $state('');
  linearFormat = $state<Formats['linearFormat']>('q4');
  embedFormat = $state<Formats['embedFormat']>('bf16');

  previewStatus = $state<'idle' | 'checking' | 'ready' | 'error'>('idle');
  preview = $state.raw<Preview | null>(null);
  previewError = $state<ErrorInfo | null>(null);

  status = $state<LoadStatus>('idle');
  progress = $state<LoadProgress | null>(null);
  /** this load downloaded something (else it came from the cache or a local folder) */
  downloaded = $state(false);
  /** where the loaded model's weights came from */
  loadedFrom = $state<'network' | 'cache' | 'folder' | null>(null);
  summary = $state.raw<ModelSummary | null>(null);
  error = $state<ErrorInfo | null>(null);
  loadSeconds = $state(0);

  /** null until read; `available` false where the browser has no OPFS */
  cache = $state.raw<CacheUsage | null>(null);
  cacheAvailable = $state(true);
  cacheError = $state<ErrorInfo | null>(null);

  readonly formats: Formats = $derived({ linearFormat: this.linearFormat, embedFormat: this.embedFormat });
  readonly chat: ChatPlan | null = $derived(this.preview ? chatPlan(this.preview.config, this.formats) : null);
  readonly training: MemoryEstimate | null = $derived(this.preview ? trainingPlan(this.preview.config, this.formats, TRAINING_SHAPE) : null);

  private checkSeq = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private client: WorkerClient, private gpu: GpuState) {
    client.subscribe((e) => {
      // a lost GPU device takes the model with it (the worker reports it with no command id)
      if (e.type === 'error' && e.id === null && e.error.name === 'DeviceLostError' && this.status === 'loaded') {
        this.summary = null;
        this.status = 'error';
        this.error = e.error;
      }
    });
  }

  /** The chat plan against the device's limits (null until the GPU is probed). */
  get fit(): DeviceFit | null {
    return this.chat && this.gpu.info ? checkChatFits(this.chat, this.gpu.info.limits as unknown as DeviceLimitsLike) : null;
  }

  /** Re-reads the preview after the inputs stop changing for `ms`. */
  scheduleCheck(ms = 500): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), ms);
  }

  /** Reads config.json and the weight file list (from the cache when there): no weights are downloaded. */
  async check(): Promise<void> {
    const seq = ++this.checkSeq;
    this.previewStatus = 'checking';
    this.previewError = null;
    try {
      const files = await this.files();
      const config = parseConfigText(files.configText);
      if (seq !== this.checkSeq) return;
      const totalBytes = files.weights.reduce((n, w) => n + w.size, 0);
      this.preview = { name: files.name, config, weights: files.weights, totalBytes, downloadBytes: files.downloadBytes, origin: files.origin };
      this.previewStatus = 'ready';
    } catch (e) {
      if (seq !== this.checkSeq) return;
      this.preview = null;
      this.previewError = toErrorInfo(e);
      this.previewStatus = 'error';
    }
  }

  private async files(): Promise<ModelFiles> {
    if (this.source === 'files') {
      if (!this.localFiles.length) throw Object.assign(new Error('no folder picked yet'), { name: 'NoFolder', hint: 'pick a folder or drop one on the drop zone' });
      return localModelFiles(browserLocalFiles(this.localFiles), this.localName || undefined);
    }
    return hubModelFiles(this.hubSpec(), { cache: await WeightCache.open(), write: false, retries: 1 });
  }

  private hubSpec() {
    return { repo: this.repo.trim(), endpoint: this.endpoint.trim() || DEFAULT_ENDPOINT, revision: this.revision.trim() || 'main', token: this.token.trim() || undefined };
  }

  /** A picked or dropped folder becomes the source. */
  setFolder(files: File[], name: string): void {
    this.localFiles = files;
    this.localName = name;
    this.source = 'files';
    void this.check();
  }

  async load(): Promise<void> {
    if (this.status === 'loading') return;
    this.status = 'loading';
    this.error = null;
    this.summary = null;
    this.downloaded = false;
    this.progress = null;
    const t0 = performance.now();
    const source = this.source === 'files'
      ? { kind: 'files' as const, files: [...this.localFiles], name: this.localName || undefined }
      : { kind: 'hub' as const, ...this.hubSpec() };
    try {
      const ev = await this.client.request({ type: 'load-model', source, linearFormat: this.linearFormat, embedFormat: this.embedFormat }, 'model-loaded', (e) => {
        if (e.type !== 'load-progress') return;
        if (e.phase === 'download') this.downloaded = true;
        this.progress = { phase: e.phase, bytesDone: e.bytesDone, bytesTotal: e.bytesTotal, file: e.file };
      });
      this.summary = ev.summary;
      // with OPFS the worker downloads into the cache first (download events), so none means a cache hit
      this.loadedFrom = source.kind === 'files' ? 'folder' : this.cacheAvailable && !this.downloaded ? 'cache' : 'network';
      this.loadSeconds = (performance.now() - t0) / 1000;
      this.status = 'loaded';
    } catch (e) {
      const info = toErrorInfo(e);
      this.status = /aborted/.test(info.message) ? 'cancelled' : 'error';
      this.error = this.status === 'error' ? info : null;
    } finally {
      this.progress = null;
      void this.refreshCache();
      if (this.source === 'hub') void this.check(); // the download size is now 0
    }
  }

  async cancel(): Promise<void> {
    await this.client.request({ type: 'cancel-load' }, 'ok');
  }

  async unload(): Promise<void> {
    try {
      await this.client.request({ type: 'unload-model' }, 'ok');
      this.summary = null;
      this.status = 'idle';
    } catch (e) {
      this.error = toErrorInfo(e);
    }
  }

  async refreshCache(): Promise<void> {
    try {
      const cache = await WeightCache.open();
      this.cacheAvailable = cache !== null;
      this.cache = cache ? await cache.usage() : null;
      this.cacheError = null;
    } catch (e) {
      this.cacheError = toErrorInfo(e);
    }
  }

  async clearCache(): Promise<void> {
    try {
      await (await WeightCache.open())?.clear();
      this.cacheError = null;
    } catch (e) {
      this.cacheError = toErrorInfo(e);
    }
    await this.refreshCache();
    if (this.source === 'hub') void this.check();
  }
}
