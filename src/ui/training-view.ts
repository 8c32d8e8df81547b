// What the training panels read from and call on the training state: the public surface of
// TrainingState (src/ui/state/training.svelte.ts), picked from the class so the two cannot drift, as a
// structural type so test pages can pass a stand-in; plus helpers for the controls and durations.
import type { TrainingState } from './state/training.svelte';
import type { SampleView, TrainingState as TrainingStatus } from '../worker/protocol';

export type { TrainingStatus, SampleView };

export type TrainingView = Pick<TrainingState,
  | 'status' | 'runId' | 'step' | 'totalSteps' | 'metrics' | 'samples' | 'lastCheckpointStep' | 'error' | 'resumable'
  | 'start' | 'pause' | 'resume' | 'stop' | 'updateRewards' | 'eta' | 'secondsPerStep'>;

/** Which controls a status allows. */
export function controlsFor(status: TrainingStatus): { start: boolean; pause: boolean; resume: boolean; stop: boolean } {
  return {
    start: status === 'idle' || status === 'stopped' || status === 'finished' || status === 'failed',
    pause: status === 'running',
    resume: status === 'paused',
    stop: status === 'running' || status === 'paused' || status === 'pausing' || status === 'starting',
  };
}

/** Training is under way (or settling): the config and task cannot change now. */
export function isActive(status: TrainingStatus): boolean {
  return status === 'starting' || status === 'running' || status === 'pausing' || status === 'paused' || status === 'stopping';
}

/** "1 h 05 min", "3 min 20 s", "42 s". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${String(m % 60).padStart(2, '0')} min`;
}
