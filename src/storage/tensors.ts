// Tensor sets on disk: F32 tensors laid end to end in one byte stream, cut into chunk records of at
// most chunkBytes. writeVersioned is the atomic-replace protocol: write every chunk of the new
// version under fresh keys, read them back, switch the small pointer record with one `set`, and only
// then delete the previous version's chunks. readTensorSet checks presence, sizes and checksums.

import { checksum32 } from './checksum';
import type { StoreContext } from './context';
import { CorruptRecordError, StorageError, fmtBytes, readError, writeError } from './errors';
import { chunkKey, newId } from './keys';
import type { ChunkRef, TensorEntry, TensorSetRef } from './schema';

/** A tensor to store: a bare Float32Array is stored with shape [length]. */
export type TensorInput = Float32Array | { data: Float32Array; shape: number[] };

export interface Layout {
  entries: TensorEntry[];
  views: Uint8Array[];
  totalBytes: number;
}

/** Index entries (offsets in stream order) and byte views of the inputs; checks shapes (pure). */
export function layoutTensors(tensors: Iterable<[string, TensorInput]>): Layout {
  const entries: TensorEntry[] = [];
  const views: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const data = t instanceof Float32Array ? t : t.data;
    const shape = t instanceof Float32Array ? [t.length] : [...t.shape];
    if (!(data instanceof Float32Array)) {
      throw new StorageError(`tensor '${name}' is not a Float32Array`, 'storage keeps F32 tensors only; convert before saving');
    }
    const numel = shape.reduce((a, b) => a * b, 1);
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0) || numel !== data.length) {
      throw new StorageError(`tensor '${name}' has shape [${shape.join(', ')}] (${numel} elements) but ${data.length} values`,
        'pass {data, shape} with a shape whose product is data.length');
    }
    entries.push({ name, dtype: 'F32', shape, byteLength: data.byteLength, offset });
    views.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    offset += data.byteLength;
  }
  return { entries, views, totalBytes: offset };
}

/** Byte ranges [start, end) of the chunks of a stream (pure). */
export function planChunks(totalBytes: number, chunkBytes: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let s = 0; s < totalBytes; s += chunkBytes) out.push([s, Math.min(totalBytes, s + chunkBytes)]);
  return out;
}

/** Copies the overlap of [start, end) of the stream between `chunk` and each tensor. toChunk: direction. */
function copyRange(entries: TensorEntry[], views: Uint8Array[], chunk: Uint8Array, start: number, toChunk: boolean): void {
  const end = start + chunk.byteLength;
  for (let j = 0; j < entries.length; j++) {
    const eo = entries[j].offset;
    const ee = eo + entries[j].byteLength;
    if (ee <= start || eo >= end) continue;
    const a = Math.max(start, eo);
    const b = Math.min(end, ee);
    if (toChunk) chunk.set(views[j].subarray(a - eo, b - eo), a - start);
    else views[j].set(chunk.subarray(a - start, b - start), a - eo);
  }
}

async function bestEffortDelete(ctx: StoreContext, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  try { await ctx.backend.delMany(keys); } catch { /* left for sweepOrphans */ }
}

/** Writes the chunks of one version; on any failure deletes what it wrote and throws. */
async function writeChunks(ctx: StoreContext, owner: string, writeId: string, layout: Layout, what: string): Promise<ChunkRef[]> {
  const ranges = planChunks(layout.totalBytes, ctx.chunkBytes);
  const refs: ChunkRef[] = [];
  try {
    for (let i = 0; i < ranges.length; i++) {
      const [s, e] = ranges[i];
      const bytes = new Uint8Array(e - s);
      copyRange(layout.entries, layout.views, bytes, s, true);
      const ref = { key: chunkKey(owner, writeId, i), byteLength: bytes.byteLength, checksum: checksum32(bytes) };
      try {
        await ctx.backend.set(ref.key, bytes.buffer);
      } catch (err) {
        throw writeError(err, `writing chunk ${i + 1}/${ranges.length} of ${what}`, layout.totalBytes);
      }
      refs.push(ref);
    }
    if (ctx.verifyWrites) await verifyChunks(ctx, refs, what);
    return refs;
  } catch (err) {
    await bestEffortDelete(ctx, refs.map((r) => r.key));
    throw err;
  }
}

/** Reads chunks back one at a time and compares sizes and checksums with what was written. */
async function verifyChunks(ctx: StoreContext, refs: ChunkRef[], what: string): Promise<void> {
  for (let i = 0; i < refs.length; i++) {
    const v = await ctx.backend.get(refs[i].key).catch((e: unknown) => { throw readError(e, `verifying ${what}`); });
    const problem = chunkProblem(v, refs[i], i, refs.length);
    if (problem) {
      throw new StorageError(`write of ${what} did not verify: ${problem}`,
        'the previous version is kept; retry the save, and reload the tab if it fails again');
    }
  }
}

/** Why a stored value does not match its ChunkRef, or null when it does. */
function chunkProblem(v: unknown, ref: ChunkRef, i: number, n: number): string | null {
  if (v === undefined) return `chunk ${i + 1}/${n} (${ref.key}) is missing`;
  if (!(v instanceof ArrayBuffer) && Object.prototype.toString.call(v) !== '[object ArrayBuffer]') {
    return `chunk ${i + 1}/${n} (${ref.key}) is not an ArrayBuffer`;
  }
  const buf = v as ArrayBuffer;
  if (buf.byteLength !== ref.byteLength) return `chunk ${i + 1}/${n} (${ref.key}) has ${buf.byteLength} bytes, index says ${ref.byteLength}`;
  const sum = checksum32(new Uint8Array(buf));
  if (sum !== ref.checksum) return `chunk ${i + 1}/${n} (${ref.key}) checksum ${hex(sum)} != ${hex(ref.checksum)} in index`;
  return null;
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

export interface VersionedWrite<M> {
  owner: string;
  pointerKey: string;
  layout: Layout;
  /** builds the pointer record from where the new version's bytes are */
  makePointer(ref: TensorSetRef): M;
  /** chunk keys of the version being replaced (deleted after the commit) */
  oldChunks: string[];
  /** for messages, e.g. "adapter 'x' v3" */
  what: string;
}

/** The atomic-replace protocol; returns the committed pointer record. */
export async function writeVersioned<M extends { writeId: string }>(ctx: StoreContext, w: VersionedWrite<M>): Promise<M> {
  const writeId = newId();
  return ctx.withWrite(writeId, async () => {
    const chunks = await writeChunks(ctx, w.owner, writeId, w.layout, w.what);
    const pointer = w.makePointer({ writeId, tensors: w.layout.entries, chunks, totalBytes: w.layout.totalBytes });
    try {
      await ctx.backend.set(w.pointerKey, pointer);
    } catch (err) {
      // A rejected set may still have committed (lost reply): only clean up if it did not.
      const now = (await ctx.backend.get(w.pointerKey).catch(() => undefined)) as { writeId?: unknown } | undefined;
      if (now?.writeId !== writeId) {
        await bestEffortDelete(ctx, chunks.map((c) => c.key));
        throw writeError(err, `committing ${w.what} (${fmtBytes(w.layout.totalBytes)} already written)`, w.layout.totalBytes);
      }
    }
    const fresh = new Set(chunks.map((c) => c.key));
    await bestEffortDelete(ctx, w.oldChunks.filter((k) => !fresh.has(k)));
    return pointer;
  });
}

/** Checks that an index is self-consistent (offsets contiguous, sizes add up); pure. */
export function indexProblem(ref: TensorSetRef): string | null {
  let off = 0;
  for (const t of ref.tensors) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (t.offset !== off) return `tensor '${t.name}' starts at byte ${t.offset}, expected ${off}`;
    if (t.dtype !== 'F32' || t.byteLength !== numel * 4) return `tensor '${t.name}' ${t.dtype}[${t.shape.join(', ')}] has ${t.byteLength} bytes`;
    off += t.byteLength;
  }
  if (off !== ref.totalBytes) return `tensors add up to ${off} bytes, totalBytes says ${ref.totalBytes}`;
  const inChunks = ref.chunks.reduce((a, c) => a + c.byteLength, 0);
  if (inChunks !== ref.totalBytes) return `chunks add up to ${inChunks} bytes, totalBytes says ${ref.totalBytes}`;
  return null;
}

/** Loads and verifies a tensor set; returns one Float32Array per index entry, in index order. */
export async function readTensorSet(ctx: StoreContext, pointerKey: string, ref: TensorSetRef): Promise<Float32Array[]> {
  const bad = indexProblem(ref);
  if (bad) throw new CorruptRecordError(pointerKey, bad);
  const outs = ref.tensors.map((t) => new Float32Array(t.byteLength / 4));
  const views = outs.map((o) => new Uint8Array(o.buffer));
  let start = 0;
  for (let i = 0; i < ref.chunks.length; i++) {
    const c = ref.chunks[i];
    const v = await ctx.backend.get(c.key).catch((e: unknown) => { throw readError(e, `loading ${pointerKey}`); });
    const problem = chunkProblem(v, c, i, ref.chunks.length);
    if (problem) throw new CorruptRecordError(pointerKey, problem);
    copyRange(ref.tensors, views, new Uint8Array(v as ArrayBuffer), start, false);
    start += c.byteLength;
  }
  return outs;
}
