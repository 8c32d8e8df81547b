// Node entry point (bundled by scripts/bundle.mjs): `tabzero <command> [options]`.
// Commands: info, bench, bench-load, inspect. Bad input prints one clear line and exits non-zero (no stack trace).
import { runBench } from './bench/run';
import { runBenchLoad } from './bench/load';
import { runInfo } from './info';
import { runInspect } from './inspect';

const USAGE = `usage: tabzero <command> [options]
  info                                                                       GPU adapter, limits and a kernel self-test
  bench [--json out.json] [--quick] [--iters N] [--disable subgroups,shader-f16]   kernel benchmarks on this machine's GPU
  bench-load [--json out.json] [--quick]   (or bench --load)                   random 1.5B-shape model build: GPU/host memory, time; quantize-at-load speed
  inspect <file.safetensors | folder | owner/name> [--endpoint URL] [--revision REV]   a checkpoint's config, tensors, dtypes, quantization and completeness`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'bench':
      return runBench(rest);
    case 'bench-load':
      return runBenchLoad(rest);
    case 'info':
      return runInfo();
    case 'inspect':
      return runInspect(rest);
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return command ? 0 : 2;
    default:
      console.error(`tabzero: unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const err = e as { name?: string; message?: string; hint?: string };
    console.error(`tabzero: ${err.name ?? 'Error'}: ${err.message ?? String(e)}${err.hint ? `\n  hint: ${err.hint}` : ''}`);
    if (process.env.TABZERO_DEBUG) console.error(e);
    process.exit(1);
  },
);
