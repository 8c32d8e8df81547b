// Recorder: collects the dispatches of one submission into a single compute pass. Kernel
// parameters go into one uniform arena (one writeBuffer per submit); binding 0 of every kernel is
// its uniform block, bindings 1..n its storage buffers, in the order the kernel declares them.
// A run of commands can be captured once and replayed in later recorders (a decode step encodes the
// same few hundred dispatches every step: replaying skips the kernels' JavaScript, the parameter
// packing and the bind-group lookups, leaving three GPU calls per dispatch).
// Long submissions (a training pass: thousands of dispatches) can be cut into command buffers every
// `cutEvery` dispatches (RecorderOptions): submitted as they are cut, the GPU starts on the first
// while the rest is still encoded; with `defer`, held until submit() (encoded ahead, e.g. while the
// GPU runs earlier work, then submitted at once). Dawn records a command buffer's backend commands
// at its submit, so a cut one also lets the GPU run part k while part k + 1 is recorded.
import type { GpuContext } from './device';

export interface RecorderOptions {
  /** end the command buffer every this many dispatches (0: never, unless the uniform arena fills) */
  cutEvery?: number;
  /** keep the cut command buffers until submit() instead of submitting each as it is cut */
  defer?: boolean;
}

export type Binding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

type Op =
  | { kind: 'dispatch'; pipeline: GPUComputePipeline; group: GPUBindGroup; x: number; y: number; z: number }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number }
  | { kind: 'clear'; dst: GPUBuffer; offset: number; size?: number };

/** Commands recorded between beginCapture() and endCapture(), with their uniform bytes. */
export interface Capture {
  readonly ops: readonly Op[];
  /** the uniform arena bytes the ops' bind groups point at, from byte `at` */
  readonly uniforms: Uint8Array;
  readonly at: number;
  readonly dispatches: number;
}

const SLOT = 256; // minUniformBufferOffsetAlignment upper bound

export class Recorder {
  private enc: GPUCommandEncoder;
  private pass: GPUComputePassEncoder | null = null;
  private uniforms: Uint8Array<ArrayBuffer>;
  private used = 0;
  private arena: GPUBuffer;
  dispatches = 0;
  submits = 0;
  private captured: Op[] | null = null;
  private captureAt = 0;
  private dispatchesAtCapture = 0;
  // what the open pass has set: a repeated pipeline or bind group is not set again
  private lastPipeline: GPUComputePipeline | null = null;
  private lastGroup: GPUBindGroup | null = null;
  // timestamp writes for the next pass that opens (timed())
  private passTimestamps: GPUComputePassTimestampWrites | undefined;

  private cutEvery: number;
  private cutAt = 0; // dispatches at the last cut
  private held: Array<{ cmd: GPUCommandBuffer; uniforms: Uint8Array<ArrayBuffer> }> | null;

  constructor(private ctx: GpuContext, private label = 'step', opts: RecorderOptions = {}) {
    this.cutEvery = opts.cutEvery ?? 0;
    this.held = opts.defer ? [] : null;
    this.enc = ctx.device.createCommandEncoder({ label });
    this.arena = uniformArena(ctx);
    this.uniforms = spareStaging.pop() ?? new Uint8Array(STAGING_BYTES);
  }

  /**
   * Encodes one dispatch. `params` is the uniform block's bytes (null if the kernel has none);
   * buffers[i] goes to binding i + 1 (null: a binding this kernel variant does not declare).
   */
  dispatch(pipeline: GPUComputePipeline, params: ArrayBufferView | null, buffers: Array<Binding | null>, workgroups: [number, number?, number?]): void {
    let offset = -1;
    let size = 0;
    if (this.cutEvery > 0 && this.dispatches - this.cutAt >= this.cutEvery && !this.captured) this.flush();
    if (params) {
      if (this.used + SLOT > ARENA_BYTES) {
        if (this.captured) throw new Error(`Recorder: a capture outgrew the ${ARENA_BYTES}-byte uniform arena (${this.dispatches - this.dispatchesAtCapture} dispatches); hint: capture fewer dispatches`);
        this.flush(); // arena full: submit what we have
      }
      if (this.used + SLOT > this.uniforms.byteLength) this.growStaging();
      this.uniforms.set(new Uint8Array(params.buffer, params.byteOffset, params.byteLength), this.used);
      offset = this.used;
      size = Math.ceil(params.byteLength / 16) * 16;
      this.used += SLOT;
    }
    const group = bindGroup(this.ctx, pipeline, this.arena, offset, size, buffers);
    const x = workgroups[0], y = workgroups[1] ?? 1, z = workgroups[2] ?? 1;
    this.encodeDispatch(pipeline, group, x, y, z);
    this.captured?.push({ kind: 'dispatch', pipeline, group, x, y, z });
  }

  private encodeDispatch(pipeline: GPUComputePipeline, group: GPUBindGroup, x: number, y: number, z: number): void {
    if (!this.pass) {
      this.pass = this.enc.beginComputePass(this.passTimestamps ? { timestampWrites: this.passTimestamps } : undefined);
      this.passTimestamps = undefined; // only the first pass of a timed() body
    }
    const pass = this.pass;
    if (pipeline !== this.lastPipeline) { pass.setPipeline(pipeline); this.lastPipeline = pipeline; }
    if (group !== this.lastGroup) { pass.setBindGroup(0, group); this.lastGroup = group; }
    pass.dispatchWorkgroups(x, y, z);
    this.dispatches++;
  }

  /**
   * Encodes `body` in a compute pass of its own whose start and end GPU times go to queries `index`
   * and `index + 1` of a timestamp query set (benchmarks: a kernel's time on the GPU, without the
   * submission). Only the first pass counts: `body` should dispatch, not copy or clear. Throws where
   * `body` dispatched nothing (its queries would keep older values).
   */
  timed(querySet: GPUQuerySet, index: number, body: () => void): void {
    if (this.captured) throw new Error('Recorder: timed() inside a capture');
    this.endPass();
    this.passTimestamps = { querySet, beginningOfPassWriteIndex: index, endOfPassWriteIndex: index + 1 };
    try {
      body();
      if (this.passTimestamps) throw new Error(`Recorder: the timed body for queries ${index}, ${index + 1} dispatched nothing; hint: a timed body must dispatch at least one kernel`);
    } finally {
      this.endPass();
      this.passTimestamps = undefined;
    }
  }

  /** Starts recording the commands that follow (until endCapture) for replay. */
  beginCapture(): void {
    if (this.captured) throw new Error('Recorder: a capture is already open');
    this.captured = [];
    this.captureAt = this.used;
    this.dispatchesAtCapture = this.dispatches;
  }

  /** The commands since beginCapture(). Replay them in a recorder whose parameters have reached the same byte (a fresh one, when captured first). */
  endCapture(): Capture {
    const ops = this.captured;
    if (!ops) throw new Error('Recorder: endCapture without beginCapture');
    this.captured = null;
    return { ops, uniforms: this.uniforms.slice(this.captureAt, this.used), at: this.captureAt, dispatches: this.dispatches - this.dispatchesAtCapture };
  }

  /**
   * Encodes a capture again: its parameter bytes go to the same arena offsets its bind groups point
   * at, so this recorder must be at that offset (the same commands before it as when captured).
   * `each` (benchmarks) wraps the encoding of each dispatch, e.g. in a timed pass.
   */
  replay(c: Capture, each?: (dispatch: number, encode: () => void) => void): void {
    if (this.used !== c.at) throw new Error(`Recorder: a capture made at parameter byte ${c.at} replayed at byte ${this.used}; hint: replay it after the same commands as when it was captured`);
    if (this.captured) throw new Error('Recorder: replay inside a capture');
    while (this.used + c.uniforms.byteLength > this.uniforms.byteLength) this.growStaging();
    this.uniforms.set(c.uniforms, this.used);
    this.used += c.uniforms.byteLength;
    let d = 0;
    for (const op of c.ops) {
      if (op.kind === 'dispatch') {
        if (each) each(d++, () => this.encodeDispatch(op.pipeline, op.group, op.x, op.y, op.z));
        else this.encodeDispatch(op.pipeline, op.group, op.x, op.y, op.z); // the decode loop's path: no closure
      }
      else if (op.kind === 'copy') this.copy(op.src, op.srcOffset, op.dst, op.dstOffset, op.size);
      else this.clear(op.dst, op.offset, op.size);
    }
  }

  /** Zeroes `size` bytes of dst from `offset` (multiples of 4). */
  clear(dst: GPUBuffer, offset = 0, size?: number): void {
    this.endPass();
    this.enc.clearBuffer(dst, offset, size);
    this.captured?.push({ kind: 'clear', dst, offset, size });
  }

  /** Writes queries [first, first + count) of a query set as u64 into dst from dstOffset (a multiple of 256). */
  resolveQueries(querySet: GPUQuerySet, first: number, count: number, dst: GPUBuffer, dstOffset = 0): void {
    this.endPass();
    this.enc.resolveQuerySet(querySet, first, count, dst, dstOffset);
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.endPass();
    this.enc.copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
    this.captured?.push({ kind: 'copy', src, srcOffset, dst, dstOffset, size });
  }

  /**
   * Ends the pass, uploads the parameters and submits. Recorders may be recorded side by side:
   * each writes the shared arena at its own submit, and the queue orders writes and submissions.
   */
  submit(): void {
    if (this.captured) throw new Error('Recorder: submit inside a capture; hint: endCapture() first');
    this.endPass();
    const q = this.ctx.device.queue;
    if (this.held) {
      for (const h of this.held) {
        if (h.uniforms.byteLength) q.writeBuffer(this.arena, 0, h.uniforms);
        q.submit([h.cmd]);
        this.submits++;
      }
      this.held.length = 0;
    }
    if (this.used) q.writeBuffer(this.arena, 0, this.uniforms, 0, this.used); // (copied now: the staging is free after)
    q.submit([this.enc.finish()]);
    this.used = 0;
    this.submits++;
    this.releaseStaging();
  }

  /** Drops what is recorded, unsubmitted (benchmarks of encoding alone). */
  discard(): void {
    this.endPass();
    this.enc.finish();
    this.used = 0;
    if (this.held) this.held.length = 0;
    this.releaseStaging();
  }

  /**
   * Ends the command buffer and continues in a fresh encoder: submitted now, or (defer) held with
   * its parameter bytes until submit(). The queue keeps the order either way.
   */
  flush(): void {
    this.cutAt = this.dispatches;
    if (this.held) {
      this.endPass();
      this.held.push({ cmd: this.enc.finish(), uniforms: this.uniforms.slice(0, this.used) });
      this.used = 0;
    } else {
      this.submit();
    }
    this.enc = this.ctx.device.createCommandEncoder({ label: `${this.label}-cont` });
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
    this.lastPipeline = null;
    this.lastGroup = null;
  }

  private growStaging(): void {
    if (this.uniforms.byteLength === 0) { // released at a submit, used again
      this.uniforms = spareStaging.pop() ?? new Uint8Array(STAGING_BYTES);
      return;
    }
    const bigger = new Uint8Array(this.uniforms.byteLength * 2);
    bigger.set(this.uniforms);
    this.uniforms = bigger;
  }

  /** Hands the parameter staging to the next recorder (a decode step makes one a step: 128 KiB of garbage each, else). */
  private releaseStaging(): void {
    if (this.uniforms.byteLength === STAGING_BYTES && spareStaging.length < MAX_SPARE_STAGING) spareStaging.push(this.uniforms);
    this.uniforms = NO_STAGING;
  }
}

/** Parameter staging of a recorder: a decode step's few hundred dispatches without regrowing. */
const STAGING_BYTES = 512 * SLOT;
const MAX_SPARE_STAGING = 4;
const spareStaging: Array<Uint8Array<ArrayBuffer>> = [];
const NO_STAGING = new Uint8Array(0);

const ARENA_BYTES = 1 << 20;
/** Dispatches with parameters one submission holds; a recorder given more submits the first ones while still recording (flush). */
export const DISPATCHES_PER_SUBMIT = ARENA_BYTES / SLOT;
const arenas = new WeakMap<GpuContext, GPUBuffer>();
function uniformArena(ctx: GpuContext): GPUBuffer {
  let a = arenas.get(ctx);
  if (!a) {
    a = ctx.memory.create('uniform-arena', ARENA_BYTES, 0x40 | 0x08);
    arenas.set(ctx, a);
  }
  return a;
}

/** Packs kernel parameters: u32/i32/f32 fields in declaration order, 4 bytes each, padded to 16. */
export function params(fields: Array<['u32' | 'i32' | 'f32', number]>): Uint8Array {
  const n = Math.max(4, Math.ceil(fields.length / 4) * 4);
  const buf = new ArrayBuffer(n * 4);
  const dv = new DataView(buf);
  fields.forEach(([t, v], i) => {
    if (t === 'f32') dv.setFloat32(4 * i, v, true);
    else if (t === 'i32') dv.setInt32(4 * i, v, true);
    else dv.setUint32(4 * i, v, true);
  });
  return new Uint8Array(buf);
}

// Bind groups are cached by (pipeline, buffers, offsets, sizes): a decode step makes the same few
// hundred dispatches every step, and creating their bind groups was a large share of its CPU time.
const ids = new WeakMap<object, number>();
let nextId = 1;
function idOf(o: object): number {
  let i = ids.get(o);
  if (i === undefined) { i = nextId++; ids.set(o, i); }
  return i;
}

const MAX_CACHED = 16384;
const groups = new WeakMap<GpuContext, Map<string, GPUBindGroup>>();

/**
 * The bind group of one dispatch: binding 0 the uniform window [offset, offset + size) of the arena
 * (offset −1: none), binding i + 1 buffers[i] (null: not declared). The key is built without
 * allocating entry objects; they are made only when the group is new.
 */
function bindGroup(ctx: GpuContext, pipeline: GPUComputePipeline, arena: GPUBuffer, offset: number, size: number, buffers: Array<Binding | null>): GPUBindGroup {
  let cache = groups.get(ctx);
  if (!cache) groups.set(ctx, (cache = new Map()));
  let key = `${idOf(pipeline)}|${offset}:${size}`;
  for (let i = 0; i < buffers.length; i++) {
    const b = buffers[i];
    if (!b) continue;
    key += 'buffer' in b ? `|${i + 1}:${idOf(b.buffer)}:${b.offset ?? 0}:${b.size ?? -1}` : `|${i + 1}:${idOf(b)}`;
  }
  let g = cache.get(key);
  if (!g) {
    if (cache.size >= MAX_CACHED) cache.clear(); // buffers come and go; a full cache is mostly stale
    const entries: GPUBindGroupEntry[] = [];
    if (offset >= 0) entries.push({ binding: 0, resource: { buffer: arena, offset, size } });
    buffers.forEach((b, i) => { if (b) entries.push({ binding: i + 1, resource: 'buffer' in b ? b : { buffer: b } }); });
    g = ctx.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    cache.set(key, g);
  }
  return g;
}
