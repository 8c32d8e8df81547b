// Pipeline cache: one compute pipeline per (WGSL source, entry point, override constants), created
// asynchronously so compilation errors arrive as a typed error with the shader's messages.
import { GpuValidationError } from './errors';

export type Constants = Record<string, number>;

export class PipelineCache {
  private cache = new Map<string, Promise<GPUComputePipeline>>();
  private syncCache = new Map<string, GPUComputePipeline>();
  /** onError receives build errors of pipelines made by getSync (async ones reject instead). */
  constructor(private device: GPUDevice, private onError: (e: GpuValidationError) => void = () => {}) {}

  get size(): number {
    return this.cache.size + this.syncCache.size;
  }

  get(label: string, code: string, constants: Constants = {}, entryPoint = 'main'): Promise<GPUComputePipeline> {
    const key = cacheKey(label, code, constants, entryPoint);
    let p = this.cache.get(key);
    if (!p) {
      p = this.create(label, code, constants, entryPoint);
      this.cache.set(key, p);
      p.catch(() => this.cache.delete(key));
    }
    return p;
  }

  /**
   * The same pipeline, built synchronously when missing (for kernels whose variants depend on a
   * shape only known at encode time). Build errors surface through the device's error handler.
   */
  getSync(label: string, code: string, constants: Constants = {}, entryPoint = 'main'): GPUComputePipeline {
    const key = cacheKey(label, code, constants, entryPoint);
    let p = this.syncCache.get(key);
    if (!p) {
      this.device.pushErrorScope('validation');
      const module = this.device.createShaderModule({ label, code });
      p = this.device.createComputePipeline({ label, layout: 'auto', compute: { module, entryPoint, constants } });
      this.syncCache.set(key, p);
      void this.device.popErrorScope().then((err) => {
        if (!err) return;
        this.syncCache.delete(key);
        this.onError(new GpuValidationError(`could not build the "${label}" kernel (${JSON.stringify(constants)}): ${err.message}`, 'this is a TabZero bug or a driver problem; please report it with this message and your GPU'));
      });
    }
    return p;
  }

  private async create(label: string, code: string, constants: Constants, entryPoint: string): Promise<GPUComputePipeline> {
    const module = this.device.createShaderModule({ label, code });
    try {
      return await this.device.createComputePipelineAsync({ label, layout: 'auto', compute: { module, entryPoint, constants } });
    } catch (e) {
      const info = await module.getCompilationInfo?.();
      const msgs = (info?.messages ?? [])
        .filter((m) => m.type === 'error')
        .map((m) => `${label}.wgsl:${m.lineNum}:${m.linePos}: ${m.message}`)
        .join('\n');
      throw new GpuValidationError(
        `could not build the "${label}" kernel (${JSON.stringify(constants)}): ${msgs || (e as Error).message}`,
        'this is a TabZero bug or a driver problem; please report it with this message and your GPU',
      );
    }
  }
}

function cacheKey(label: string, code: string, constants: Constants, entryPoint: string): string {
  return `${label}\u0000${entryPoint}\u0000${JSON.stringify(Object.entries(constants).sort())}\u0000${code}`;
}
