// Test page (built by test/helpers/test-pages.ts, never part of the app): mounts one training panel
// (Dashboard, Samples, Train, Task & Rewards, Playground) on a FakeTraining the test drives through
// `window.tz` — steps streamed in, status changes — so the panels can be checked and screenshotted
// with data, without a GPU run.
import { mount } from 'svelte';
import '../../../src/ui/theme.css';
import DashboardPanel from '../../../src/ui/panels/DashboardPanel.svelte';
import SamplesPanel from '../../../src/ui/panels/SamplesPanel.svelte';
import TrainPanel from '../../../src/ui/panels/TrainPanel.svelte';
import TaskPanel from '../../../src/ui/panels/TaskPanel.svelte';
import PlaygroundPanel from '../../../src/ui/panels/PlaygroundPanel.svelte';
import { TaskState } from '../../../src/ui/state/task.svelte';
import { TrainConfigState } from '../../../src/ui/state/train-config.svelte';
import { PlaygroundState } from '../../../src/ui/state/playground.svelte';
import type { ModelState } from '../../../src/ui/state/model.svelte';
import { SandboxScorer } from '../../../src/rewards/sandbox';
import { chartWork } from '../../../src/ui/charts/frame-queue';
import { FakeTraining } from './fake-training.svelte';

const training = new FakeTraining();
const task = new TaskState();
const cfg = new TrainConfigState();
const model = { status: 'loaded', summary: { name: 'test/tiny-qwen2' } } as unknown as ModelState;

/** Long main-thread tasks seen since the page loaded: [start, duration] in ms. */
const longTasks: [number, number][] = [];
new PerformanceObserver((list) => { for (const e of list.getEntries()) longTasks.push([Math.round(e.startTime), Math.round(e.duration)]); }).observe({ type: 'longtask', buffered: true });

const tz = {
  training, task, cfg, longTasks, chartWork,
  mount(which: 'dashboard' | 'samples' | 'train' | 'task' | 'playground'): void {
    const target = document.getElementById('app')!;
    if (which === 'dashboard') mount(DashboardPanel, { target, props: { training, active: true } });
    else if (which === 'samples') mount(SamplesPanel, { target, props: { training } });
    else if (which === 'train') mount(TrainPanel, { target, props: { training, cfg, task, model, adapterName: 'countdown-v1' } });
    else if (which === 'task') mount(TaskPanel, { target, props: { task, training } });
    else mount(PlaygroundPanel, { target, props: { play: new PlaygroundState(task, new SandboxScorer()), task, training } });
  },
  addSteps(n: number): void { training.addSteps(n); },
  now: () => performance.now(),
  /** Streams `n` steps, one every `ms` milliseconds; resolves when done. */
  stream(n: number, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let left = n;
      const t = setInterval(() => { training.addSteps(1); if (--left === 0) { clearInterval(t); resolve(); } }, ms);
    });
  },
};

(window as unknown as { tz: typeof tz }).tz = tz;
document.body.dataset.ready = 'true';
