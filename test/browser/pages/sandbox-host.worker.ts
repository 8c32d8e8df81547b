// Test page worker: scores reward functions with SandboxScorer from inside a module worker (the
// engine worker's situation: the sandbox is a nested Blob worker) and posts the results back.
import { SandboxScorer } from '../../../src/rewards/sandbox';

self.onmessage = async (ev: MessageEvent) => {
  const { id, fns, completions, samples, limits } = ev.data;
  const s = new SandboxScorer(undefined, limits);
  const results = await s.score(fns, completions, samples);
  s.dispose();
  (self as unknown as Worker).postMessage({ id, results, spawned: s.spawned });
};
