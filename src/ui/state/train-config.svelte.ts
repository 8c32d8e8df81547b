// The Train panel's settings: a TrainConfig being edited (starting from a preset), its validation
// issues per field (validateConfig, recomputed as fields change), and the last used settings kept
// in localStorage so a reload shows them again. Number inputs bind straight to the fields: an
// empty or non-numeric input becomes null and is reported by validateConfig like any bad value.
import { DEFAULT_CONFIG, LORA_TARGETS, makeConfig, presets, validateConfig, type ConfigIssue, type LoraTarget, type TrainConfig } from '../../grpo/config';

export const CONFIG_STORAGE_KEY = 'tabzero.train-config.v1';

/** localStorage, or nothing (Node tests, storage disabled). */
export function localStore(): Pick<globalThis.Storage, 'getItem' | 'setItem' | 'removeItem'> | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

/** A stored config merged onto the defaults: unknown keys dropped, wrong types replaced by defaults. */
export function restoreConfig(raw: string | null): { preset: string; config: TrainConfig } | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as { preset?: unknown; config?: Record<string, unknown> };
    if (!v || typeof v !== 'object' || !v.config || typeof v.config !== 'object') return null;
    const c = makeConfig();
    for (const k of Object.keys(DEFAULT_CONFIG) as (keyof TrainConfig)[]) {
      const got = v.config[k];
      if (got === undefined || got === null) continue;
      if (k === 'loraTargets') {
        if (Array.isArray(got)) c.loraTargets = got.filter((t): t is LoraTarget => (LORA_TARGETS as readonly string[]).includes(t as string));
      } else if (typeof got === typeof DEFAULT_CONFIG[k]) {
        (c as unknown as Record<string, unknown>)[k] = got;
      }
    }
    return { preset: typeof v.preset === 'string' ? v.preset : '', config: c };
  } catch {
    return null;
  }
}

export class TrainConfigState {
  /** the preset the fields came from ('' once edited away from it is still its name: it is the origin) */
  preset = $state(presets[0].name);
  config = $state<TrainConfig>(makeConfig());
  readonly issues: ConfigIssue[] = $derived(validateConfig($state.snapshot(this.config) as TrainConfig));
  readonly valid: boolean = $derived(this.issues.length === 0);

  constructor(private store = localStore()) {
    const saved = restoreConfig(store?.getItem(CONFIG_STORAGE_KEY) ?? null);
    if (saved) {
      this.config = saved.config;
      if (presets.some((p) => p.name === saved.preset)) this.preset = saved.preset;
    }
  }

  /** The messages for one field (usually zero or one). */
  issuesFor(field: keyof TrainConfig): string[] {
    return this.issues.filter((i) => i.field === field).map((i) => i.message);
  }

  /** Replaces every field with the preset's values. */
  usePreset(name: string): void {
    const p = presets.find((x) => x.name === name);
    if (!p) return;
    this.preset = name;
    this.config = makeConfig(p.config);
    this.save();
  }

  /** The fields that differ from the preset they came from. */
  get changed(): (keyof TrainConfig)[] {
    const p = presets.find((x) => x.name === this.preset)?.config ?? DEFAULT_CONFIG;
    return (Object.keys(DEFAULT_CONFIG) as (keyof TrainConfig)[]).filter((k) => JSON.stringify(this.config[k]) !== JSON.stringify(p[k]));
  }

  toggleTarget(t: LoraTarget, on: boolean): void {
    const set = new Set(this.config.loraTargets);
    if (on) set.add(t);
    else set.delete(t);
    this.config.loraTargets = LORA_TARGETS.filter((x) => set.has(x));
  }

  /** A plain copy for the worker (no proxies). */
  snapshot(): TrainConfig {
    return $state.snapshot(this.config) as TrainConfig;
  }

  save(): void {
    try {
      this.store?.setItem(CONFIG_STORAGE_KEY, JSON.stringify({ preset: this.preset, config: this.snapshot() }));
    } catch {
      // storage full or disabled: the settings just are not remembered
    }
  }
}
