// The Train panel's field table covers TrainConfig exactly (each field once, with help text), its
// selects offer exactly the values validateConfig accepts, and TrainConfigState reports bad values
// per field, applies presets, remembers the settings and restores them defensively.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, makeConfig, presets, validateConfig, type TrainConfig } from '../../src/grpo/config';
import { ALL_FIELDS, CONFIG_GROUPS } from '../../src/ui/config-fields';
import { CONFIG_STORAGE_KEY, TrainConfigState, restoreConfig } from '../../src/ui/state/train-config.svelte';

function memoryStore() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k), m };
}

describe('config fields', () => {
  it('lists every TrainConfig field exactly once, with a label, what and why', () => {
    const keys = ALL_FIELDS.map((f) => f.key).sort();
    expect(keys).toEqual(Object.keys(DEFAULT_CONFIG).sort());
    for (const f of ALL_FIELDS) {
      expect(f.label.length, f.key).toBeGreaterThan(2);
      expect(f.what.length, f.key).toBeGreaterThan(8);
      expect(f.why.length, f.key).toBeGreaterThan(3);
    }
    expect(CONFIG_GROUPS.map((g) => g.id)).toEqual(['sampling', 'loss', 'optimizer', 'lora', 'run']);
  });

  it('offers exactly the select values validateConfig accepts', () => {
    for (const f of ALL_FIELDS.filter((x) => x.kind === 'select')) {
      for (const o of f.options!) expect(validateConfig(makeConfig({ [f.key]: o.value } as Partial<TrainConfig>)), `${f.key}=${o.value}`).toEqual([]);
      const bad = validateConfig(makeConfig({ [f.key]: 'nope' } as Partial<TrainConfig>));
      expect(bad.map((i) => i.field)).toEqual([f.key]);
    }
  });
});

describe('TrainConfigState', () => {
  it('reports a bad value next to its field, including an emptied number input (null)', () => {
    const s = new TrainConfigState(memoryStore());
    expect(s.valid).toBe(true);
    s.config.temperature = 0;
    (s.config as unknown as Record<string, unknown>).numGenerations = null;
    expect(s.valid).toBe(false);
    expect(s.issuesFor('temperature')[0]).toMatch(/temperature must be in \(0, 10\].*got 0/);
    expect(s.issuesFor('numGenerations')[0]).toMatch(/got null/);
    expect(s.issuesFor('learningRate')).toEqual([]);
    expect(s.changed).toEqual(expect.arrayContaining(['temperature', 'numGenerations']));
  });

  it('applies a preset, saves and restores it', () => {
    const store = memoryStore();
    const s = new TrainConfigState(store);
    s.usePreset('Countdown R1-Zero (Qwen2.5-1.5B)');
    expect(s.config.maxCompletionLength).toBe(512);
    expect(s.changed).toEqual([]);
    s.config.totalSteps = 7;
    s.toggleTarget('q_proj', false);
    s.save();
    const again = new TrainConfigState(store);
    expect(again.preset).toBe('Countdown R1-Zero (Qwen2.5-1.5B)');
    expect(again.config.totalSteps).toBe(7);
    expect(again.config.loraTargets).not.toContain('q_proj');
    expect(again.snapshot()).toEqual(s.snapshot());
    expect(presets.map((p) => p.name)).toContain(again.preset);
  });

  it('restores defensively: unknown keys dropped, wrong types replaced, junk ignored', () => {
    expect(restoreConfig('not json')).toBeNull();
    expect(restoreConfig(null)).toBeNull();
    const r = restoreConfig(JSON.stringify({ preset: 'x', config: { numGenerations: 4, beta: 'high', evil: 1, loraTargets: ['q_proj', 'lm_head'] } }))!;
    expect(r.config.numGenerations).toBe(4);
    expect(r.config.beta).toBe(DEFAULT_CONFIG.beta);
    expect(r.config.loraTargets).toEqual(['q_proj']);
    expect('evil' in r.config).toBe(false);
    const store = memoryStore();
    store.setItem(CONFIG_STORAGE_KEY, '{"config": 5}');
    expect(new TrainConfigState(store).config).toEqual(makeConfig());
  });
});
