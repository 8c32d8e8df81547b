// The worker's training commands (start-training, pause, resume, stop, update-rewards). Placeholders
// until the GRPO loop lands: each answers with an error saying so. Signature: (cmd, ctx) => Promise<void>;
// a long job sets ctx.job = { kind: 'training', id } so model commands refuse while it runs.
import { TabZeroError } from '../gpu/errors';
import type { Command } from './protocol';
import type { WorkerContext } from './context';

type Cmd<T extends Command['type']> = Extract<Command, { type: T }>;

const notYet = (what: string) => new TabZeroError(`${what} is not available yet`, 'training arrives in a later version of TabZero; chat with the model meanwhile');

export async function startTraining(_cmd: Cmd<'start-training'>, _ctx: WorkerContext): Promise<void> {
  throw notYet('training');
}

export async function pauseTraining(_cmd: Cmd<'pause'>, _ctx: WorkerContext): Promise<void> {
  throw notYet('pausing training');
}

export async function resumeTraining(_cmd: Cmd<'resume'>, _ctx: WorkerContext): Promise<void> {
  throw notYet('resuming training');
}

export async function stopTraining(_cmd: Cmd<'stop'>, _ctx: WorkerContext): Promise<void> {
  throw notYet('stopping training');
}

export async function updateRewards(_cmd: Cmd<'update-rewards'>, _ctx: WorkerContext): Promise<void> {
  throw notYet('updating rewards');
}
