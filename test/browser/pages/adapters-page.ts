// Test page (built by test/helpers/test-pages.ts, never part of the app): exposes `window.tz` so
// browser tests can mount AdaptersPanel with a stand-in worker client and real IndexedDB storage,
// and drive storage/ directly (save, injected write failures, a write left running across a reload).
import { mount } from 'svelte';
import '../../../src/ui/theme.css';
import AdaptersPanel from '../../../src/ui/panels/AdaptersPanel.svelte';
import { openStorage, type Storage } from '../../../src/storage/store';
import { idbBackend, type StorageBackend } from '../../../src/storage/backend';
import { checksum32 } from '../../../src/storage/checksum';
import { peftFilesFromTensors } from '../../../src/lora/files';
import { peftWarnings } from '../../../src/lora/check';
import type { Command, Event } from '../../../src/worker/protocol';
import type { AdapterClient } from '../../../src/ui/state/adapters.svelte';

/** Deterministic floats (same on every call), so a reloaded page can check what it reads. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = s / 2 ** 31 - 1; }
  return out;
}

const loraKey = (l: number, w: 'A' | 'B') => `base_model.model.model.layers.${l}.self_attn.q_proj.lora_${w}.weight`;

/** A q_proj-only adapter tensor set of about `bytes` bytes (r rows of width K per layer). */
function tensors(seed: number, r: number, layers = 2, K = 64): Map<string, { data: Float32Array; shape: number[] }> {
  const m = new Map<string, { data: Float32Array; shape: number[] }>();
  for (let l = 0; l < layers; l++) {
    m.set(loraKey(l, 'A'), { data: values(r * K, seed + 2 * l), shape: [r, K] });
    m.set(loraKey(l, 'B'), { data: values(K * r, seed + 2 * l + 1), shape: [K, r] });
  }
  return m;
}

const fields = (name: string, r: number, step = 0) => ({
  name, baseModelId: 'Qwen/Qwen2.5-1.5B-Instruct', baseWeightsHash: '', r, alpha: 2 * r, targetModules: ['q_proj'],
  trainingConfig: { lr: 5e-6 }, step, metricSummary: { reward: 0.5 },
});

/** Wraps a backend: counts chunk writes (window.tzProgress), fails write `failAt`, never finishes write `holdAt` (a page closed mid-write). */
function instrumented(inner: StorageBackend, opts: { failAt?: number; holdAt?: number }): StorageBackend & { chunkWrites: number } {
  const b = {
    chunkWrites: 0,
    get: (k: string) => inner.get(k), getMany: (ks: string[]) => inner.getMany(ks), del: (k: string) => inner.del(k),
    delMany: (ks: string[]) => inner.delMany(ks), keys: () => inner.keys(), setMany: (es: [string, unknown][]) => inner.setMany(es),
    async set(k: string, v: unknown) {
      if (k.startsWith('chunk:')) {
        b.chunkWrites++;
        (window as unknown as { tzProgress: number }).tzProgress = b.chunkWrites;
        if (opts.failAt === b.chunkWrites) throw new Error(`injected failure at chunk write ${b.chunkWrites}`);
        if (opts.holdAt === b.chunkWrites) await new Promise(() => {}); // stays in flight until the page goes
      }
      return inner.set(k, v);
    },
  };
  return b;
}

async function contentSum(s: Storage, id: string): Promise<{ version: number; sum: number; bytes: number }> {
  const { meta, tensors: t } = await s.loadAdapter(id);
  let sum = 0;
  for (const e of meta.tensors) sum = (sum + checksum32(new Uint8Array(t.get(e.name)!.buffer))) >>> 0;
  return { version: meta.version, sum, bytes: meta.totalBytes };
}

function expectedSum(seed: number, r: number, layers: number): number {
  let sum = 0;
  for (const t of tensors(seed, r, layers).values()) sum = (sum + checksum32(new Uint8Array(t.data.buffer))) >>> 0;
  return sum;
}

/** A stand-in for the worker: answers adapter commands and records them. */
function fakeClient(): AdapterClient & { commands: string[] } {
  const listeners = new Set<(e: Event) => void>();
  const emit = (e: Event) => listeners.forEach((fn) => fn(e));
  let id = 1000;
  const client = {
    commands: [] as string[],
    subscribe(fn: (e: Event) => void) { listeners.add(fn); return () => listeners.delete(fn); },
    async request(cmd: Omit<Command, 'id'>): Promise<never> {
      client.commands.push(cmd.type);
      const n = id++;
      let ev: Event;
      if (cmd.type === 'export-adapter') {
        const f = peftFilesFromTensors({ r: 32, alpha: 64, targets: ['q_proj'] }, 'Qwen/Qwen2.5-1.5B-Instruct', tensors(5, 32));
        const buf = f.safetensors.slice().buffer;
        ev = { type: 'adapter-exported', id: n, config: f.config, safetensors: buf, warnings: peftWarnings({ r: 32, baseModel: 'x' }) };
      } else if (cmd.type === 'load-stored-adapter') {
        ev = { type: 'adapter-active', id: n, name: 'countdown-r32', r: 32, alpha: 64, targets: ['q_proj'] };
      } else if (cmd.type === 'clear-adapter') {
        ev = { type: 'adapter-active', id: n, name: null, r: 0, alpha: 0, targets: [] };
      } else throw Object.assign(new Error(`unexpected ${cmd.type}`), { hint: 'test page' });
      emit(ev);
      return ev as never;
    },
  };
  return client;
}

const tz = {
  /** Seeds a database with a few adapters and mounts the panel on it. */
  async mountPanel(dbName: string, hubEndpoint?: string): Promise<void> {
    const s = await openStorage({ dbName });
    for (const [name, r, step] of [['countdown-r8', 8, 120], ['gsm8k-r16', 16, 300], ['countdown-r32', 32, 480]] as const) await s.saveAdapter(fields(name, r, step), tensors(r, r));
    const client = fakeClient();
    (window as unknown as { tzClient: typeof client }).tzClient = client;
    mount(AdaptersPanel, { target: document.getElementById('app')!, props: { client, storage: s, hubEndpoint } });
  },

  /** Saves version 1 of an adapter (r rows × 64, `layers` layers); returns its id and checksum. */
  async saveV1(dbName: string, r: number, layers: number, chunkBytes: number) {
    const s = await openStorage({ dbName, chunkBytes });
    const meta = await s.saveAdapter(fields('precious', r), tensors(1, r, layers));
    return { id: meta.id, ...(await contentSum(s, meta.id)), expected: expectedSum(1, r, layers) };
  },

  /** Writes version 2 through a backend that fails at chunk write `failAt`; returns the error and v1's state. */
  async failingUpdate(dbName: string, id: string, r: number, layers: number, failAt: number, chunkBytes: number) {
    const backend = instrumented(idbBackend({ dbName }), { failAt });
    const s = await openStorage({ dbName, backend, chunkBytes });
    const err = await s.updateAdapter(id, tensors(2, r, layers)).then(() => null, (e: Error & { hint?: string }) => ({ name: e.name, message: e.message, hint: e.hint ?? '' }));
    const chunks = (await idbBackend({ dbName }).keys()).filter((k) => k.startsWith('chunk:')).length;
    return { err, after: await contentSum(s, id), chunkKeys: chunks, referenced: (await s.listAdapters()).find((m) => m.id === id)!.chunks.length };
  },

  /** Starts writing version 2 and does not wait: chunk write `holdAt` never finishes, and the test reloads the page while it hangs. */
  async startBigUpdate(dbName: string, id: string, r: number, layers: number, chunkBytes: number, holdAt: number): Promise<void> {
    const backend = instrumented(idbBackend({ dbName }), { holdAt });
    const s = await openStorage({ dbName, backend, chunkBytes });
    (window as unknown as { tzProgress: number }).tzProgress = 0;
    void s.updateAdapter(id, tensors(3, r, layers)).then(() => { (window as unknown as { tzDone: boolean }).tzDone = true; });
  },

  /** After a reload: orphans seen before opening, what the sweep at open removed, and the adapter's state. */
  async afterReload(dbName: string, id: string) {
    const raw = idbBackend({ dbName });
    const keys = await raw.keys();
    const pointer = (await raw.get(`adapter:${id}`)) as { chunks: { key: string }[] };
    const referenced = new Set(pointer.chunks.map((c) => c.key));
    const orphansBefore = keys.filter((k) => k.startsWith('chunk:') && !referenced.has(k)).length;
    const s = await openStorage({ dbName });
    const left = (await raw.keys()).filter((k) => k.startsWith('chunk:') && !referenced.has(k)).length;
    return { orphansBefore, sweptAtOpen: s.openSweep.chunksDeleted, orphansAfter: left, adapter: await contentSum(s, id) };
  },
};

(window as unknown as { tz: typeof tz }).tz = tz;
document.body.dataset.ready = 'true';
