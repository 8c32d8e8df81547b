// `tabzero info`: the GPU adapter, its features and limits, and the kernel self-test, in Node.
import { parseArgs } from 'node:util';
import { acquireDevice, parseDisable } from '../gpu/device';
import { NODE_GPU_FLAGS, nodeGpu } from '../gpu/node';
import { gpuSelfTest } from '../worker/selftest';
import { mmaSupport } from '../kernels/matmul_mma';

export async function runInfo(argv: string[] = []): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { disable: { type: 'string', default: '' } } });
  const disable = parseDisable(values.disable);
  const t0 = performance.now();
  const ctx = await acquireDevice(await nodeGpu(NODE_GPU_FLAGS), { disable });
  console.log(`device in ${(performance.now() - t0).toFixed(0)} ms`);
  console.log(JSON.stringify({ adapter: ctx.adapter, features: ctx.features, limits: ctx.limits }, null, 1));
  // the decode matmuls of 9 or more rows (16 a dispatch) run on subgroup matrices (tensor cores) where the device has them (src/kernels/matmul_mma.ts)
  const why = mmaSupport(ctx);
  console.log(`decode matmuls on subgroup matrices: ${why ? `no (${why})` : 'yes'}`);
  const st = await gpuSelfTest(ctx);
  console.log(`self-test: ${st.ok ? 'passed' : 'FAILED'} rel ${st.relError.toExponential(2)} in ${st.ms.toFixed(0)} ms`);
  ctx.destroy();
  return st.ok ? 0 : 1;
}
