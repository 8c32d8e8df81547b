// Reward playground state: a task (a Countdown task typed or generated, or a question/answer pair
// typed or taken from the uploaded file) and a completion; every reward function's score and reason
// for it (built-ins here on the main thread, custom functions through the sandbox when there is
// one); and the current reward set tried on the latest training samples, old total vs new.
import { BUILTIN_REWARDS, type CustomScorer, type RewardSample, type RewardSpec } from '../../grpo/rewards';
import type { CorrectnessMode } from '../../rewards/correctness';
import { generateCountdownTask, solveCountdown } from '../../tasks/countdown';
import { countdownReward } from '../../rewards/countdown';
import { createRng } from '../../tasks/rng';
import type { SampleView } from '../../worker/protocol';
import { toErrorInfo } from '../../gpu/errors';
import { evaluateBuiltins, parseNums, sampleFromPrompt, weightedTotal, type RewardResult } from '../reward-eval';
import type { TaskState } from './task.svelte';

export interface TriedSample {
  step: number;
  completion: string;
  oldTotal: number;
  newTotal: number | null;
  results: RewardResult[];
  /** why it could not be rescored (task not recognised) */
  problem?: string;
}

/** Samples rescored per slice before yielding to the page (keeps each task short). */
const SLICE = 8;
const MAX_TRIED = 64;

export class PlaygroundState {
  kind = $state<'countdown' | 'qa'>('countdown');
  numsText = $state('44, 19, 35');
  target = $state<number | null>(98);
  question = $state('What is 6 * 7?');
  answer = $state('42');
  mode = $state<CorrectnessMode>('auto');
  completion = $state(' 44 + 19 = 63, and 63 + 35 = 98. </think>\n<answer> (44 + 19) + 35 </answer>');
  /** custom function results for the current completion, by name */
  custom = $state<Record<string, { score?: number; error?: string; pending?: boolean }>>({});
  tried = $state<TriedSample[]>([]);
  trying = $state(false);
  tryError = $state<string | null>(null);
  private seed = (Date.now() >>> 0) % 1_000_000;
  private customSeq = 0;

  constructor(private task: TaskState, private scorer: CustomScorer | null = null) {}

  get hasSandbox(): boolean {
    return this.scorer !== null;
  }

  /** The task being scored, or what is wrong with the inputs. */
  get sample(): RewardSample | string {
    if (this.kind === 'qa') {
      if (!this.answer.trim()) return 'enter the reference answer';
      return { kind: 'qa', question: this.question, answer: this.answer, mode: this.mode };
    }
    const nums = parseNums(this.numsText);
    if (typeof nums === 'string') return nums;
    if (typeof this.target !== 'number' || !Number.isSafeInteger(this.target)) return 'the target must be a whole number';
    return { kind: 'countdown', nums, target: this.target };
  }

  /** The reward set as scored here: every built-in (weight 0 and `off` when not enabled), then enabled custom functions. */
  get specs(): (RewardSpec & { off?: boolean })[] {
    const enabled = this.task.rewardSpecs();
    const builtins = BUILTIN_REWARDS.map((b) => {
      const on = enabled.find((s) => s.kind === 'builtin' && s.name === b.name);
      return on ? { ...on } : { kind: 'builtin' as const, name: b.name, weight: 0, off: true };
    });
    return [...builtins, ...enabled.filter((s) => s.kind === 'custom')];
  }

  /** Every function's result for the current completion (custom ones from `custom`). */
  get results(): (RewardResult & { off?: boolean })[] {
    const s = this.sample;
    if (typeof s === 'string') return [];
    const specs = this.specs;
    return evaluateBuiltins(specs, this.completion, s).map((r, i) => {
      if (r.kind !== 'custom') return { ...r, off: specs[i].off };
      const c = this.custom[r.name];
      if (!this.scorer) return { ...r, reason: 'custom functions run in training (no sandbox here)' };
      if (!c || c.pending) return { ...r, reason: 'scoring…' };
      return c.error ? { ...r, score: 0, reason: 'failed', error: c.error } : { ...r, score: c.score ?? 0, reason: 'custom function' };
    });
  }

  get total(): number {
    return weightedTotal(this.results);
  }

  /** Scores the custom functions on the current completion in the sandbox (call after edits settle). */
  async scoreCustom(): Promise<void> {
    const s = this.sample;
    const fns = this.task.rewardSpecs().filter((x): x is Extract<RewardSpec, { kind: 'custom' }> => x.kind === 'custom');
    if (!this.scorer || typeof s === 'string' || !fns.length) { this.custom = {}; return; }
    const seq = ++this.customSeq;
    this.custom = Object.fromEntries(fns.map((f) => [f.name, { pending: true }]));
    try {
      const res = await this.scorer.score(fns.map((f) => ({ name: f.name, code: f.code })), [this.completion], [s]);
      if (seq !== this.customSeq) return;
      this.custom = Object.fromEntries(fns.map((f) => {
        const r = res[f.name]?.[0];
        return [f.name, !r ? { error: 'no result' } : 'error' in r ? { error: r.error } : { score: r.score }];
      }));
    } catch (e) {
      if (seq !== this.customSeq) return;
      const msg = toErrorInfo(e).message;
      this.custom = Object.fromEntries(fns.map((f) => [f.name, { error: msg }]));
    }
  }

  /** A fresh Countdown task (the Task tab's number counts) with an empty think block. */
  generate(): void {
    const c = this.task.countdown;
    const ok = Number.isInteger(c.minNums) && Number.isInteger(c.maxNums) && c.minNums >= 2 && c.maxNums <= 6 && c.minNums <= c.maxNums;
    const t = generateCountdownTask(createRng(this.seed++), ok ? { minCount: c.minNums, maxCount: c.maxNums } : {});
    this.kind = 'countdown';
    this.numsText = t.nums.join(', ');
    this.target = t.target;
  }

  /** Loads row `i` (0-based) of the uploaded file. */
  useRow(i: number): void {
    const row = this.task.dataset.rows[i];
    if (!row) return;
    this.kind = 'qa';
    this.question = typeof row.prompt === 'string' ? row.prompt : row.prompt.map((m) => m.content).join('\n');
    this.answer = row.answer;
    this.mode = this.task.answerMode;
  }

  /** Example completions for the current task: 'right', 'wrong' or 'none' (no answer tag). */
  fill(which: 'right' | 'wrong' | 'none'): void {
    const s = this.sample;
    if (typeof s === 'string') return;
    if (s.kind === 'qa') {
      this.completion = which === 'none' ? ' I think the answer is probably something.' : ` Working it out step by step. </think>\n<answer> ${which === 'right' ? s.answer : `${s.answer}0`} </answer>`;
      return;
    }
    const expr = solveCountdown(s.nums, s.target) ?? s.nums.join(' + ');
    // a well-formed answer that misses: the sum, else the product, else one number left out
    const wrong = [s.nums.join(' + '), s.nums.join(' * '), s.nums.slice(1).join(' + ')].find((e) => countdownReward(`<answer>${e}</answer>`, s) !== 1) ?? '0';
    if (which === 'none') this.completion = ` Let me add them: ${wrong}. I am not sure.`;
    else this.completion = ` Trying combinations of ${s.nums.join(', ')} to reach ${s.target}. </think>\n<answer> ${which === 'right' ? expr : wrong} </answer>`;
  }

  /** Rescores the latest step's samples (at most 64) with the current reward set, in slices. */
  async tryOn(samples: readonly SampleView[]): Promise<void> {
    if (this.trying) return;
    this.trying = true;
    this.tryError = null;
    try {
      const latest = samples.length ? samples[0].step : null;
      const chosen = samples.filter((s) => s.step === latest).slice(0, MAX_TRIED);
      const specs = this.task.rewardSpecs();
      const rows = this.task.dataset.rows;
      const out: TriedSample[] = [];
      for (let i = 0; i < chosen.length; i += SLICE) {
        for (const v of chosen.slice(i, i + SLICE)) {
          const sample = sampleFromPrompt(v.prompt, rows, this.task.answerMode);
          if (!sample) { out.push({ step: v.step, completion: v.completion, oldTotal: v.total, newTotal: null, results: [], problem: 'task not recognised in the prompt' }); continue; }
          const results = evaluateBuiltins(specs, v.completion, sample);
          out.push({ step: v.step, completion: v.completion, oldTotal: v.total, newTotal: weightedTotal(results), results });
        }
        await new Promise((r) => setTimeout(r, 0));
      }
      await this.addCustomScores(chosen, out, specs);
      this.tried = out;
    } catch (e) {
      this.tryError = toErrorInfo(e).message;
    } finally {
      this.trying = false;
    }
  }

  private async addCustomScores(chosen: readonly SampleView[], out: TriedSample[], specs: RewardSpec[]): Promise<void> {
    const fns = specs.filter((x): x is Extract<RewardSpec, { kind: 'custom' }> => x.kind === 'custom');
    if (!fns.length) return;
    const idx = out.map((o, i) => (o.newTotal === null ? -1 : i)).filter((i) => i >= 0);
    if (!this.scorer) {
      for (const i of idx) out[i].results = out[i].results.map((r) => (r.kind === 'custom' ? { ...r, reason: 'custom functions run in training' } : r));
      return;
    }
    const samples = idx.map((i) => sampleFromPrompt(chosen[i].prompt, this.task.dataset.rows, this.task.answerMode)!);
    const res = await this.scorer.score(fns.map((f) => ({ name: f.name, code: f.code })), idx.map((i) => out[i].completion), samples);
    idx.forEach((i, k) => {
      out[i].results = out[i].results.map((r) => {
        if (r.kind !== 'custom') return r;
        const got = res[r.name]?.[k];
        if (!got) return { ...r, score: 0, error: 'no result' };
        return 'error' in got ? { ...r, score: 0, reason: 'failed', error: got.error } : { ...r, score: got.score };
      });
      out[i].newTotal = weightedTotal(out[i].results);
    });
  }
}
