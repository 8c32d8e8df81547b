// Test page (built by test/helpers/test-pages.ts, never part of the app): exposes `window.tz` so the
// browser test can score custom reward functions with the real SandboxScorer (Blob worker), both from
// this page and from inside a module worker (as the engine worker does: a nested sandbox worker).
import { SandboxScorer, type CallResult, type SandboxLimits } from '../../../src/rewards/sandbox';
import type { RewardSample } from '../../../src/grpo/rewards';

type Fns = { name: string; code: string }[];
type Scored = { results: Record<string, CallResult[]>; spawned: number };

async function score(fns: Fns, completions: string[], samples: RewardSample[], limits: Partial<SandboxLimits> = {}): Promise<Scored> {
  const s = new SandboxScorer(undefined, limits);
  try {
    return { results: await s.score(fns, completions, samples), spawned: s.spawned };
  } finally {
    s.dispose();
  }
}

let host: Worker | null = null;
let next = 0;
const waiting = new Map<number, (r: Scored) => void>();

function scoreInWorker(fns: Fns, completions: string[], samples: RewardSample[], limits: Partial<SandboxLimits> = {}): Promise<Scored> {
  if (!host) {
    host = new Worker(new URL('./sandbox-host.worker.ts', import.meta.url), { type: 'module' });
    host.onmessage = (ev: MessageEvent<Scored & { id: number }>) => waiting.get(ev.data.id)?.(ev.data);
  }
  const id = ++next;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    host!.postMessage({ id, fns, completions, samples, limits });
  });
}

(window as unknown as { tz: unknown }).tz = { score, scoreInWorker };
document.body.dataset.ready = 'true';
