// Gets a WebGPU device in a browser window, a browser worker or Node (the caller passes the GPU
// object: navigator.gpu, or nodeGpu() from ./node). Requests limits up to the adapter's, enables
// optional features, and turns device loss and uncaptured errors into typed errors.
import { DeviceLostError, GpuLimitsError, GpuValidationError, WebGPUUnavailableError, formatBytes } from './errors';
import { checkLimits, limitsToObject, requestedLimits } from './limits';
import { GpuMemory } from './buffers';
import { PipelineCache } from './pipelines';

export const OPTIONAL_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query', 'chromium-experimental-subgroup-matrix'] as const;
export type OptionalFeature = (typeof OPTIONAL_FEATURES)[number];

/** A comma-separated list of optional features to leave off (the CLI's --disable), checked against OPTIONAL_FEATURES. */
export function parseDisable(list: string): OptionalFeature[] {
  const names = list.split(',').filter(Boolean);
  for (const d of names) if (!(OPTIONAL_FEATURES as readonly string[]).includes(d)) throw new Error(`--disable: unknown feature "${d}" (known: ${OPTIONAL_FEATURES.join(', ')})`);
  return names as OptionalFeature[];
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** true for software adapters (SwiftShader) */
  isFallback: boolean;
  /** every feature the adapter offers (benchmark reports record them) */
  featureNames: string[];
  /** Dawn's subgroup-matrix shapes and types, where the adapter reports them (for the bench reports) */
  subgroupMatrixConfigs?: unknown[];
}

export interface AcquireOptions {
  powerPreference?: GPUPowerPreference;
  /** features never to enable even when present (to test the fallback paths) */
  disable?: OptionalFeature[];
  /** called once if the device is lost */
  onLost?: (e: DeviceLostError) => void;
  /** called for each uncaptured GPU error (validation, OOM) */
  onError?: (e: GpuValidationError) => void;
}

export interface GpuContext {
  device: GPUDevice;
  adapter: AdapterSummary;
  /** the device's limits as a plain object */
  limits: Record<string, number>;
  /** the adapter's own maximums */
  adapterLimits: Record<string, number>;
  features: { f16: boolean; subgroups: boolean; timestamp: boolean; subgroupMatrix: boolean };
  /** the adapter's smallest subgroup width (0 when unknown or without subgroups) */
  subgroupMinSize: number;
  /** the adapter's largest subgroup width (0 when unknown or without subgroups); = min: every subgroup is that wide */
  subgroupMaxSize: number;
  memory: GpuMemory;
  pipelines: PipelineCache;
  /** resolves when the device is lost */
  lost: Promise<DeviceLostError>;
  isLost(): boolean;
  /** uncaptured errors seen so far (a non-empty list means a bug or OOM) */
  errors: GpuValidationError[];
  destroy(): void;
}

export function summarizeAdapter(adapter: GPUAdapter): AdapterSummary {
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false;
  const desc = info.description ?? '';
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: desc,
    isFallback: fallback || /swiftshader/i.test(`${desc} ${info.vendor ?? ''} ${info.architecture ?? ''}`),
    featureNames: [...(adapter.features ?? [])].map(String).sort(),
    ...matrixConfigs(info),
  };
}

function matrixConfigs(info: GPUAdapterInfo): { subgroupMatrixConfigs?: unknown[] } {
  const list = (info as { subgroupMatrixConfigs?: Iterable<Record<string, unknown>> }).subgroupMatrixConfigs;
  if (!list) return {};
  // Dawn's config objects carry their fields as getters: copy them into plain objects for JSON
  return { subgroupMatrixConfigs: [...list].map((c) => ({ componentType: c.componentType, resultComponentType: c.resultComponentType, M: c.M, N: c.N, K: c.K })) };
}

/** The browser's GPU object, or a clear error saying why there is none. */
export function browserGpu(): GPU {
  const nav = (globalThis as { navigator?: Navigator }).navigator;
  if (nav?.gpu) return nav.gpu;
  const secure = (globalThis as { isSecureContext?: boolean }).isSecureContext;
  if (secure === false) {
    throw new WebGPUUnavailableError('WebGPU is only available on secure pages', 'open TabZero over https:// or from http://localhost');
  }
  throw new WebGPUUnavailableError(
    'this browser does not expose WebGPU (navigator.gpu is missing)',
    'use Chrome or Edge 113+ (Linux: 144+, or enable chrome://flags/#enable-unsafe-webgpu), Safari 26+, or Firefox 141+ on Windows',
  );
}

export async function acquireDevice(gpu: GPU, opts: AcquireOptions = {}): Promise<GpuContext> {
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new WebGPUUnavailableError('no WebGPU adapter was found', 'update the GPU driver, or check chrome://gpu for "WebGPU: Disabled" and the reason');
  }
  const adapterLimits = limitsToObject(adapter.limits);
  const problems = checkLimits(adapterLimits);
  if (problems.length) {
    const p = problems[0];
    throw new GpuLimitsError(
      `GPU limit ${p.limit} is ${fmtLimit(p.limit, p.have)}, TabZero needs ${fmtLimit(p.limit, p.need)} (${p.why})` +
        (problems.length > 1 ? ` and ${problems.length - 1} more limit(s) are too small` : ''),
      'use a desktop GPU with an up-to-date browser; compatibility-mode (OpenGL ES) adapters are too limited',
    );
  }
  const disabled = new Set<string>(opts.disable ?? []);
  // subgroup-matrix implies subgroups (Dawn then enables both): without subgroups, neither
  if (disabled.has('subgroups')) disabled.add('chromium-experimental-subgroup-matrix');
  const wanted = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f) && !disabled.has(f));
  const device = await adapter.requestDevice({
    requiredFeatures: wanted as GPUFeatureName[],
    requiredLimits: requestedLimits(adapterLimits),
    label: 'tabzero',
  });
  const errors: GpuValidationError[] = [];
  let lostFlag = false;
  const lost = device.lost.then((info) => {
    lostFlag = true;
    const e = new DeviceLostError(`the GPU device was lost (${info.reason}): ${info.message}`, String(info.reason));
    opts.onLost?.(e);
    return e;
  });
  const onUncaptured = (ev: Event) => {
    const err = (ev as GPUUncapturedErrorEvent).error;
    const e = new GpuValidationError(`uncaptured GPU error: ${err?.message ?? String(err)}`, 'this is a TabZero bug; please report it with the message');
    errors.push(e);
    opts.onError?.(e);
  };
  device.addEventListener?.('uncapturederror', onUncaptured);
  const limits = limitsToObject(device.limits);
  // what the kernels may use: granted and not disabled (a device may report a feature another implied)
  const has = (f: string) => device.features.has(f) && !disabled.has(f);
  return {
    device,
    adapter: summarizeAdapter(adapter),
    limits,
    adapterLimits,
    features: { f16: has('shader-f16'), subgroups: has('subgroups'), timestamp: has('timestamp-query'), subgroupMatrix: has('chromium-experimental-subgroup-matrix') },
    subgroupMinSize: (adapter.info as { subgroupMinSize?: number } | undefined)?.subgroupMinSize ?? 0,
    subgroupMaxSize: (adapter.info as { subgroupMaxSize?: number } | undefined)?.subgroupMaxSize ?? 0,
    memory: new GpuMemory(device, limits),
    pipelines: new PipelineCache(device, (e) => {
      errors.push(e);
      opts.onError?.(e);
    }),
    lost,
    isLost: () => lostFlag,
    errors,
    destroy: () => device.destroy(),
  };
}

function fmtLimit(name: string, v: number): string {
  return /Size$/.test(name) && v >= 1024 ? formatBytes(v) : String(v);
}
