// Test helpers for storage/: an isolated fake-indexeddb per test, a backend wrapper that records
// reads/writes and injects failures (quota, crash) on the Nth matching write, and seeded tensors.

import { IDBFactory } from 'fake-indexeddb';
import { idbBackend, type StorageBackend } from '../../src/storage/backend';
import type { AdapterFields } from '../../src/storage/schema';
import { openStorage, type OpenStorageOptions, type Storage } from '../../src/storage/store';

export type FailMode = 'quota' | 'crash' | 'error';

/** Wraps a backend: logs keys read and written; can fail the Nth write whose key matches. */
export class TestBackend implements StorageBackend {
  reads: string[] = [];
  writes: string[] = [];
  setManyCalls: Array<[string, unknown][]> = [];
  private arm: { n: number; mode: FailMode; match: (k: string) => boolean } | null = null;
  private dead = false;

  /** replaceable, so a test can slow down or intercept the real backend */
  constructor(public inner: StorageBackend) {}

  /** The nth (1-based) write from now whose key matches fails; 'crash' also kills every later call. */
  failOnWrite(n: number, mode: FailMode, match: (k: string) => boolean = (k) => k.startsWith('chunk:')): void {
    this.arm = { n, mode, match };
  }

  private alive(): void {
    if (this.dead) throw new Error('simulated crash: the tab is gone');
  }

  private maybeFail(key: string): void {
    this.alive();
    if (!this.arm || !this.arm.match(key)) return;
    if (--this.arm.n > 0) return;
    const mode = this.arm.mode;
    this.arm = null;
    if (mode === 'quota') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    if (mode === 'crash') { this.dead = true; throw new Error('simulated crash: the tab is gone'); }
    throw new Error(`injected write failure on ${key}`);
  }

  async get(key: string): Promise<unknown> { this.alive(); this.reads.push(key); return this.inner.get(key); }
  async getMany(keys: string[]): Promise<unknown[]> { this.alive(); this.reads.push(...keys); return this.inner.getMany(keys); }
  async set(key: string, value: unknown): Promise<void> { this.maybeFail(key); this.writes.push(key); return this.inner.set(key, value); }
  async setMany(entries: [string, unknown][]): Promise<void> {
    for (const [k] of entries) this.maybeFail(k);
    this.writes.push(...entries.map(([k]) => k));
    this.setManyCalls.push(entries);
    return this.inner.setMany(entries);
  }
  async del(key: string): Promise<void> { this.alive(); return this.inner.del(key); }
  async delMany(keys: string[]): Promise<void> { this.alive(); return this.inner.delMany(keys); }
  async keys(): Promise<string[]> { this.alive(); return this.inner.keys(); }
}

export interface TestDb {
  factory: IDBFactory;
  dbName: string;
  /** a new raw backend on the same database (what a reopened tab would see) */
  raw(): StorageBackend;
  /** opens Storage over a fresh TestBackend on this database */
  open(opts?: OpenStorageOptions): Promise<{ storage: Storage; backend: TestBackend }>;
}

let dbCounter = 0;

/** A private in-memory IndexedDB (own IDBFactory) so tests never share state. */
export function testDb(defaults: OpenStorageOptions = {}): TestDb {
  const factory = new IDBFactory();
  const dbName = `test-${++dbCounter}`;
  const raw = (): StorageBackend => idbBackend({ dbName, indexedDB: factory as unknown as globalThis.IDBFactory });
  return {
    factory, dbName, raw,
    open: async (opts = {}) => {
      const backend = new TestBackend(raw());
      const storage = await openStorage({ dbName, backend, chunkBytes: 1024, locks: null, storageManager: null, ...defaults, ...opts });
      return { storage, backend };
    },
  };
}

/** Deterministic values (mulberry32), including a few special floats when `special`. */
export function seeded(n: number, seed: number, special = false): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5) * 2;
  }
  if (special && n >= 4) {
    const bits = new Uint32Array(out.buffer);
    bits[0] = 0x7fc01234; // NaN with a payload
    bits[1] = 0x80000000; // -0
    bits[2] = 0x00000001; // smallest subnormal
    bits[3] = 0x7f800000; // +Inf
  }
  return out;
}

/** Bit-level equality (NaN payloads and -0 included). */
export function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

export function adapterFields(name = 'countdown-r16'): AdapterFields {
  return {
    name, baseModelId: 'Qwen/Qwen2.5-1.5B-Instruct', baseWeightsHash: 'sha256:abc123', r: 4, alpha: 8,
    targetModules: ['q_proj', 'v_proj'], trainingConfig: { lr: 1e-5, beta: 0.04, groupSize: 8 }, step: 10,
    metricSummary: { reward: 0.42 },
  };
}

/** A small LoRA-shaped tensor set: A [r, in] and B [out, r] for two layers (sizes cross 1 KiB chunks). */
export function loraTensors(seed: number, r = 4): Map<string, { data: Float32Array; shape: number[] }> {
  const m = new Map<string, { data: Float32Array; shape: number[] }>();
  [0, 1].forEach((layer) => {
    const base = `base_model.model.model.layers.${layer}.self_attn.q_proj`;
    m.set(`${base}.lora_A.weight`, { data: seeded(r * 160, seed + layer * 2, layer === 0), shape: [r, 160] });
    m.set(`${base}.lora_B.weight`, { data: seeded(96 * r, seed + layer * 2 + 1), shape: [96, r] });
  });
  m.set('tiny', { data: seeded(3, seed + 99), shape: [3] });
  return m;
}

export const chunkKeys = (keys: string[]): string[] => keys.filter((k) => k.startsWith('chunk:'));
