// `tabzero info`: the GPU adapter, its features and limits, and the kernel self-test, in Node.
import { acquireDevice } from '../gpu/device';
import { nodeGpu } from '../gpu/node';
import { gpuSelfTest } from '../worker/selftest';
import { mmaSupport } from '../kernels/matmul_mma';

export async function runInfo(): Promise<number> {
  const t0 = performance.now();
  const ctx = await acquireDevice(await nodeGpu(['enable-dawn-features=allow_unsafe_apis']));
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
