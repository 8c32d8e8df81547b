// The engine worker: owns the WebGPU device and dispatches the UI's commands (protocol.ts) to their
// hosts: model-host (load, generate), training-host (GRPO), adapter-host (PEFT files), all sharing
// one WorkerContext. Errors of any command go back as {type: 'error', id, error: {name, message, hint}}.
import { acquireDevice, browserGpu } from '../gpu/device';
import { toErrorInfo } from '../gpu/errors';
import type { Command, Event } from './protocol';
import { createWorkerContext } from './context';
import { gpuSelfTest } from './selftest';
import { mmaSupport } from '../kernels/matmul_mma';
import { cancelLoadCommand, generateCommand, loadModelCommand, stopGenerateCommand, unloadModelCommand } from './model-host';
import { pauseTraining, resumeTraining, startTraining, stopTraining, updateRewards } from './training-host';
import { clearAdapter, exportAdapter, importAdapter, loadStoredAdapter } from './adapter-host';

const scope = self as unknown as Worker;
const ctx = createWorkerContext((e: Event, transfer?: Transferable[]) => scope.postMessage(e, transfer ?? []), () => acquireDevice(browserGpu()));

async function handle(cmd: Command): Promise<void> {
  switch (cmd.type) {
    case 'probe': {
      const c = await ctx.device();
      ctx.post({ type: 'gpu-info', id: cmd.id, info: { adapter: c.adapter, features: c.features, tensorCores: mmaSupport(c), limits: c.limits, selfTest: await gpuSelfTest(c) } });
      return;
    }
    case 'load-model': return loadModelCommand(cmd, ctx);
    case 'cancel-load': return cancelLoadCommand(cmd, ctx);
    case 'unload-model': return unloadModelCommand(cmd, ctx);
    case 'generate': return generateCommand(cmd, ctx);
    case 'stop-generate': return stopGenerateCommand(cmd, ctx);
    case 'start-training': return startTraining(cmd, ctx);
    case 'pause': return pauseTraining(cmd, ctx);
    case 'resume': return resumeTraining(cmd, ctx);
    case 'stop': return stopTraining(cmd, ctx);
    case 'update-rewards': return updateRewards(cmd, ctx);
    case 'export-adapter': return exportAdapter(cmd, ctx);
    case 'import-adapter': return importAdapter(cmd, ctx);
    case 'load-stored-adapter': return loadStoredAdapter(cmd, ctx);
    case 'clear-adapter': return clearAdapter(cmd, ctx);
    default: {
      const never: never = cmd;
      throw new Error(`unknown command ${JSON.stringify((never as { type?: unknown }).type)}`);
    }
  }
}

scope.onmessage = (ev: MessageEvent<Command>) => {
  handle(ev.data).catch((e: unknown) => ctx.post({ type: 'error', id: ev.data.id ?? null, error: toErrorInfo(e) }));
};
