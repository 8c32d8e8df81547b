// `tabzero inspect`: the report for a file, a folder (single and sharded), a bnb config, a bad config
// and a hub repo (local stand-in server) through the exported inspect(); then the real CLI once on
// the fixture and once on a corrupt file (exit code 1, one error line, no stack trace).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from '../../src/cli/inspect';
import { FIXTURES_DIR } from '../helpers/fixtures';
import { startHubServer, type HubServer } from '../helpers/hub-server';
import { tinyCheckpoint, tinyConfigJson } from '../model/tiny-checkpoint';

const MODEL = join(FIXTURES_DIR, 'reference-tiny', 'model');
let tmp: string;
let hub: HubServer;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tabzero-inspect-'));
  const sharded = await tinyCheckpoint({ sharded: true, bnb: { doubleQuant: true } });
  const dir = join(tmp, 'hub', 'someone', 'tiny-bnb');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfigJson({ bnb: { doubleQuant: true } })));
  const weightMap: Record<string, string> = {};
  for (const s of sharded.model.shards) {
    writeFileSync(join(dir, s.file), sharded.files.get(s.file)!);
    for (const t of s.header.tensors) weightMap[t.name] = s.file;
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  hub = await startHubServer({ root: join(tmp, 'hub') });
});

afterAll(async () => {
  await hub?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('inspect()', () => {
  it('a model folder: config summary, tensors, dtypes, bytes, complete', async () => {
    const out = await inspect(MODEL);
    expect(out).toContain('config: qwen2, 2 layers, hidden 64, intermediate 160, heads 4 (kv 2, head dim 16), vocab 1024, tied embeddings');
    expect(out).toContain('quantization: none');
    expect(out).toMatch(/tensors: 26, [\d.]+ KiB \(\d+ bytes\)/);
    expect(out).toMatch(/dtypes: BF16 ×26 \(/);
    expect(out).toContain('check: complete');
  });

  it('a bare .safetensors file lists its tensors even when the config beside it is invalid', async () => {
    const dir = join(tmp, 'bad-config');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(MODEL, 'model.safetensors'), join(dir, 'weights.safetensors'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', architectures: ['LlamaForCausalLM'] }));
    const out = await inspect(join(dir, 'weights.safetensors'));
    expect(out).toMatch(/config: invalid — ConfigError: config.json describes model_type "llama"/);
    expect(out).toContain('tensors: 26');
    expect(out).not.toContain('check:');
    rmSync(join(dir, 'config.json'));
    expect(await inspect(join(dir, 'weights.safetensors'))).toMatch(/config: none \(no .*config.json\)/);
  });

  it('a folder whose weights lack a tensor lists the problem', async () => {
    const ck = await tinyCheckpoint({ omit: 'model.norm.weight' });
    const dir = join(tmp, 'incomplete');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfigJson()));
    writeFileSync(join(dir, 'model.safetensors'), ck.files.get('model.safetensors')!);
    const out = await inspect(dir);
    expect(out).toContain('check: 1 problem');
    expect(out).toContain('checkpoint lacks tensor "model.norm.weight" (expected shape [64])');
    expect(out).toContain('hint:');
  });

  it('a hub repo (sharded, bnb NF4) through a local endpoint', async () => {
    const out = await inspect('someone/tiny-bnb', { endpoint: hub.url });
    expect(out).toContain('files: 2 (model-00001-of-00002.safetensors, model-00002-of-00002.safetensors)');
    expect(out).toContain('quantization: bitsandbytes NF4, blocks of 64, double quant on, compute dtype bfloat16, kept 16-bit: lm_head');
    expect(out).toMatch(/dtypes: .*U8 ×\d+/);
    expect(out).toContain('check: complete');
  });

  it('a path that is neither a file, a folder nor a repo id', async () => {
    await expect(inspect(join(tmp, 'nope', 'x.safetensors'))).rejects.toMatchObject({ name: 'SourceError', code: 'not_found' });
  });
});

describe('tabzero inspect (the real CLI)', () => {
  const cli = (args: string[]) => spawnSync('npm', ['run', '--silent', 'cli', '--', 'inspect', ...args], { encoding: 'utf8', timeout: 120_000 });

  it('prints the report for the fixture model', () => {
    const r = cli(['test/fixtures/reference-tiny/model']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('check: complete');
  });

  it('a corrupt file: exit code 1, one error line + hint, no stack trace', () => {
    const bad = join(tmp, 'corrupt.safetensors');
    writeFileSync(bad, new Uint8Array([16, 0, 0, 0, 0, 0, 0, 0, 0x5b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]));
    const r = cli([bad]);
    expect(r.status).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm '));
    expect(lines[0]).toMatch(/^tabzero: SafetensorsError: .*header must start with '\{'/);
    expect(lines.slice(1).every((l) => l.trim().startsWith('hint:'))).toBe(true);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
