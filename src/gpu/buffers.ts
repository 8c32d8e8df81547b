// Buffer layer: every GPU buffer TabZero makes goes through GpuMemory, which counts live and peak
// bytes (what benchmarks report as GPU memory) and checks sizes against the device's limits
// before asking, so a too-large request fails with numbers and a hint instead of a validation error.
import { GpuOutOfMemoryError, formatBytes } from './errors';

export const STORAGE = 0x80 | 0x08 | 0x04; // STORAGE | COPY_DST | COPY_SRC (numeric: no globals needed at import)
export const UNIFORM = 0x40 | 0x08; // UNIFORM | COPY_DST
export const READBACK = 0x01 | 0x08; // MAP_READ | COPY_DST

export class GpuMemory {
  live = 0;
  peak = 0;
  count = 0;
  private sizes = new WeakMap<GPUBuffer, number>();

  constructor(private device: GPUDevice, private limits: Record<string, number>) {}

  /** Creates a buffer (size rounded up to 4 bytes). Throws GpuOutOfMemoryError over the device limit. */
  create(label: string, size: number, usage: number = STORAGE): GPUBuffer {
    const bytes = Math.max(4, Math.ceil(size / 4) * 4);
    const max = this.limits.maxBufferSize ?? Infinity;
    if (bytes > max) {
      throw new GpuOutOfMemoryError(
        `buffer "${label}" needs ${formatBytes(bytes)} (${bytes} bytes), the device allows ${formatBytes(max)} (${max} bytes) per buffer`,
        'this tensor must be split; if you see this, report it as a bug with the model name',
      );
    }
    const buf = this.device.createBuffer({ label, size: bytes, usage });
    this.sizes.set(buf, bytes);
    this.live += bytes;
    this.count++;
    if (this.live > this.peak) this.peak = this.live;
    return buf;
  }

  /** Like create, inside error scopes: resolves only once the GPU accepted the allocation. */
  async alloc(label: string, size: number, usage: number = STORAGE): Promise<GPUBuffer> {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    const buf = this.create(label, size, usage);
    const [validation, oom] = [await this.device.popErrorScope(), await this.device.popErrorScope()];
    const err = oom ?? validation;
    if (err) {
      this.destroy(buf);
      throw new GpuOutOfMemoryError(
        `could not allocate ${formatBytes(size)} for "${label}" (${formatBytes(this.live)} already in use): ${err.message}`,
        'close other GPU-heavy tabs or apps, or choose a smaller model, group size or completion length',
      );
    }
    return buf;
  }

  /** A storage buffer holding `data`. */
  upload(label: string, data: ArrayBufferView, usage: number = STORAGE): GPUBuffer {
    const buf = this.create(label, data.byteLength, usage);
    writeView(this.device, buf, 0, data);
    return buf;
  }

  destroy(buf: GPUBuffer | null | undefined): void {
    if (!buf) return;
    const n = this.sizes.get(buf);
    if (n !== undefined) {
      this.live -= n;
      this.count--;
      this.sizes.delete(buf);
    }
    buf.destroy();
  }

  resetPeak(): void {
    this.peak = this.live;
  }
}

/** queue.writeBuffer for any typed array, padding the tail to 4 bytes. */
export function writeView(device: GPUDevice, buf: GPUBuffer, offset: number, data: ArrayBufferView): void {
  const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  if (bytes.byteLength % 4 === 0) {
    device.queue.writeBuffer(buf, offset, bytes);
  } else {
    const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
    padded.set(bytes);
    device.queue.writeBuffer(buf, offset, padded);
  }
}

/** Copies `size` bytes of `src` (from `offset`) back to the CPU. */
export async function readBuffer(device: GPUDevice, src: GPUBuffer, size = src.size, offset = 0): Promise<ArrayBuffer> {
  const bytes = Math.ceil(size / 4) * 4;
  const staging = device.createBuffer({ size: bytes, usage: READBACK, label: 'readback' });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, offset, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(1 /* GPUMapMode.READ */);
  const out = staging.getMappedRange().slice(0, size);
  staging.unmap();
  staging.destroy();
  return out;
}

export async function readF32(device: GPUDevice, src: GPUBuffer, count?: number, offsetElems = 0): Promise<Float32Array> {
  const n = count ?? src.size / 4 - offsetElems;
  return new Float32Array(await readBuffer(device, src, n * 4, offsetElems * 4));
}

export async function readU32(device: GPUDevice, src: GPUBuffer, count?: number): Promise<Uint32Array> {
  const n = count ?? src.size / 4;
  return new Uint32Array(await readBuffer(device, src, n * 4));
}
