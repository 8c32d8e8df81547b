// Checkpoints of the headless trainer as files: the adapter as a PEFT folder (loadable by PEFT,
// TRL, vLLM as is), optimizer moments in optimizer.safetensors, and state.json (step, RNG state,
// config, task, rewards, metrics). Written to a temporary folder and renamed, so a crash mid-write
// leaves the previous checkpoint intact.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensors, toFloat32, writeSafetensors } from '../formats/safetensors';
import { peftConfigJson } from '../lora/peft';
import type { SessionCheckpoint } from '../grpo/session';
import type { LoraTarget } from '../lora/targets';

export async function writeCheckpointDir(dir: string, c: SessionCheckpoint, baseModel: string): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const cfg = c.spec.config;
  const adapter = [...c.adapter].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data }));
  const opt = [...c.optimizer.tensors].map(([name, data]) => ({ name, dtype: 'F32' as const, shape: [data.length], data }));
  await writeFile(join(tmp, 'adapter_model.safetensors'), writeSafetensors(adapter, { format: 'pt' }));
  await writeFile(join(tmp, 'adapter_config.json'), JSON.stringify(peftConfigJson({ r: cfg.loraR, alpha: cfg.loraAlpha, targets: cfg.loraTargets as LoraTarget[] }, baseModel), null, 2));
  await writeFile(join(tmp, 'optimizer.safetensors'), writeSafetensors(opt));
  await writeFile(join(tmp, 'state.json'), JSON.stringify({ step: c.step, optimizerStep: c.optimizer.step, rng: c.rng, spec: c.spec, metrics: c.metrics }));
  await rm(`${dir}.old`, { recursive: true, force: true });
  await rename(dir, `${dir}.old`).catch(() => {});
  await rename(tmp, dir);
  await rm(`${dir}.old`, { recursive: true, force: true });
}

export async function readCheckpointDir(dir: string): Promise<SessionCheckpoint> {
  const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { step: number; optimizerStep: number; rng: SessionCheckpoint['rng']; spec: SessionCheckpoint['spec']; metrics: SessionCheckpoint['metrics'] };
  const ad = readSafetensors(new Uint8Array(await readFile(join(dir, 'adapter_model.safetensors'))));
  const op = readSafetensors(new Uint8Array(await readFile(join(dir, 'optimizer.safetensors'))));
  const adapter = new Map([...ad.tensors].map(([k, t]) => [k, { data: toFloat32(t.info.dtype, t.bytes), shape: t.info.shape }]));
  const tensors = new Map([...op.tensors].map(([k, t]) => [k, toFloat32(t.info.dtype, t.bytes)]));
  return { step: state.step, adapter, optimizer: { step: state.optimizerStep, tensors }, rng: state.rng, spec: state.spec, metrics: state.metrics };
}
