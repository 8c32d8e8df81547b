// The Task & Rewards panel's state: what to train on (the Countdown generator's settings, with three
// example tasks and the rendered prompt, or an uploaded JSONL of question/answer pairs with its
// row count and line-numbered errors) and the reward set (built-ins with enabled + weight, custom
// JS functions with name, weight and code). Produces the TaskSpec and RewardSpec[] that training
// takes; problems are listed per part; the settings are remembered in localStorage.
import { BUILTIN_REWARDS, validateRewardSpecs, type RewardSample, type RewardSpec } from '../../grpo/rewards';
import type { TaskSpec } from '../../grpo/tasks';
import type { CorrectnessMode } from '../../rewards/correctness';
import { COUNTDOWN_3TO4, countdownPromptBase, countdownPromptQwenInstruct, generateCountdownTasks, type GeneratedCountdownTask } from '../../tasks/countdown';
import type { QaRow } from '../../tasks/dataset';
import { createRng } from '../../tasks/rng';
import { toErrorInfo } from '../../gpu/errors';
import { parseQaJsonlChunked } from '../jsonl-upload';
import { localStore } from './train-config.svelte';

export const TASK_STORAGE_KEY = 'tabzero.task.v1';
/** uploaded files larger than this are not remembered across reloads (localStorage is small) */
const REMEMBER_DATASET_CHARS = 1_000_000;

export const CUSTOM_TEMPLATE = `(completion, sample) => {
  // completion: the generated text (after the prompt)
  // sample: {kind: 'countdown', nums, target} or {kind: 'qa', question, answer, mode}
  // return a number; throwing or returning NaN scores 0 and is reported
  const answers = completion.match(/<answer>/g) ?? [];
  return answers.length === 1 ? 0.1 : 0;
}`;

export interface BuiltinEntry { kind: 'builtin'; name: string; description: string; enabled: boolean; weight: number }
export interface CustomEntry { kind: 'custom'; id: number; name: string; enabled: boolean; weight: number; code: string }
export type RewardEntry = BuiltinEntry | CustomEntry;

export interface CountdownSettings { minNums: number; maxNums: number; seed: number; template: 'base' | 'instruct' }

export interface DatasetInfo { name: string; text: string; rows: QaRow[]; errors: string[]; parsing: boolean; progress: number }

const DEFAULT_ON: Record<TaskSpec['kind'], string> = { countdown: 'countdown', dataset: 'correctness' };

function defaultRewards(kind: TaskSpec['kind']): RewardEntry[] {
  return BUILTIN_REWARDS.map((b) => ({ kind: 'builtin', name: b.name, description: b.description, enabled: b.name === DEFAULT_ON[kind], weight: 1 }));
}

const isInt = (v: unknown, lo: number, hi: number) => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

export class TaskState {
  kind = $state<TaskSpec['kind']>('countdown');
  countdown = $state<CountdownSettings>({ minNums: COUNTDOWN_3TO4.minCount, maxNums: COUNTDOWN_3TO4.maxCount, seed: 42, template: 'instruct' });
  dataset = $state<DatasetInfo>({ name: '', text: '', rows: [], errors: [], parsing: false, progress: 0 });
  answerMode = $state<CorrectnessMode>('auto');
  datasetSeed = $state(42);
  rewards = $state<RewardEntry[]>(defaultRewards('countdown'));
  /** the reward list was edited: switching the task kind no longer swaps the default reward */
  rewardsTouched = $state(false);
  /** result of the last "apply to running training" */
  applyStatus = $state<{ ok: boolean; text: string } | null>(null);
  private nextId = 1;

  readonly countdownIssues: string[] = $derived.by(() => {
    const c = this.countdown;
    const out: string[] = [];
    if (!isInt(c.minNums, 2, 6) || !isInt(c.maxNums, 2, 6)) out.push('numbers per task must be whole numbers from 2 to 6');
    else if (c.minNums > c.maxNums) out.push(`the smallest count (${c.minNums}) is above the largest (${c.maxNums})`);
    if (!isInt(c.seed, 0, 2 ** 32 - 1)) out.push('the seed must be a whole number from 0 to 4294967295');
    return out;
  });

  /** three tasks the generator draws first with these settings (the first three training prompts) */
  readonly examples: GeneratedCountdownTask[] = $derived.by(() => {
    if (this.countdownIssues.length) return [];
    const c = this.countdown;
    try {
      return generateCountdownTasks(createRng(c.seed), 3, { minCount: c.minNums, maxCount: c.maxNums });
    } catch {
      return [];
    }
  });

  readonly promptText: string = $derived(
    this.examples.length ? (this.countdown.template === 'base' ? countdownPromptBase(this.examples[0]) : countdownPromptQwenInstruct(this.examples[0])) : '',
  );

  readonly taskIssues: string[] = $derived.by(() => {
    if (this.kind === 'countdown') return this.countdownIssues;
    const d = this.dataset;
    if (d.parsing) return ['the file is still being read'];
    if (!d.text) return ['upload a JSONL file of {"question", "answer"} lines'];
    const out: string[] = [];
    if (d.errors.length) out.push(`${d.errors.length} bad line${d.errors.length === 1 ? '' : 's'} in the file: fix ${d.errors.length === 1 ? 'it' : 'them'} (training refuses a file with bad lines)`);
    if (!d.rows.length) out.push('the file has no usable rows');
    if (!isInt(this.datasetSeed, 0, 2 ** 32 - 1)) out.push('the shuffle seed must be a whole number from 0 to 4294967295');
    return out;
  });

  readonly rewardIssues: string[] = $derived.by(() => {
    const out: string[] = [];
    const builtinNames = new Set(BUILTIN_REWARDS.map((b) => b.name));
    for (const r of this.rewards) {
      if (r.kind !== 'custom' || !r.enabled) continue;
      const label = r.name.trim() || `custom function #${r.id}`;
      if (!r.name.trim()) out.push(`${label}: give it a name (it labels the charts)`);
      else if (r.name.trim() === 'total') out.push(`${label}: “total” is reserved for the weighted sum`);
      else if (builtinNames.has(r.name.trim())) out.push(`${label}: the name is taken by a built-in reward`);
      if (!r.code.trim()) out.push(`${label}: the code is empty`);
    }
    for (const r of this.rewards) if (r.enabled && (typeof r.weight !== 'number' || !Number.isFinite(r.weight))) out.push(`${r.name || 'a function'}: the weight must be a number`);
    if (!out.length) {
      try {
        validateRewardSpecs(this.rewardSpecs());
      } catch (e) {
        const info = toErrorInfo(e);
        out.push(info.hint ? `${info.message} (${info.hint})` : info.message);
      }
    }
    return out;
  });

  /** reward functions that cannot score this task kind (they always give 0) */
  readonly rewardWarnings: string[] = $derived.by(() => {
    const on = (n: string) => this.rewards.some((r) => r.kind === 'builtin' && r.name === n && r.enabled && r.weight !== 0);
    if (this.kind === 'dataset' && on('countdown')) return ['the countdown reward scores 0 on dataset questions: turn it off or switch on correctness'];
    if (this.kind === 'countdown' && on('correctness')) return ['the correctness reward scores 0 on Countdown tasks: turn it off'];
    return [];
  });

  readonly valid: boolean = $derived(this.taskIssues.length === 0 && this.rewardIssues.length === 0);

  constructor(private store = localStore()) {
    this.restore();
  }

  setKind(kind: TaskSpec['kind']): void {
    if (kind === this.kind) return;
    this.kind = kind;
    if (!this.rewardsTouched) {
      const customs = this.rewards.filter((r) => r.kind === 'custom');
      this.rewards = [...defaultRewards(kind), ...customs];
    }
    this.save();
  }

  /** Marks the reward list as edited by hand (the panel calls it on every reward input). */
  touchRewards(): void {
    this.rewardsTouched = true;
    this.applyStatus = null;
    this.save();
  }

  addCustom(): CustomEntry {
    const id = this.nextId++;
    const taken = new Set(this.rewards.map((r) => r.name));
    let n = 1;
    while (taken.has(`custom_${n}`)) n++;
    const entry: CustomEntry = { kind: 'custom', id, name: `custom_${n}`, enabled: true, weight: 1, code: CUSTOM_TEMPLATE };
    this.rewards.push(entry);
    this.touchRewards();
    return this.rewards[this.rewards.length - 1] as CustomEntry; // the reactive entry, not the plain object pushed

  }

  removeCustom(id: number): void {
    this.rewards = this.rewards.filter((r) => r.kind !== 'custom' || r.id !== id);
    this.touchRewards();
  }

  /** Reads an uploaded file (in slices; see jsonl-upload.ts). */
  async loadFile(name: string, text: string): Promise<void> {
    this.dataset = { name, text: '', rows: [], errors: [], parsing: true, progress: 0 };
    try {
      const r = await parseQaJsonlChunked(text, { onProgress: (done, total) => { this.dataset.progress = done / total; } });
      this.dataset = { name, text, rows: r.rows, errors: r.errors, parsing: false, progress: 1 };
    } catch (e) {
      this.dataset = { name, text: '', rows: [], errors: [toErrorInfo(e).message], parsing: false, progress: 1 };
    }
    this.save();
  }

  clearFile(): void {
    this.dataset = { name: '', text: '', rows: [], errors: [], parsing: false, progress: 0 };
    this.save();
  }

  /** The task for training (check `taskIssues` first). */
  taskSpec(): TaskSpec {
    if (this.kind === 'countdown') {
      const c = this.countdown;
      return { kind: 'countdown', seed: c.seed, minNums: c.minNums, maxNums: c.maxNums, template: c.template };
    }
    return { kind: 'dataset', name: this.dataset.name, jsonl: this.dataset.text, answerMode: this.answerMode, seed: this.datasetSeed };
  }

  /** The enabled reward functions, as training takes them. */
  rewardSpecs(): RewardSpec[] {
    return this.rewards.filter((r) => r.enabled).map((r): RewardSpec =>
      r.kind === 'builtin' ? { kind: 'builtin', name: r.name, weight: r.weight } : { kind: 'custom', name: r.name.trim(), weight: r.weight, code: r.code });
  }

  /** A sample of this task for the playground: the first example, or the dataset's first row. */
  exampleSample(): RewardSample | null {
    if (this.kind === 'countdown') return this.examples[0] ? { kind: 'countdown', nums: this.examples[0].nums, target: this.examples[0].target } : null;
    const row = this.dataset.rows[0];
    if (!row) return null;
    const question = typeof row.prompt === 'string' ? row.prompt : row.prompt.map((m) => m.content).join('\n');
    return { kind: 'qa', question, answer: row.answer, mode: this.answerMode };
  }

  /** Sends the current reward set to a running training (TrainingState.updateRewards). */
  async applyTo(training: { updateRewards(r: RewardSpec[]): Promise<void> }): Promise<void> {
    if (this.rewardIssues.length) {
      this.applyStatus = { ok: false, text: `not applied: ${this.rewardIssues[0]}` };
      return;
    }
    try {
      await training.updateRewards(this.rewardSpecs());
      this.applyStatus = { ok: true, text: 'applied: the next step scores with this reward set' };
    } catch (e) {
      const info = toErrorInfo(e);
      this.applyStatus = { ok: false, text: `not applied: ${info.message}${info.hint ? ` (${info.hint})` : ''}` };
    }
  }

  save(): void {
    const d = this.dataset;
    const keep = d.text.length <= REMEMBER_DATASET_CHARS;
    try {
      this.store?.setItem(TASK_STORAGE_KEY, JSON.stringify({
        kind: this.kind, countdown: $state.snapshot(this.countdown), answerMode: this.answerMode, datasetSeed: this.datasetSeed,
        rewards: $state.snapshot(this.rewards), rewardsTouched: this.rewardsTouched, dataset: keep && d.text ? { name: d.name, text: d.text } : null,
      }));
    } catch {
      // storage full or disabled: the settings are not remembered
    }
  }

  private restore(): void {
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(this.store?.getItem(TASK_STORAGE_KEY) ?? 'null') as Record<string, unknown>;
    } catch {
      return;
    }
    if (!v || typeof v !== 'object') return;
    if (v.kind === 'countdown' || v.kind === 'dataset') this.kind = v.kind;
    const c = v.countdown as Partial<CountdownSettings> | undefined;
    if (c && typeof c === 'object') {
      const num = (x: unknown, d: number) => (typeof x === 'number' ? x : d);
      this.countdown = { minNums: num(c.minNums, 3), maxNums: num(c.maxNums, 4), seed: num(c.seed, 42), template: c.template === 'base' ? 'base' : 'instruct' };
    }
    if (v.answerMode === 'exact' || v.answerMode === 'numeric' || v.answerMode === 'auto') this.answerMode = v.answerMode;
    if (typeof v.datasetSeed === 'number') this.datasetSeed = v.datasetSeed;
    this.rewardsTouched = v.rewardsTouched === true;
    if (Array.isArray(v.rewards)) this.rewards = this.mergeRewards(v.rewards as Partial<RewardEntry>[]);
    const ds = v.dataset as { name?: unknown; text?: unknown } | null;
    if (ds && typeof ds.text === 'string') void this.loadFile(typeof ds.name === 'string' ? ds.name : 'dataset.jsonl', ds.text);
  }

  /** Stored entries onto the current built-in list (new built-ins appear, unknown ones drop out). */
  private mergeRewards(saved: Partial<RewardEntry>[]): RewardEntry[] {
    const out = defaultRewards(this.kind).map((b) => {
      const s = saved.find((x) => x.kind === 'builtin' && x.name === b.name);
      return s ? { ...b, enabled: s.enabled === true, weight: typeof s.weight === 'number' ? s.weight : 1 } : b;
    });
    for (const s of saved) {
      if (s.kind !== 'custom' || typeof s.code !== 'string') continue;
      out.push({ kind: 'custom', id: this.nextId++, name: typeof s.name === 'string' ? s.name : '', enabled: s.enabled !== false, weight: typeof s.weight === 'number' ? s.weight : 1, code: s.code });
    }
    return out;
  }
}
