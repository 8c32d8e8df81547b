// Which device limits TabZero asks for (everything up to the adapter's maximum for the limits that
// bound model size and kernel shapes) and which minimums it needs to run at all. Pure functions.

/** Limits requested at the adapter's maximum. */
export const REQUESTED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
] as const;

export type LimitName = (typeof REQUESTED_LIMITS)[number];

/** What the kernels assume (the WebGPU defaults, except where noted). */
export const MIN_LIMITS: Record<LimitName, number> = {
  maxBufferSize: 256 * 2 ** 20,
  maxStorageBufferBindingSize: 128 * 2 ** 20,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupSizeZ: 64,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 8,
  maxUniformBufferBindingSize: 16384,
};

const WHY: Record<LimitName, string> = {
  maxBufferSize: 'largest single buffer (weights are split to fit)',
  maxStorageBufferBindingSize: 'largest tensor a kernel can see at once',
  maxComputeWorkgroupStorageSize: 'shared-memory tiles of the matmul and attention kernels',
  maxComputeInvocationsPerWorkgroup: 'kernels use 256-thread workgroups',
  maxComputeWorkgroupSizeX: 'kernels use 256-thread workgroups',
  maxComputeWorkgroupSizeY: 'kernels use 2-D workgroups',
  maxComputeWorkgroupSizeZ: 'WebGPU default',
  maxComputeWorkgroupsPerDimension: 'one workgroup per row of long tensors',
  maxStorageBuffersPerShaderStage: 'fused kernels bind up to 8 tensors (9 with the RMSNorm fused into a decode GEMV, used only where the device allows)',
  maxUniformBufferBindingSize: 'kernel parameters',
};

export type LimitsLike = Partial<Record<string, number>>;

/** The limits to request: the adapter's own maximum for each limit that matters. */
export function requestedLimits(adapter: LimitsLike): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of REQUESTED_LIMITS) {
    const v = adapter[k];
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}

export interface LimitProblem {
  limit: LimitName;
  have: number;
  need: number;
  why: string;
}

/** Every limit below TabZero's minimum, with why it matters. Empty when the adapter is fine. */
export function checkLimits(adapter: LimitsLike): LimitProblem[] {
  const problems: LimitProblem[] = [];
  for (const k of REQUESTED_LIMITS) {
    const have = adapter[k] ?? 0;
    if (have < MIN_LIMITS[k]) problems.push({ limit: k, have, need: MIN_LIMITS[k], why: WHY[k] });
  }
  return problems;
}

/** A plain-object copy of a GPUSupportedLimits (its fields are getters, invisible to JSON/spread). */
export function limitsToObject(limits: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k in limits) {
    const v = (limits as unknown as Record<string, unknown>)[k];
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}
