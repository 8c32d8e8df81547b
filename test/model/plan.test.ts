// The memory plan against Qwen2.5-1.5B-Instruct's config: parameter count, 4-bit vs bf16 weights, the
// chat total, the default GRPO training estimate, and the device checks (splits noted at WebGPU's
// default limits; a binding too small for the KV cache refused).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseQwen2Config } from '../../src/model/config';
import { chatPlan, checkChatFits, engineSizes, parameterCount, trainingPlan, weightBytes } from '../../src/model/plan';

const cfg = parseQwen2Config(JSON.parse(readFileSync(new URL('../fixtures/qwen2.5-1.5b-instruct.config.json', import.meta.url), 'utf8')));
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

describe('plan for Qwen2.5-1.5B', () => {
  it('counts 1.54 B parameters (as the model card says)', () => {
    expect(parameterCount(cfg)).toBe(1_543_714_304);
  });

  it('4-bit projections are ~3.5× smaller than bf16; the embedding is bf16 or int8', () => {
    const q4 = weightBytes(cfg, { linearFormat: 'q4', embedFormat: 'bf16' });
    const bf = weightBytes(cfg, { linearFormat: 'bf16', embedFormat: 'bf16' });
    const proj = 1_310_195_712; // 28 layers × (q,k,v,o,gate,up,down) weights, no biases
    expect(bf.projections).toBe(proj * 2);
    expect(bf.projections / q4.projections).toBeGreaterThan(3.4);
    expect(q4.embedding).toBe(151936 * 1536 * 2);
    expect(weightBytes(cfg, { linearFormat: 'q4', embedFormat: 'i8' }).embedding).toBe(151936 * 1536 + 151936 * 4);
    expect(q4.total / GiB).toBeGreaterThan(1.0);
    expect(q4.total / GiB).toBeLessThan(1.2);
  });

  it('chat: weights + a 4096-token KV cache + activations for 1024-token prompts', () => {
    const sizes = engineSizes(cfg);
    expect(sizes).toEqual({ maxTokens: 1024, maxPositions: 4096 });
    const p = chatPlan(cfg, { linearFormat: 'q4', embedFormat: 'bf16' });
    expect(p.kvCache).toBe(2 * 28 * 4096 * 2 * 128 * 4);
    expect(p.total).toBeGreaterThan(p.weights.total + p.kvCache);
    expect(p.total / GiB).toBeLessThan(1.7);
  });

  it('training with the default GRPO shape costs more than chat', () => {
    const f = { linearFormat: 'q4' as const, embedFormat: 'bf16' as const };
    const t = trainingPlan(cfg, f, { numSequences: 8, seqLength: 456, loraRank: 16 });
    expect(t.total).toBeGreaterThan(chatPlan(cfg, f).total);
    const bf = trainingPlan(cfg, { ...f, linearFormat: 'bf16' }, { numSequences: 8, seqLength: 456, loraRank: 16 });
    expect(bf.total - t.total).toBe(weightBytes(cfg, { ...f, linearFormat: 'bf16' }).projections - t.breakdown.baseWeights);
  });

  it('fits WebGPU default limits with splits noted; refuses bindings too small for one KV layer', () => {
    const p = chatPlan(cfg, { linearFormat: 'q4', embedFormat: 'bf16' });
    const ok = checkChatFits(p, { maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB });
    expect(ok.fits).toBe(true);
    expect(ok.info.join('\n')).toMatch(/the embedding \(bf16\) needs a 445 MiB binding, the device allows 128 MiB: it will be split into 4 parts/);
    const tiny = checkChatFits(p, { maxBufferSize: MiB, maxStorageBufferBindingSize: MiB });
    expect(tiny.fits).toBe(false);
    expect(tiny.problems.join('\n')).toMatch(/one layer's K \(or V\) cache for 4096 positions needs a 4 MiB binding, the device allows 1 MiB; use shorter conversations/);
  });
});
