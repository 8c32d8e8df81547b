// What the Dashboard charts and how: the chart list (metric keys, labels, value formats), the
// per-function reward series found in the rows, and SeriesBuffer, which turns metric rows into
// uPlot's column arrays incrementally (only rows it has not seen are read).
import { formatBytes } from '../../gpu/errors';

export interface SeriesSpec {
  key: string;
  label: string;
}

export interface ChartSpec {
  id: string;
  title: string;
  /** one-line meaning, shown under the title */
  help: string;
  series: SeriesSpec[];
  format: (v: number) => string;
}

/** Compact number: 3 significant digits, exponent for very small or large magnitudes. */
export function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a < 1e-3 || a >= 1e6) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

const fmtInt = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '—');

/** Function names with a 'rewards/<fn>/mean' key in any of the rows (first-seen order). */
export function rewardFunctions(rows: readonly Record<string, number>[], from = 0, known: string[] = []): string[] {
  const out = [...known];
  for (let i = from; i < rows.length; i++) {
    for (const k of Object.keys(rows[i])) {
      const m = /^rewards\/(.+)\/mean$/.exec(k);
      if (m && !out.includes(m[1])) out.push(m[1]);
    }
  }
  return out;
}

export function dashboardCharts(fns: readonly string[]): ChartSpec[] {
  return [
    { id: 'reward', title: 'Reward', help: 'mean total reward of the step’s completions, and each function’s mean', series: [{ key: 'reward', label: 'total' }, ...fns.map((f) => ({ key: `rewards/${f}/mean`, label: f }))], format: fmtNum },
    { id: 'reward-std', title: 'Reward std', help: 'spread of the rewards; 0 within a group means no learning signal', series: [{ key: 'reward_std', label: 'reward std' }, { key: 'frac_reward_zero_std', label: 'groups with std 0' }], format: fmtNum },
    { id: 'kl', title: 'KL to the base model', help: 'how far the adapter has moved the policy (0 when beta = 0: not computed)', series: [{ key: 'kl', label: 'KL' }], format: fmtNum },
    { id: 'length', title: 'Completion length (tokens)', help: 'mean, shortest and longest completion of the step', series: [{ key: 'completions/mean_length', label: 'mean' }, { key: 'completions/min_length', label: 'min' }, { key: 'completions/max_length', label: 'max' }], format: fmtInt },
    { id: 'loss', title: 'Loss', help: 'GRPO surrogate loss; it hovers near 0 and is not a progress measure', series: [{ key: 'loss', label: 'loss' }], format: fmtNum },
    { id: 'grad-norm', title: 'Gradient norm', help: 'before clipping; spikes mean unstable updates', series: [{ key: 'grad_norm', label: 'grad norm' }], format: fmtNum },
    { id: 'lr', title: 'Learning rate', help: 'the schedule’s value at each step', series: [{ key: 'learning_rate', label: 'learning rate' }], format: fmtNum },
    { id: 'tokens', title: 'Tokens per second', help: 'sampling throughput of the rollouts', series: [{ key: 'tokens_per_second', label: 'tokens/s' }], format: (v) => (Number.isFinite(v) ? v.toFixed(1) : '—') },
    { id: 'memory', title: 'GPU memory', help: 'peak bytes held by TabZero’s buffers', series: [{ key: 'gpu_memory_bytes', label: 'peak' }], format: (v) => (Number.isFinite(v) ? formatBytes(v) : '—') },
  ];
}

/** Metric rows → uPlot columns [x, ...series]; `sync` reads only the rows added since the last call. */
export class SeriesBuffer {
  readonly x: number[] = [];
  readonly ys: (number | null)[][];
  private seen = 0;
  private first: Record<string, number> | undefined;

  constructor(readonly keys: readonly string[], readonly xKey = 'step') {
    this.ys = keys.map(() => []);
  }

  /** 'reset' when the rows were replaced (fewer, or another first row object), 'append' when rows were added, else 'none'. */
  sync(rows: readonly Record<string, number>[]): 'reset' | 'append' | 'none' {
    let result: 'reset' | 'append' | 'none' = 'none';
    if (rows.length < this.seen || (this.seen > 0 && rows[0] !== this.first)) {
      this.x.length = 0;
      for (const y of this.ys) y.length = 0;
      this.seen = 0;
      result = 'reset';
    }
    if (rows.length === this.seen) return result;
    for (let i = this.seen; i < rows.length; i++) {
      const r = rows[i];
      this.x.push(typeof r[this.xKey] === 'number' ? r[this.xKey] : i + 1);
      this.keys.forEach((k, j) => { const v = r[k]; this.ys[j].push(typeof v === 'number' && Number.isFinite(v) ? v : null); });
    }
    this.first = rows[0];
    this.seen = rows.length;
    return result === 'reset' ? 'reset' : 'append';
  }

  get length(): number {
    return this.x.length;
  }

  /** The newest non-null value of series j, with its x. */
  latest(j: number): { x: number; v: number } | null {
    const y = this.ys[j];
    for (let i = y.length - 1; i >= 0; i--) if (y[i] !== null) return { x: this.x[i], v: y[i] as number };
    return null;
  }

  columns(): [number[], ...(number | null)[][]] {
    return [this.x, ...this.ys];
  }
}
