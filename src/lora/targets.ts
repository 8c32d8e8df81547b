// LoRA target modules (PEFT names) and where each lives in TabZero's fused weights:
// q|k|v share one fused weight (slices 0, 1, 2), gate|up another (slices 0, 1); o and down stand alone.

export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export type FusedName = 'qkv' | 'o' | 'gateUp' | 'down';

/** fused weight and slice index of each target */
export const TARGET_SLOT: Record<LoraTarget, { fused: FusedName; slice: number; block: 'self_attn' | 'mlp' }> = {
  q_proj: { fused: 'qkv', slice: 0, block: 'self_attn' },
  k_proj: { fused: 'qkv', slice: 1, block: 'self_attn' },
  v_proj: { fused: 'qkv', slice: 2, block: 'self_attn' },
  o_proj: { fused: 'o', slice: 0, block: 'self_attn' },
  gate_proj: { fused: 'gateUp', slice: 0, block: 'mlp' },
  up_proj: { fused: 'gateUp', slice: 1, block: 'mlp' },
  down_proj: { fused: 'down', slice: 0, block: 'mlp' },
};

export const FUSED_TARGETS: Record<FusedName, LoraTarget[]> = {
  qkv: ['q_proj', 'k_proj', 'v_proj'],
  o: ['o_proj'],
  gateUp: ['gate_proj', 'up_proj'],
  down: ['down_proj'],
};

export function isLoraTarget(s: string): s is LoraTarget {
  return (LORA_TARGETS as readonly string[]).includes(s);
}
