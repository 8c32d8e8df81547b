// Node entry point (bundled by scripts/bundle.mjs): `tabzero <command> [options]`.
// Commands: info, bench, bench-load, bench-rollout, bench-step, bench-encode, bench-check, inspect, adapter, generate, train. Bad input prints one clear line and exits non-zero (no stack trace).
import { runBench } from './bench/run';
import { runBenchLoad } from './bench/load';
import { runInfo } from './info';
import { runInspect } from './inspect';
import { runGenerate } from './generate';
import { runAdapter } from './adapter';
import { runTrain } from './train';
import { runBenchRollout, runBenchStep } from './bench/grpo';
import { runBenchEncode } from './bench/encode';
import { runBenchCheck } from './bench/check';

const USAGE = `usage: tabzero <command> [options]
  info [--disable shader-f16,…]                                              GPU adapter, limits and a kernel self-test
  bench [--json out.json] [--quick] [--iters N] [--disable subgroups,shader-f16]   kernel benchmarks on this machine's GPU
  bench-load [--json out.json] [--quick]   (or bench --load)                   random 1.5B-shape model build: GPU/host memory, time; quantize-at-load speed
  inspect <file.safetensors | folder | owner/name> [--endpoint URL] [--revision REV]   a checkpoint's config, tensors, dtypes, quantization and completeness
  adapter <folder | adapter.zip | adapter_config.json adapter_model.safetensors>   validates a PEFT LoRA adapter: r, alpha, targets, tensors, bytes, base model, warnings
  train (--model <folder> | --random-model <config.json> --tokenizer <folder>) [--preset NAME] [--set k=v] [--steps N] [--metrics out.jsonl] [--checkpoint-dir DIR] [--resume] [--disable shader-f16,…]   headless GRPO
  bench-rollout [--g 1,8,16] [--completion 256] [--prompt 128] [--full] [--no-breakdown] [--in-flight N] [--poll-interval-ms T] [--json out.json]   group sampling on the 1.5B-shape 4-bit model (--full: that shape on SwiftShader too)
  bench-step [--g 8] [--steps 3] [--micro 1] [--json out.json]                one full GRPO step by phase, peak GPU memory
  bench-encode [--g 1,8,16] [--iters 100] [--json out.json]                  CPU time to encode one decode step (1.5B shape, with and without LoRA)
  bench-check [--disable subgroups]                                          the matmul kernels (every GEMV layout, tiled) vs the CPU reference on this GPU
  generate --model <folder | owner/name> [--adapter <folder>] --prompt "…" [--max-tokens N] [--temperature T] [--top-p P] [--top-k K] [--seed S] [--bf16] [--disable shader-f16,…]   chat reply streamed to stdout`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'bench':
      return runBench(rest);
    case 'bench-load':
      return runBenchLoad(rest);
    case 'info':
      return runInfo(rest);
    case 'inspect':
      return runInspect(rest);
    case 'generate':
      return runGenerate(rest);
    case 'adapter':
      return runAdapter(rest);
    case 'train':
      return runTrain(rest);
    case 'bench-rollout':
      return runBenchRollout(rest);
    case 'bench-step':
      return runBenchStep(rest);
    case 'bench-encode':
      return runBenchEncode(rest);
    case 'bench-check':
      return runBenchCheck(rest);
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
