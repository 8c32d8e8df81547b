// The engine worker: owns the WebGPU device and answers the UI's commands (protocol.ts).
import { acquireDevice, browserGpu, type GpuContext } from '../gpu/device';
import { toErrorInfo } from '../gpu/errors';
import type { Command, Event } from './protocol';
import { gpuSelfTest } from './selftest';

let ctx: Promise<GpuContext> | null = null;

function post(e: Event): void {
  (self as unknown as Worker).postMessage(e);
}

function device(): Promise<GpuContext> {
  ctx ??= acquireDevice(browserGpu()).catch((e) => {
    ctx = null; // let a later command try again
    throw e;
  });
  return ctx;
}

async function handle(cmd: Command): Promise<void> {
  switch (cmd.type) {
    case 'probe': {
      const c = await device();
      post({ type: 'gpu-info', id: cmd.id, info: { adapter: c.adapter, features: c.features, limits: c.limits, selfTest: await gpuSelfTest(c) } });
      return;
    }
    default: {
      const never: never = cmd.type;
      throw new Error(`unknown command ${String(never)}`);
    }
  }
}

self.onmessage = (ev: MessageEvent<Command>) => {
  handle(ev.data).catch((e: unknown) => post({ type: 'error', id: ev.data.id ?? null, error: toErrorInfo(e) }));
};
