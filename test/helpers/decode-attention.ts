// A decode step's attention inputs for the kernels that rotate and cache themselves (attention_gqa's
// ROPE partials + merge, attention_decode): qkv not rotated, random K/V caches of B slots, and the
// reference result — rope_kv's then the attention's (attentionDecodeRef) — with the caches it leaves.
import type { GpuContext } from '../../src/gpu/device';
import { attentionDecodeRef } from '../../src/reference/attention_decode';
import { poisoned } from './gpu';
import { normal } from './random';

export interface DecodeAttentionCase { H: number; K: number; D: number; B: number; L: number; slot: number[]; pos: number[]; theta: number }

/** seeds: [qkv, k cache, v cache] */
export function decodeAttentionInputs(ctx: GpuContext, c: DecodeAttentionCase, seeds: [number, number, number]) {
  const T = c.slot.length;
  const shape = { T, H: c.H, K: c.K, D: c.D, L: c.L };
  const qkv = normal(seeds[0], T * (c.H + 2 * c.K) * c.D);
  const kc0 = normal(seeds[1], c.B * c.L * c.K * c.D);
  const vc0 = normal(seeds[2], c.B * c.L * c.K * c.D);
  const slot = Int32Array.from(c.slot);
  const pos = Int32Array.from(c.pos);
  const [rk, rv] = [Float32Array.from(kc0), Float32Array.from(vc0)]; // the caches as the reference leaves them
  const ref = attentionDecodeRef(qkv, slot, pos, rk, rv, { ...shape, theta: c.theta });
  const m = ctx.memory;
  const buffers = {
    qkv: m.upload('qkv', qkv), kc: m.upload('kc', kc0), vc: m.upload('vc', vc0),
    slot: m.upload('slot', slot), pos: m.upload('pos', pos), out: poisoned(ctx, T * c.H * c.D), lse: poisoned(ctx, T * c.H),
  };
  return { T, shape, qkv, kc0, vc0, rk, rv, ref, buffers };
}
