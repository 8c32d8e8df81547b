// KV-cache write vs reference: tokens of two slots at scattered positions; untouched cells keep their values.
import { describe, it } from 'vitest';
import { KvWriteKernel } from '../../src/kernels/kv_write';
import { kvWriteRef } from '../../src/reference/kv_write';
import { expectClose } from '../helpers/compare';
import { runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';

describe('kv_write', () => {
  for (const [name, H, K, D] of [['odd D=12 H=4 K=2', 4, 2, 12], ['Qwen H=12 K=2 D=128', 12, 2, 128]] as const) {
    it(name, async () => {
      const ctx = await testGpu();
      const [T, B, L] = [5, 2, 9];
      const qkv = normal(1, T * (H + 2 * K) * D);
      const slot = Int32Array.from([0, 1, 1, 0, 1]);
      const pos = Int32Array.from([3, 0, 8, 4, 5]);
      const kc0 = normal(2, B * L * K * D);
      const vc0 = normal(3, B * L * K * D);
      const k = await KvWriteKernel.create(ctx);
      const b = { qkv: ctx.memory.upload('qkv', qkv), slot: ctx.memory.upload('slot', slot), pos: ctx.memory.upload('pos', pos), kc: ctx.memory.upload('kc', kc0), vc: ctx.memory.upload('vc', vc0) };
      const kc = await runAndRead(ctx, b.kc, (rec) => k.encode(rec, { T, H, K, D, L }, b));
      const vc = await runAndRead(ctx, b.vc, () => {});
      const [rk, rv] = [Float32Array.from(kc0), Float32Array.from(vc0)];
      kvWriteRef(qkv, slot, pos, rk, rv, T, H, K, D, L);
      expectClose(kc, rk, 0, 'k cache');
      expectClose(vc, rv, 0, 'v cache');
      Object.values(b).forEach((x) => ctx.memory.destroy(x));
    });
  }
});
