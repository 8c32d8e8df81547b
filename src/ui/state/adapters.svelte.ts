// The adapter library shown by AdaptersPanel: stored adapters (IndexedDB, read here on the main
// thread), storage used vs quota, persistence, export (stored or active adapter; .zip or the two
// PEFT files) and import (files or a hub repo) into the library, optionally made active in the worker.
import type { Event } from '../../worker/protocol';
import type { WorkerClient } from '../worker-client';
import type { ErrorInfo } from '../../gpu/errors';
import { toErrorInfo } from '../../gpu/errors';
import type { AdapterMeta } from '../../storage/schema';
import type { QuotaEstimate, Storage, UsageReport } from '../../storage/store';
import { toFloat32 } from '../../formats/safetensors';
import { peftWarnings } from '../../lora/check';
import { CONFIG_FILE, README_FILE, WEIGHTS_FILE, buildPeftZip, configBytes, modelCard, peftFilesFromTensors, readPeftUpload, type PeftBundle } from '../../lora/files';
import { fetchHubAdapter } from '../../lora/hub-adapter';
import { isLoraTarget } from '../../lora/targets';
import { saveFile, saveFiles, type FileToSave } from '../save-files';

/** What the panel needs of the worker client (a test page passes a stand-in). */
export type AdapterClient = Pick<WorkerClient, 'request' | 'subscribe'>;

export type ExportFormat = 'zip' | 'files';

export interface ActiveAdapter {
  name: string | null;
  r: number;
  alpha: number;
  targets: string[];
}

export interface Notice {
  kind: 'ok' | 'warn';
  text: string;
  /** e.g. the r > 16 vLLM warning */
  details: string[];
}

/** "adapter" → a file-name-safe stem. */
export function fileStem(name: string): string {
  return name.trim().replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'adapter';
}

/** The files of an export: one .zip, or adapter_config.json + adapter_model.safetensors (+ README.md). */
export function exportFiles(stem: string, config: Record<string, unknown>, safetensors: Uint8Array, readme: string, format: ExportFormat): FileToSave[] {
  if (format === 'zip') return [{ name: `${stem}.zip`, bytes: buildPeftZip({ config, safetensors, readme }), type: 'application/zip' }];
  return [
    { name: CONFIG_FILE, bytes: configBytes(config), type: 'application/json' },
    { name: WEIGHTS_FILE, bytes: safetensors },
    { name: README_FILE, bytes: new TextEncoder().encode(readme), type: 'text/markdown' },
  ];
}

export class AdaptersState {
  list = $state<AdapterMeta[]>([]);
  loaded = $state(false);
  usage = $state<UsageReport | null>(null);
  quota = $state<QuotaEstimate | null>(null);
  /** the answer to the last "keep data persistent" request */
  persistResult = $state<boolean | null>(null);
  active = $state<ActiveAdapter | null>(null);
  /** what is running now, for a status line (null when idle) */
  busy = $state<string | null>(null);
  error = $state<ErrorInfo | null>(null);
  notice = $state<Notice | null>(null);

  private storage: Promise<Storage>;
  private unsubscribe: () => void;

  constructor(private client: AdapterClient, storage: Storage | Promise<Storage>, private opts: { hubEndpoint?: string } = {}) {
    this.storage = Promise.resolve(storage);
    this.unsubscribe = client.subscribe((e: Event) => {
      if (e.type === 'adapter-active') this.active = e.name === null && e.r === 0 ? null : { name: e.name, r: e.r, alpha: e.alpha, targets: e.targets };
    });
  }

  destroy(): void {
    this.unsubscribe();
  }

  /** Runs one user action: shows it as busy, turns failures into `error`. */
  private async run<T>(what: string, fn: () => Promise<T>, clearNotice = true): Promise<T | undefined> {
    this.busy = what;
    this.error = null;
    if (clearNotice) this.notice = null;
    try {
      return await fn();
    } catch (e) {
      this.error = toErrorInfo(e);
      return undefined;
    } finally {
      this.busy = null;
    }
  }

  async refresh(): Promise<void> {
    await this.run('Reading the library…', () => this.reload(), false);
  }

  private async reload(): Promise<void> {
    const s = await this.storage;
    const [list, usage, quota] = await Promise.all([s.listAdapters(), s.usage(), s.estimateQuota()]);
    this.list = list;
    this.usage = usage;
    this.quota = quota;
    this.loaded = true;
  }

  async rename(id: string, name: string): Promise<boolean> {
    const ok = await this.run('Renaming…', async () => {
      const meta = await (await this.storage).renameAdapter(id, name.trim());
      this.list = this.list.map((m) => (m.id === id ? meta : m));
      return true;
    });
    return ok === true;
  }

  async remove(id: string): Promise<void> {
    const name = this.list.find((m) => m.id === id)?.name ?? id;
    await this.run('Deleting…', async () => {
      await (await this.storage).deleteAdapter(id);
      this.notice = { kind: 'ok', text: `Deleted “${name}”.`, details: [] };
      await this.reload();
    });
  }

  async persist(): Promise<void> {
    await this.run('Asking the browser to keep data…', async () => {
      const s = await this.storage;
      this.persistResult = await s.requestPersistence();
      this.quota = await s.estimateQuota();
    });
  }

  /** Exports a stored adapter (read from IndexedDB; no GPU needed). */
  async exportStored(id: string, format: ExportFormat): Promise<void> {
    await this.run('Preparing the export…', async () => {
      const { meta, tensors } = await (await this.storage).loadAdapter(id);
      const targets = meta.targetModules.filter(isLoraTarget);
      const shaped = meta.tensors.map((t) => [t.name, { data: tensors.get(t.name)!, shape: t.shape }] as [string, { data: Float32Array; shape: number[] }]);
      const { config, safetensors } = peftFilesFromTensors({ r: meta.r, alpha: meta.alpha, targets }, meta.baseModelId, shaped);
      const settings = { r: meta.r, alpha: meta.alpha, targets, baseModel: meta.baseModelId || null };
      const readme = modelCard(settings, { name: meta.name, step: meta.step, metricSummary: meta.metricSummary, trainingConfig: meta.trainingConfig });
      await this.save(meta.name, exportFiles(fileStem(meta.name), config, safetensors, readme, format), peftWarnings(settings));
    });
  }

  /** Exports the adapter active in the worker (read back from the GPU there). */
  async exportActive(format: ExportFormat): Promise<void> {
    await this.run('Reading the active adapter from the GPU…', async () => {
      const ev = await this.client.request({ type: 'export-adapter' }, 'adapter-exported');
      const c = ev.config;
      const targets = (Array.isArray(c.target_modules) ? c.target_modules : []).map(String).filter(isLoraTarget);
      const settings = { r: Number(c.r), alpha: Number(c.lora_alpha), targets, baseModel: typeof c.base_model_name_or_path === 'string' ? c.base_model_name_or_path : null };
      const name = this.active?.name ?? 'active-adapter';
      await this.save(name, exportFiles(fileStem(name), c, new Uint8Array(ev.safetensors), modelCard(settings, { name }), format), ev.warnings);
    });
  }

  private async save(name: string, files: FileToSave[], warnings: string[]): Promise<void> {
    const saved = files.length === 1 ? await saveFile(files[0]) : await saveFiles(files);
    this.notice = saved
      ? { kind: warnings.length ? 'warn' : 'ok', text: `Exported “${name}” (${files.map((f) => f.name).join(', ')}).`, details: warnings }
      : { kind: 'ok', text: 'Export cancelled.', details: [] };
  }

  /** Imports picked files (.zip, or the two PEFT files) into the library. */
  async importFiles(files: File[], activate: boolean): Promise<void> {
    await this.run('Reading the files…', async () => {
      const named = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
      const zip = files.find((f) => /\.zip$/i.test(f.name));
      const name = zip ? zip.name.replace(/\.zip$/i, '') : readPeftUploadName(files);
      await this.store(name, readPeftUpload(named), { source: 'files', files: files.map((f) => f.name) }, activate);
    });
  }

  /** Imports `{repo}/adapter_config.json` + `adapter_model.safetensors` from the Hugging Face hub. */
  async importHub(repo: string, activate: boolean, revision?: string): Promise<void> {
    await this.run(`Downloading ${repo}…`, async () => {
      const bundle = await fetchHubAdapter(repo.trim(), { endpoint: this.opts.hubEndpoint, revision: revision || undefined });
      await this.store(repo.trim(), bundle, { source: 'hub', repo: repo.trim(), revision: revision || 'main' }, activate);
    });
  }

  private async store(name: string, b: PeftBundle, source: Record<string, unknown>, activate: boolean): Promise<void> {
    const tensors = new Map<string, { data: Float32Array; shape: number[] }>();
    for (const [k, t] of b.tensors) tensors.set(k, { data: toFloat32(t.dtype, t.bytes), shape: t.shape });
    const s = await this.storage;
    const meta = await s.saveAdapter({
      name, baseModelId: b.settings.baseModel ?? '', baseWeightsHash: '', r: b.settings.r, alpha: b.settings.alpha,
      targetModules: b.settings.targets, trainingConfig: { imported: source }, step: 0, metricSummary: {},
    }, tensors);
    this.notice = { kind: b.warnings.length ? 'warn' : 'ok', text: `Imported “${name}” (r ${b.settings.r}, ${b.layout.tensorCount} tensors).`, details: b.warnings };
    await this.reload();
    if (activate) await this.client.request({ type: 'load-stored-adapter', adapterId: meta.id }, 'adapter-active');
  }

  /** Makes a stored adapter the active one in the worker (needs a loaded model). */
  async activate(id: string): Promise<void> {
    await this.run('Loading the adapter onto the GPU…', async () => {
      const e = await this.client.request({ type: 'load-stored-adapter', adapterId: id }, 'adapter-active');
      if (e.warnings?.length) this.notice = { kind: 'warn', text: `“${e.name}” is active, with a warning.`, details: e.warnings };
    });
  }

  async clearActive(): Promise<void> {
    await this.run('Removing the active adapter…', async () => {
      await this.client.request({ type: 'clear-adapter' }, 'adapter-active');
      this.active = null;
    });
  }
}

function readPeftUploadName(files: File[]): string {
  const rel = (files[0] as File & { webkitRelativePath?: string } | undefined)?.webkitRelativePath;
  return rel && rel.includes('/') ? rel.split('/')[0] : 'imported adapter';
}
