// `tabzero info`: the GPU adapter, its features and limits, and the kernel self-test, in Node.
import { acquireDevice } from '../gpu/device';
import { nodeGpu } from '../gpu/node';
import { gpuSelfTest } from '../worker/selftest';

export async function runInfo(): Promise<number> {
  const t0 = performance.now();
  const ctx = await acquireDevice(await nodeGpu(['enable-dawn-features=allow_unsafe_apis']));
  console.log(`device in ${(performance.now() - t0).toFixed(0)} ms`);
  console.log(JSON.stringify({ adapter: ctx.adapter, features: ctx.features, limits: ctx.limits }, null, 1));
  const st = await gpuSelfTest(ctx);
  console.log(`self-test: ${st.ok ? 'passed' : 'FAILED'} rel ${st.relError.toExponential(2)} in ${st.ms.toFixed(0)} ms`);
  ctx.destroy();
  return st.ok ? 0 : 1;
}
