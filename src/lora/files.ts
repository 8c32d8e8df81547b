// PEFT adapter files ⇄ bytes (pure, no GPU, no I/O): build the .zip TabZero exports
// (adapter_config.json + adapter_model.safetensors + a README.md model card), read a .zip or the two
// files back and validate them (config, safetensors, tensors against the config), and build PEFT
// files from F32 tensors kept in storage. Checks against a loaded base live in check.ts.
import { strFromU8, strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
import { SafetensorsError, readSafetensors, writeSafetensors, type TensorToWrite } from '../formats/safetensors';
import { inspectPeftTensors, peftWarnings, type PeftLayout } from './check';
import { LoraError, parsePeftConfig, peftConfigJson, type PeftSettings, type PeftTensor } from './peft';

export const CONFIG_FILE = 'adapter_config.json';
export const WEIGHTS_FILE = 'adapter_model.safetensors';
export const README_FILE = 'README.md';

/** A validated adapter read from files: everything importPeft needs, plus what to show. */
export interface PeftBundle {
  /** adapter_config.json as parsed */
  config: Record<string, unknown>;
  settings: PeftSettings;
  /** views into `safetensors` */
  tensors: Map<string, PeftTensor>;
  layout: PeftLayout;
  warnings: string[];
  /** adapter_model.safetensors as read */
  safetensors: Uint8Array;
}

/** A file the user picked or dropped (name + bytes); the browser's File is read by the caller. */
export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

/** Largest adapter file read from a zip (a zip bomb guard; a rank-512 1.5B adapter is ≈2.5 GiB). */
export const MAX_UNZIPPED_BYTES = 4 * 1024 ** 3;

/** Parses and validates the two PEFT files. Safetensors errors keep their code, prefixed with the file name. */
export function readPeftFiles(configJson: string | Uint8Array, safetensors: Uint8Array): PeftBundle {
  const text = typeof configJson === 'string' ? configJson : strFromU8(configJson);
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw new LoraError(`${CONFIG_FILE} is not valid JSON: ${(e as Error).message}`, 'export the adapter again with PEFT (model.save_pretrained) or TabZero');
  }
  const settings = parsePeftConfig(config);
  let parsed: ReturnType<typeof readSafetensors>;
  try {
    parsed = readSafetensors(safetensors);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new SafetensorsError(e.code, `${WEIGHTS_FILE} (${e.code}): ${e.message}`, e.hint);
    throw e;
  }
  const tensors = new Map<string, PeftTensor>();
  for (const [name, t] of parsed.tensors) tensors.set(name, { dtype: t.info.dtype, shape: t.info.shape, bytes: t.bytes });
  const layout = inspectPeftTensors(settings, tensors);
  return { config: config as Record<string, unknown>, settings, tensors, layout, warnings: peftWarnings(settings), safetensors };
}

const isZip = (b: Uint8Array): boolean => b.byteLength >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6);
const baseName = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
const dirName = (p: string): string => p.slice(0, Math.max(0, p.lastIndexOf('/')));

/** Picks the folder inside a zip that holds both PEFT files: the shallowest one, which must be unique. */
function pickAdapterDir(names: string[]): string {
  const dirsWith = (file: string) => new Set(names.filter((n) => baseName(n) === file).map(dirName));
  const configs = dirsWith(CONFIG_FILE);
  const weights = dirsWith(WEIGHTS_FILE);
  const both = [...configs].filter((d) => weights.has(d));
  const shown = names.filter((n) => !n.endsWith('/')).slice(0, 6).join(', ') || 'nothing';
  if (!both.length) {
    const missing = !configs.size && !weights.size ? `${CONFIG_FILE} and ${WEIGHTS_FILE}` : !configs.size ? CONFIG_FILE : !weights.size ? WEIGHTS_FILE : `${CONFIG_FILE} and ${WEIGHTS_FILE} in one folder`;
    const bin = names.some((n) => baseName(n) === 'adapter_model.bin');
    throw new LoraError(`zip has no ${missing} (it holds ${shown})`,
      bin ? 'adapter_model.bin (pickle) is not read; save with safe_serialization=True to get adapter_model.safetensors' : `zip the PEFT adapter folder (${CONFIG_FILE} + ${WEIGHTS_FILE})`);
  }
  const depth = (d: string) => (d === '' ? 0 : d.split('/').length);
  const top = Math.min(...both.map(depth));
  const atTop = both.filter((d) => depth(d) === top);
  if (atTop.length > 1) {
    throw new LoraError(`zip holds ${atTop.length} adapters (${atTop.map((d) => d + '/').join(', ')})`, 'zip one adapter folder at a time');
  }
  return atTop[0];
}

/** Reads a .zip holding a PEFT adapter (at its root or in one folder). */
export function readPeftZip(zip: Uint8Array, name = 'adapter.zip'): PeftBundle {
  let names: string[] = [];
  try {
    unzipSync(zip, { filter: (f) => { names.push(f.name); return false; } });
  } catch (e) {
    throw new LoraError(`${name} is not a readable zip archive: ${(e as Error).message}`, 'the download may be incomplete; export or download the adapter again');
  }
  names = names.filter((n) => !n.startsWith('__MACOSX/'));
  const dir = pickAdapterDir(names);
  const want = new Set([CONFIG_FILE, WEIGHTS_FILE].map((f) => (dir ? `${dir}/${f}` : f)));
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip, {
      filter: (f) => {
        if (!want.has(f.name)) return false;
        if (f.originalSize > MAX_UNZIPPED_BYTES) throw new Error(`${f.name} unpacks to ${f.originalSize} bytes, over the ${MAX_UNZIPPED_BYTES}-byte limit`);
        return true;
      },
    });
  } catch (e) {
    throw new LoraError(`${name} is not a readable zip archive: ${(e as Error).message}`, 'the download may be incomplete; export or download the adapter again');
  }
  const at = (f: string) => files[dir ? `${dir}/${f}` : f];
  return readPeftFiles(at(CONFIG_FILE), at(WEIGHTS_FILE));
}

/** Reads what the user picked: one .zip, or adapter_config.json + adapter_model.safetensors (README ignored). */
export function readPeftUpload(files: NamedBytes[]): PeftBundle {
  const list = files.map((f) => f.name).join(', ') || 'no files';
  if (files.length === 1 && (isZip(files[0].bytes) || /\.zip$/i.test(files[0].name))) return readPeftZip(files[0].bytes, files[0].name);
  const zips = files.filter((f) => isZip(f.bytes));
  if (zips.length) throw new LoraError(`pick one .zip on its own, or the two adapter files (got ${list})`, `a PEFT adapter is one .zip, or ${CONFIG_FILE} + ${WEIGHTS_FILE}`);
  const pick = (exact: string, ext: RegExp, what: string): NamedBytes => {
    const named = files.filter((f) => f.name === exact);
    if (named.length === 1) return named[0];
    const byExt = files.filter((f) => ext.test(f.name));
    if (byExt.length === 1) return byExt[0];
    throw new LoraError(byExt.length ? `more than one ${what} among ${list}` : `no ${exact} among ${list}`, `pick ${CONFIG_FILE} and ${WEIGHTS_FILE} together (or one .zip)`);
  };
  if (files.some((f) => f.name === 'adapter_model.bin')) {
    throw new LoraError('adapter_model.bin (a PyTorch pickle) is not read', 'save the adapter with safe_serialization=True to get adapter_model.safetensors');
  }
  const config = pick(CONFIG_FILE, /\.json$/i, '.json file');
  const weights = pick(WEIGHTS_FILE, /\.safetensors$/i, '.safetensors file');
  return readPeftFiles(config.bytes, weights.bytes);
}

/** What the model card says besides the config: optional training facts. */
export interface ModelCardInfo {
  name?: string;
  step?: number;
  metricSummary?: Record<string, number>;
  trainingConfig?: Record<string, unknown>;
}

/** README.md with the Hub's YAML front matter (base_model, library_name) and the adapter's facts. */
export function modelCard(s: Pick<PeftSettings, 'r' | 'alpha' | 'targets' | 'baseModel'>, info: ModelCardInfo = {}): string {
  const base = s.baseModel ?? 'unknown';
  const lines = ['---'];
  if (s.baseModel) lines.push(`base_model: ${s.baseModel}`);
  lines.push('library_name: peft', 'tags:', '- lora', '- grpo', '- tabzero', '---', '',
    `# ${info.name ?? 'LoRA adapter'}`, '',
    `A LoRA adapter for \`${base}\`, trained with GRPO in a browser tab by TabZero (WebGPU).`, '',
    `- r: ${s.r}`, `- lora_alpha: ${s.alpha}`, `- target modules: ${s.targets.join(', ')}`);
  if (info.step !== undefined) lines.push(`- training steps: ${info.step}`);
  const metrics = Object.entries(info.metricSummary ?? {});
  if (metrics.length) lines.push(`- metrics: ${metrics.map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toPrecision(4)}`).join(', ')}`);
  lines.push('', '## Use', '', '```python', 'from peft import AutoPeftModelForCausalLM',
    'model = AutoPeftModelForCausalLM.from_pretrained("path/to/this/folder")', '```', '');
  const warnings = peftWarnings(s);
  if (warnings.some((w) => w.includes('vLLM'))) lines.push(`vLLM: ${warnings.find((w) => w.includes('vLLM'))}.`, '');
  if (info.trainingConfig && Object.keys(info.trainingConfig).length) {
    lines.push('## Training configuration', '', '```json', JSON.stringify(info.trainingConfig, null, 2), '```', '');
  }
  return lines.join('\n');
}

/** adapter_config.json as bytes (2-space JSON, as PEFT writes it). */
export function configBytes(config: Record<string, unknown>): Uint8Array {
  return strToU8(JSON.stringify(config, null, 2) + '\n');
}

/** A .zip of the PEFT files in one folder-less archive; the weights are stored, text is deflated. */
export function buildPeftZip(files: { config: Record<string, unknown>; safetensors: Uint8Array; readme?: string }, opts: { mtime?: Date } = {}): Uint8Array {
  const mtime = opts.mtime ?? new Date();
  const entries: Zippable = {
    [CONFIG_FILE]: [configBytes(files.config), { level: 6, mtime }],
    [WEIGHTS_FILE]: [files.safetensors, { level: 0, mtime }],
  };
  if (files.readme !== undefined) entries[README_FILE] = [strToU8(files.readme), { level: 6, mtime }];
  return zipSync(entries);
}

/** PEFT files from F32 tensors (e.g. a stored adapter): config + safetensors with `{"format":"pt"}`. */
export function peftFilesFromTensors(
  s: { r: number; alpha: number; targets: PeftSettings['targets'] }, baseModel: string,
  tensors: Iterable<[string, { data: Float32Array; shape: number[] }]>,
): { config: Record<string, unknown>; safetensors: Uint8Array } {
  const out: TensorToWrite[] = [...tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data }));
  out.sort((x, y) => (x.name < y.name ? -1 : 1));
  return { config: peftConfigJson(s, baseModel), safetensors: writeSafetensors(out, { format: 'pt' }) };
}
