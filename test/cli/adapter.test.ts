// `tabzero adapter`: the report for the fixture adapter folder, a zip, the two files and an r > 16
// adapter through the exported functions; then the real CLI once on the fixture folder and once on
// a corrupt zip (exit code 1, one error line + hint, no stack trace).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adapterReport, readAdapterPaths } from '../../src/cli/adapter';
import { buildPeftZip } from '../../src/lora/files';
import { FIXTURES_DIR } from '../helpers/fixtures';
import { fakeAdapter } from '../lora/peft-files';

const ADAPTER = join(FIXTURES_DIR, 'reference-tiny', 'adapter');
let tmp: string;
beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'tabzero-adapter-')); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('adapter report', () => {
  it('the fixture adapter folder (written by PEFT 0.21)', async () => {
    const out = adapterReport(ADAPTER, await readAdapterPaths([ADAPTER]));
    expect(out).toContain('base model: tiny-qwen2');
    expect(out).toContain('r: 4, alpha: 8 (scale 2)');
    expect(out).toContain('targets: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj');
    expect(out).toContain('layers: 2; module shapes [out×in]: ');
    expect(out).toContain('q_proj [64×64]');
    expect(out).toMatch(/tensors: 28 \(F32 ×28\), [\d.]+ KiB of weights, file [\d.]+ KiB \(39328 bytes\)/);
    expect(out).toContain('check: valid');
    expect(out).not.toContain('warning:');
  });

  it('a zip, and the two files, with the r > 16 warning', async () => {
    const a = fakeAdapter({ r: 32, targets: ['q_proj', 'v_proj'] });
    const zip = join(tmp, 'a.zip');
    writeFileSync(zip, buildPeftZip({ config: a.config, safetensors: a.safetensors }));
    const out = adapterReport(zip, await readAdapterPaths([zip]));
    expect(out).toContain('r: 32, alpha: 8');
    expect(out).toContain("warning: r = 32: vLLM's default max_lora_rank is 16; pass --max-lora-rank 32");
    writeFileSync(join(tmp, 'adapter_config.json'), a.configText);
    writeFileSync(join(tmp, 'adapter_model.safetensors'), a.safetensors);
    const two = await readAdapterPaths([join(tmp, 'adapter_model.safetensors'), join(tmp, 'adapter_config.json')]);
    expect(two.layout.tensorCount).toBe(8);
  });

  it('a missing path', async () => {
    await expect(readAdapterPaths([join(tmp, 'nope')])).rejects.toMatchObject({ name: 'LoraError', message: expect.stringMatching(/no such file or folder/) });
  });
});

describe('tabzero adapter (the real CLI)', () => {
  const cli = (args: string[]) => spawnSync('npm', ['run', '--silent', 'cli', '--', 'adapter', ...args], { encoding: 'utf8', timeout: 120_000 });

  it('prints the report for the fixture adapter folder', () => {
    const r = cli(['test/fixtures/reference-tiny/adapter']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('r: 4, alpha: 8');
    expect(r.stdout).toContain('tensors: 28');
    expect(r.stdout).toContain('check: valid');
  });

  it('a corrupt zip: exit code 1, one error line + hint, no stack trace', () => {
    const a = fakeAdapter();
    const zip = buildPeftZip({ config: a.config, safetensors: a.safetensors });
    const bad = join(tmp, 'corrupt.zip');
    writeFileSync(bad, zip.subarray(0, zip.length - 100));
    const r = cli([bad]);
    expect(r.status).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm '));
    expect(lines.length).toBe(2);
    expect(lines[0]).toMatch(/^tabzero: LoraError: .*corrupt\.zip is not a readable zip archive/);
    expect(lines[1]).toMatch(/^\s+hint: /);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
