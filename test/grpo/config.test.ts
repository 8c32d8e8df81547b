// TrainConfig (src/grpo/config.ts): defaults and presets validate, validateConfig names each bad value
// with its allowed range, and the Tiny CI preset carries the reference-tiny fixture's settings.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CONFIG, LORA_TARGETS, presets, validateConfig, assertValidConfig, makeConfig, presetConfig, ConfigError,
  type TrainConfig,
} from '../../src/grpo/config';
import { loadReferenceFixture } from '../helpers/fixtures';

describe('DEFAULT_CONFIG and presets', () => {
  it('the defaults are valid and follow the Unsloth Qwen2.5 GRPO notebook', () => {
    expect(validateConfig(makeConfig())).toEqual([]);
    expect(DEFAULT_CONFIG).toMatchObject({
      learningRate: 5e-6, adamBeta1: 0.9, adamBeta2: 0.99, weightDecay: 0.1, warmupRatio: 0.1,
      lrSchedule: 'cosine', maxGradNorm: 0.1, numGenerations: 8, loraR: 16, loraAlpha: 16,
    });
    expect(DEFAULT_CONFIG.loraTargets).toEqual([...LORA_TARGETS]);
    expect(Object.isFrozen(DEFAULT_CONFIG)).toBe(true);
  });

  it('every preset is valid, and the named ones exist', () => {
    for (const p of presets) expect(validateConfig(p.config), p.name).toEqual([]);
    const names = presets.map((p) => p.name);
    expect(names).toContain('Countdown R1-Zero (Qwen2.5-1.5B)');
    expect(names).toContain('Tiny CI');
    expect(presetConfig('Countdown R1-Zero (Qwen2.5-1.5B)').numGenerations).toBe(8);
    expect(() => presetConfig('nope')).toThrow(/no preset named 'nope'/);
  });

  it('Tiny CI equals the reference-tiny fixture settings', () => {
    const fx = loadReferenceFixture('reference-tiny');
    const c = presetConfig('Tiny CI');
    expect(c.numGenerations).toBe(fx.cases.completion_lens.length);
    expect(c.maxCompletionLength).toBe(fx.cases.max_completion_length);
    expect(c.temperature).toBe(fx.cases.temperature);
    expect([c.beta, c.epsilonLow, c.epsilonHigh]).toEqual([fx.cases.beta, fx.cases.epsilon_low, fx.cases.epsilon_high]);
    expect([c.loraR, c.loraAlpha]).toEqual([fx.cases.lora_r, fx.cases.lora_alpha]);
    const a = fx.cases.adamw;
    expect([c.learningRate, c.adamBeta1, c.adamBeta2, c.weightDecay, c.adamEps, c.maxGradNorm])
      .toEqual([a.lr, a.beta1, a.beta2, a.weight_decay, a.eps, a.max_grad_norm]);
  });

  it('makeConfig returns fresh objects (loraTargets not shared)', () => {
    const a = makeConfig();
    a.loraTargets.pop();
    expect(makeConfig().loraTargets).toHaveLength(7);
    expect(DEFAULT_CONFIG.loraTargets).toHaveLength(7);
  });
});

describe('validateConfig', () => {
  const bad = (o: Partial<TrainConfig>) => validateConfig(makeConfig(o));

  it('names the field, the rule with its range, and the value given', () => {
    expect(bad({ numGenerations: 1 })).toEqual([{
      field: 'numGenerations',
      message: 'numGenerations must be an integer in [2, 256] (GRPO compares completions within a group); got 1',
    }]);
    expect(bad({ temperature: 0 })[0].message).toMatch(/temperature must be in \(0, 10\].*; got 0$/);
    expect(bad({ lossType: 'ppo' as never })[0].message).toMatch(/lossType must be one of .*; got 'ppo'$/);
    expect(bad({ loraTargets: ['q_proj', 'lm_head'] as never })[0].message).toMatch(/got \["q_proj","lm_head"\]$/);
  });

  it('reports every problem at once', () => {
    const issues = bad({ numGenerations: 2.5, topP: 0, warmupRatio: 1, adamBeta2: 1, loraR: 0, seed: -1 });
    expect(issues.map((i) => i.field).sort()).toEqual(['adamBeta2', 'loraR', 'numGenerations', 'seed', 'topP', 'warmupRatio']);
  });

  it('checks cross-field rules: micro-batches divide the step, prompt + completion fit the context', () => {
    expect(bad({ promptsPerStep: 1, numGenerations: 6, gradientAccumulationSteps: 4 })[0].field).toBe('gradientAccumulationSteps');
    expect(bad({ promptsPerStep: 1, numGenerations: 6, gradientAccumulationSteps: 3 })).toEqual([]);
    expect(bad({ maxPromptLength: 30000, maxCompletionLength: 4000 })[0].field).toBe('maxCompletionLength');
    expect(bad({ loraTargets: [] })[0].field).toBe('loraTargets');
    expect(bad({ loraTargets: ['q_proj', 'q_proj'] })[0].field).toBe('loraTargets');
  });

  it('accepts the off values: topK 0, minP 0, beta 0, maxGradNorm 0, checkpointEvery 0', () => {
    expect(bad({ topK: 0, minP: 0, beta: 0, maxGradNorm: 0, checkpointEvery: 0 })).toEqual([]);
  });

  it('assertValidConfig throws a ConfigError with the issues and a hint', () => {
    try {
      assertValidConfig(makeConfig({ numGenerations: 1, learningRate: -1 }));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const err = e as ConfigError;
      expect(err.issues).toHaveLength(2);
      expect(err.message).toMatch(/2 problems/);
      expect(err.hint).toMatch(/DEFAULT_CONFIG/);
    }
  });
});
