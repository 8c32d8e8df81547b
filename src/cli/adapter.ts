// `tabzero adapter <dir|zip|two files>`: validates a PEFT LoRA adapter as TabZero would import it and
// prints r, alpha, targets, layers, tensor count, bytes, base model and portability warnings.
// Bad input throws an error with a hint (main.ts prints one line + the hint, exit 1).
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CONFIG_FILE, WEIGHTS_FILE, readPeftUpload, type NamedBytes, type PeftBundle } from '../lora/files';
import { LoraError } from '../lora/peft';
import { formatBytes } from '../model/memory';

/** Reads a folder (its adapter_config.json + adapter_model.safetensors), a .zip, or the two files. */
export async function readAdapterPaths(paths: string[]): Promise<PeftBundle> {
  const files: NamedBytes[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => null);
    if (!st) throw new LoraError(`${p}: no such file or folder`, 'pass a PEFT adapter folder, a .zip of one, or its two files');
    if (st.isDirectory()) {
      const names = await readdir(p);
      for (const n of [CONFIG_FILE, WEIGHTS_FILE, 'adapter_model.bin']) {
        if (names.includes(n)) files.push({ name: n, bytes: new Uint8Array(await readFile(join(p, n))) });
      }
      if (!files.length) throw new LoraError(`${p} has neither ${CONFIG_FILE} nor ${WEIGHTS_FILE}`, 'point at the folder that PEFT\'s save_pretrained wrote');
    } else {
      files.push({ name: basename(p), bytes: new Uint8Array(await readFile(p)) });
    }
  }
  return readPeftUpload(files);
}

/** The report printed by `tabzero adapter`. */
export function adapterReport(source: string, b: PeftBundle): string {
  const dtypes = new Map<string, number>();
  for (const t of b.tensors.values()) dtypes.set(t.dtype, (dtypes.get(t.dtype) ?? 0) + 1);
  const shapes = b.settings.targets.map((t) => `${t} [${b.layout.shapes[t]?.out}×${b.layout.shapes[t]?.in}]`).join(', ');
  const lines = [
    `source: ${source}`,
    `base model: ${b.settings.baseModel ?? 'not named'}`,
    `r: ${b.settings.r}, alpha: ${b.settings.alpha} (scale ${+(b.settings.alpha / b.settings.r).toPrecision(4)})`,
    `targets: ${b.settings.targets.join(', ')}`,
    `layers: ${b.layout.numLayers}; module shapes [out×in]: ${shapes}`,
    `tensors: ${b.layout.tensorCount} (${[...dtypes].map(([d, n]) => `${d} ×${n}`).join(', ')}), ${formatBytes(b.layout.dataBytes)} of weights, file ${formatBytes(b.safetensors.byteLength)} (${b.safetensors.byteLength} bytes)`,
    'check: valid — TabZero can import this adapter onto a base model with these shapes',
  ];
  if (b.warnings.length) lines.push(...b.warnings.map((w) => `warning: ${w}`));
  return lines.join('\n');
}

/** `tabzero adapter <dir | file.zip | adapter_config.json adapter_model.safetensors>` */
export async function runAdapter(argv: string[]): Promise<number> {
  if (argv.length < 1 || argv.length > 2 || argv.some((a) => a.startsWith('--'))) {
    throw Object.assign(new Error(`adapter takes a folder, a .zip, or the two adapter files; got ${argv.length} argument(s)`), {
      name: 'UsageError', hint: 'usage: tabzero adapter <folder | adapter.zip | adapter_config.json adapter_model.safetensors>',
    });
  }
  console.log(adapterReport(argv.join(' '), await readAdapterPaths(argv)));
  return 0;
}
