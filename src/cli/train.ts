// `tabzero train`: the browser's GRPO loop, headless. Model from a folder (or a random-weight model
// of any config.json shape, for benchmarks), Countdown or a JSONL dataset, built-in rewards;
// metrics as JSONL (one object per step), checkpoints as PEFT folders + optimizer state, --resume.
import { parseArgs } from 'node:util';
import { appendFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireDevice, parseDisable, type OptionalFeature } from '../gpu/device';
import { NODE_GPU_FLAGS, nodeGpu } from '../gpu/node';
import { parseQwen2Config } from '../model/config';
import { buildRandomModel } from '../model/random';
import { createTokenizer, type TabTokenizer } from '../model/tokenizer';
import { destroyModel } from '../model/weights';
import { LORA_TARGETS, makeConfig, presetConfig, presets, type TrainConfig } from '../grpo/config';
import { TrainingSession, type SessionTokenizer } from '../grpo/session';
import type { RewardSpec } from '../grpo/rewards';
import type { TaskSpec } from '../grpo/tasks';
import { folderModelFiles } from './generate';
import { loadFromFiles } from '../worker/model-load';
import { readCheckpointDir, writeCheckpointDir } from './checkpoint-files';

const USAGE = `usage: tabzero train (--model <folder> | --random-model <config.json> --tokenizer <folder>)
  [--preset NAME] [--set key=value …] [--steps N] [--task countdown | --dataset file.jsonl]
  [--rewards countdown:1,think_answer_format:0.5] [--metrics out.jsonl] [--checkpoint-dir DIR] [--resume] [--bf16]
  [--disable shader-f16,subgroups,chromium-experimental-subgroup-matrix]`;

function usage(message: string): Error {
  return Object.assign(new Error(message), { name: 'UsageError', hint: `${USAGE}\npresets: ${presets.map((p) => JSON.stringify(p.name)).join(', ')}` });
}

/** --set key=value overrides, typed by the default config's field types. */
export function applySets(cfg: TrainConfig, sets: string[]): TrainConfig {
  const out: Record<string, unknown> = { ...cfg };
  for (const s of sets) {
    const i = s.indexOf('=');
    const key = s.slice(0, i);
    const raw = s.slice(i + 1);
    if (i < 1 || !(key in cfg)) throw usage(`--set ${JSON.stringify(s)}: unknown setting; known: ${Object.keys(cfg).join(', ')}`);
    const cur = (cfg as unknown as Record<string, unknown>)[key];
    if (typeof cur === 'number') out[key] = Number(raw);
    else if (typeof cur === 'boolean') out[key] = raw === 'true';
    else if (Array.isArray(cur)) out[key] = raw.split(',').filter(Boolean);
    else out[key] = raw;
  }
  return out as unknown as TrainConfig;
}

export function parseRewards(s: string): RewardSpec[] {
  return s.split(',').filter(Boolean).map((part) => {
    const [name, w] = part.split(':');
    return { kind: 'builtin', name, weight: w === undefined ? 1 : Number(w) };
  });
}

export async function runTrain(argv: string[]): Promise<number> {
  const str = { type: 'string' } as const;
  const { values: v } = parseArgs({
    args: argv,
    options: {
      model: str, 'random-model': str, tokenizer: str, preset: str, set: { type: 'string', multiple: true }, steps: str,
      dataset: str, task: str, rewards: str, metrics: str, 'checkpoint-dir': str, resume: { type: 'boolean' }, bf16: { type: 'boolean' }, disable: str,
    },
  });
  if (!v.model && !v['random-model']) throw usage('--model or --random-model is required');
  let cfg = v.preset ? presetConfig(v.preset) : makeConfig();
  cfg = applySets(cfg, v.set ?? []);
  if (v.steps) cfg = { ...cfg, totalSteps: Number(v.steps) };
  if (!cfg.loraTargets.every((t) => (LORA_TARGETS as readonly string[]).includes(t))) throw usage(`loraTargets must be among ${LORA_TARGETS.join(', ')}`);
  const task: TaskSpec = v.dataset
    ? { kind: 'dataset', name: v.dataset, jsonl: await readFile(v.dataset, 'utf8'), answerMode: 'auto', seed: cfg.seed }
    : { kind: 'countdown', seed: cfg.seed, minNums: 3, maxNums: 4, template: 'instruct' };
  const rewards = parseRewards(v.rewards ?? (v.dataset ? 'correctness:1,think_answer_format:0.5' : 'countdown:1'));
  let disable: OptionalFeature[];
  try {
    disable = parseDisable(v.disable ?? '');
  } catch (e) {
    throw usage((e as Error).message);
  }
  const gpu = await acquireDevice(await nodeGpu(NODE_GPU_FLAGS), { disable });
  const linearFormat = v.bf16 ? 'bf16' : 'q4';
  let weights;
  let tok: SessionTokenizer;
  let name: string;
  if (v.model) {
    const m = await loadFromFiles(gpu, await folderModelFiles(v.model), { linearFormat, embedFormat: 'bf16', log: (n) => console.error(n) });
    m.engine.destroy();
    weights = m.weights;
    tok = sessionTokenizer(m.tokenizer);
    name = m.name;
  } else {
    if (!v.tokenizer) throw usage('--random-model needs --tokenizer <folder with tokenizer.json and tokenizer_config.json>');
    const config = parseQwen2Config(JSON.parse(await readFile(v['random-model']!, 'utf8')));
    const t = createTokenizer(await readFile(join(v.tokenizer, 'tokenizer.json'), 'utf8'), await readFile(join(v.tokenizer, 'tokenizer_config.json'), 'utf8'));
    tok = sessionTokenizer(t);
    weights = await buildRandomModel(gpu, config, { linearFormat, embedFormat: 'bf16', seed: cfg.seed });
    name = `random:${v['random-model']}`;
  }
  const dir = v['checkpoint-dir'];
  const ckpt = v.resume && dir ? await readCheckpointDir(dir) : undefined;
  const session = await TrainingSession.create(gpu, weights, tok, { config: cfg, task, rewards }, { ckpt });
  console.error(`training ${name}: ${cfg.totalSteps} steps, G=${cfg.numGenerations} × ${cfg.promptsPerStep} prompts, completion ≤ ${cfg.maxCompletionLength}, ${ckpt ? `resumed at step ${ckpt.step}` : 'new run'}`);
  if (v.metrics && !ckpt) writeFileSync(v.metrics, '');
  try {
    while (!session.done) {
      const r = await session.runStep();
      const line = JSON.stringify({ step: session.step, ...r.metrics });
      if (v.metrics) appendFileSync(v.metrics, `${line}\n`);
      const m = r.metrics;
      console.log(`step ${session.step}: reward ${m.reward.toFixed(3)} ± ${m.reward_std.toFixed(3)}, loss ${m.loss.toFixed(4)}, kl ${m.kl.toFixed(4)}, len ${m['completions/mean_length'].toFixed(0)}, ${m.step_time.toFixed(2)} s (rollout ${m['time/rollout'].toFixed(2)}), ${(m.gpu_memory_bytes / 2 ** 30).toFixed(2)} GiB`);
      if (dir && (session.done || (cfg.checkpointEvery > 0 && session.step % cfg.checkpointEvery === 0))) {
        await writeCheckpointDir(dir, await session.checkpoint(), name);
        console.error(`checkpoint: ${dir} (step ${session.step})`);
      }
    }
  } finally {
    session.destroy();
    destroyModel(gpu, weights);
    gpu.destroy();
  }
  return 0;
}

function sessionTokenizer(t: TabTokenizer): SessionTokenizer {
  return {
    encode: (text, o) => t.encode(text, o), decode: (ids, o) => t.decode(ids, o),
    applyChatTemplate: (messages, o) => t.applyChatTemplate(messages as Parameters<TabTokenizer['applyChatTemplate']>[0], o),
    eosTokenIds: [...t.eosTokenIds],
  };
}
