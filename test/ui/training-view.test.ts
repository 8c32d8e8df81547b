// The training controls follow the status (Start only when nothing runs, Pause while running,
// Resume while paused, Stop while a run is under way), and durations read well.
import { describe, expect, it } from 'vitest';
import { controlsFor, formatDuration, isActive } from '../../src/ui/training-view';

describe('training controls', () => {
  it('enables buttons by status', () => {
    expect(controlsFor('idle')).toEqual({ start: true, pause: false, resume: false, stop: false });
    expect(controlsFor('starting')).toEqual({ start: false, pause: false, resume: false, stop: true });
    expect(controlsFor('running')).toEqual({ start: false, pause: true, resume: false, stop: true });
    expect(controlsFor('pausing')).toEqual({ start: false, pause: false, resume: false, stop: true });
    expect(controlsFor('paused')).toEqual({ start: false, pause: false, resume: true, stop: true });
    expect(controlsFor('stopping')).toEqual({ start: false, pause: false, resume: false, stop: false });
    for (const s of ['stopped', 'finished', 'failed'] as const) expect(controlsFor(s)).toEqual({ start: true, pause: false, resume: false, stop: false });
    expect(isActive('paused')).toBe(true);
    expect(isActive('finished')).toBe(false);
  });

  it('formats durations', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(42.4)).toBe('42 s');
    expect(formatDuration(200)).toBe('3 min 20 s');
    expect(formatDuration(3900)).toBe('1 h 05 min');
    expect(formatDuration(Number.NaN)).toBe('—');
  });
});
