// Tests for src/formats/safetensors.ts: every header rule rejects a hand-made bad file with its
// own code, random mutations never escape as another error type, writer/reader round trip, and
// the reference-tiny fixtures (BF16 model with tied embeddings, F32 PEFT adapter) parse.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DTYPE_BYTES, elementCount, f16ToF32, parseHeader, readSafetensors, SafetensorsError, toFloat32, toInt32,
  writeSafetensors, type Dtype,
} from '../../src/formats/safetensors';

const enc = new TextEncoder();

/** A file from raw header bytes/text and a data section (or its length). */
function file(header: string | Uint8Array, data: number | Uint8Array = 0, lengthPrefix?: bigint): Uint8Array {
  const hb = typeof header === 'string' ? enc.encode(header) : header;
  const db = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + hb.byteLength + db.byteLength);
  new DataView(out.buffer).setBigUint64(0, lengthPrefix ?? BigInt(hb.byteLength), true);
  out.set(hb, 8);
  out.set(db, 8 + hb.byteLength);
  return out;
}

const entry = (dtype: string, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });
const hdr = (o: Record<string, unknown>) => JSON.stringify(o);

function codeOf(bytes: Uint8Array, fileSize = bytes.byteLength): string {
  try {
    parseHeader(bytes, fileSize);
  } catch (e) {
    if (e instanceof SafetensorsError) return e.code;
    throw e;
  }
  return 'ok';
}

const MALFORMED: [string, string, () => Uint8Array][] = [
  ['too_small', 'a 5-byte file', () => new Uint8Array(5)],
  ['header_too_large', 'length prefix over 100 MB', () => file('{}', 0, 100_000_001n)],
  ['header_too_large', 'length prefix near 2^64', () => file('{}', 0, 0xffff_ffff_ffff_fff0n)],
  ['truncated_header', 'length prefix past the end of the file', () => file('{}', 0, 1000n)],
  ['bad_header_start', 'leading space', () => file(' {}')],
  ['bad_header_start', 'JSON array', () => file('[]')],
  ['bad_header_start', 'UTF-8 BOM', () => file(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))],
  ['bad_header_start', 'empty header', () => file('')],
  ['invalid_utf8', 'lone 0xff byte in a key', () => file(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))],
  ['invalid_json', 'missing value', () => file('{"a": }')],
  ['invalid_json', 'trailing garbage', () => file('{}x')],
  ['duplicate_key', 'tensor name twice', () => file(`{"w":${JSON.stringify(entry('U8', [1], [0, 1]))},"w":${JSON.stringify(entry('U8', [1], [0, 1]))}}`, 1)],
  ['duplicate_key', 'same name through an escape', () => file(`{"a":${JSON.stringify(entry('U8', [1], [0, 1]))},"\\u0061":${JSON.stringify(entry('U8', [1], [0, 1]))}}`, 1)],
  ['duplicate_key', 'dtype twice in one entry', () => file('{"w":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}}', 1)],
  ['duplicate_key', 'metadata key twice', () => file('{"__metadata__":{"a":"1","a":"2"}}')],
  ['bad_metadata', 'metadata value not a string', () => file(hdr({ __metadata__: { format: 1 } }))],
  ['bad_metadata', 'metadata is an array', () => file(hdr({ __metadata__: ['pt'] }))],
  ['bad_entry', 'entry is a number', () => file(hdr({ w: 3 }))],
  ['bad_entry', 'entry without data_offsets', () => file(hdr({ w: { dtype: 'F32', shape: [1] } }))],
  ['bad_entry', 'dtype is a number', () => file(hdr({ w: entry(7 as unknown as string, [1], [0, 4]) }), 4)],
  ['unknown_dtype', 'dtype F33', () => file(hdr({ w: entry('F33', [1], [0, 4]) }), 4)],
  ['unknown_dtype', 'dtype "toString" (an Object.prototype key)', () => file(hdr({ w: entry('toString', [1], [0, 4]) }), 4)],
  ['unsupported_dtype', 'sub-byte dtype F4', () => file(hdr({ w: entry('F4', [2], [0, 1]) }), 1)],
  ['bad_shape', 'negative dimension', () => file(hdr({ w: entry('F32', [-1], [0, 4]) }), 4)],
  ['bad_shape', 'fractional dimension', () => file(hdr({ w: entry('F32', [1.5], [0, 6]) }), 6)],
  ['bad_shape', 'shape is a string', () => file(hdr({ w: entry('F32', '4', [0, 16]) }), 16)],
  ['bad_shape', 'dimension is null', () => file(hdr({ w: entry('F32', [null], [0, 4]) }), 4)],
  ['overflow', 'element count past 2^53', () => file(hdr({ w: entry('F32', [2 ** 30, 2 ** 30, 2 ** 30], [0, 4]) }), 4)],
  ['overflow', 'byte count past 2^53', () => file(hdr({ w: entry('F64', [2 ** 51], [0, 8]) }), 8)],
  ['bad_offsets', 'one offset', () => file(hdr({ w: entry('F32', [1], [0]) }), 4)],
  ['bad_offsets', 'end before begin', () => file(hdr({ w: entry('F32', [1], [8, 4]) }), 8)],
  ['bad_offsets', 'negative begin', () => file(hdr({ w: entry('F32', [1], [-4, 0]) }), 4)],
  ['bad_offsets', 'string offsets', () => file(hdr({ w: entry('F32', [1], ['0', '4']) }), 4)],
  ['length_mismatch', '2 F32 in 4 bytes', () => file(hdr({ w: entry('F32', [2], [0, 4]) }), 4)],
  ['offset_gap', 'first tensor not at 0', () => file(hdr({ w: entry('F32', [1], [4, 8]) }), 8)],
  ['offset_gap', 'hole between tensors', () => file(hdr({ a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) }), 12)],
  ['offset_overlap', 'two tensors share bytes', () => file(hdr({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [4, 12]) }), 12)],
  ['offset_overlap', 'same range twice', () => file(hdr({ a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [0, 4]) }), 4)],
  ['truncated', 'data section too short', () => file(hdr({ w: entry('F32', [4], [0, 16]) }), 12)],
  ['trailing_bytes', 'one byte after the last tensor', () => file(hdr({ w: entry('F32', [1], [0, 4]) }), 5)],
];

describe('parseHeader rejects malformed files', () => {
  it.each(MALFORMED)('%s: %s', (code, _why, make) => {
    const bytes = make();
    expect(codeOf(bytes)).toBe(code);
  });

  it('deep nesting and huge headers neither crash nor hang', () => {
    const deep = `{"a":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`;
    expect(codeOf(file(deep))).toBe('invalid_json'); // deeper than serde_json's 128
    expect(codeOf(file(`{"a":${'['.repeat(127)}${']'.repeat(127)}}`))).toBe('bad_entry');
    const unclosed = `{"a":${'{"b":'.repeat(200_000)}`;
    expect(codeOf(file(unclosed))).toBe('invalid_json');
    const many = `{${Array.from({ length: 50_000 }, (_, i) => `"t${i}":{"dtype":"U8","shape":[1],"data_offsets":[${i},${i + 1}]}`).join(',')}}`;
    expect(parseHeader(file(many, 50_000), 8 + many.length + 50_000).tensors.length).toBe(50_000);
  });

  it('covers at least 15 distinct rules', () => {
    expect(new Set(MALFORMED.map((m) => m[0])).size).toBeGreaterThanOrEqual(15);
  });

  it('messages carry names and numbers, and every error has a hint', () => {
    const bytes = file(hdr({ w: entry('F32', [2], [0, 4]) }), 4);
    try {
      parseHeader(bytes, bytes.byteLength);
      expect.unreachable();
    } catch (x) {
      const err = x as SafetensorsError;
      expect(err.message).toContain('"w"');
      expect(err.message).toContain('4 bytes');
      expect(err.message).toContain('needs 8');
      expect(err.hint.length).toBeGreaterThan(10);
    }
  });

  it('rejects a header that the caller did not pass in full', () => {
    const bytes = file(hdr({ w: entry('U8', [4], [0, 4]) }), 4);
    expect(codeOf(bytes.subarray(0, 12), bytes.byteLength)).toBe('truncated_header');
  });
});

describe('parseHeader accepts what the format allows', () => {
  it('empty file: "{}" and no data', () => {
    expect(parseHeader(file('{}'), 10).tensors).toEqual([]);
  });

  it('trailing space padding, null metadata, unknown entry fields, zero-size tensors, any key order', () => {
    const h = `{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":{"x":[1,{"y":2}]}},`
      + `"__metadata__":null,"z":{"dtype":"U8","shape":[0,3],"data_offsets":[4,4]},"a":{"dtype":"I16","shape":[],"data_offsets":[4,6]}}   `;
    const parsed = parseHeader(file(h, 6), 8 + enc.encode(h).byteLength + 6);
    expect(parsed.tensors.map((t) => [t.name, t.begin, t.end])).toEqual([['b', 0, 4], ['z', 4, 4], ['a', 4, 6]]);
    expect(parsed.metadata).toEqual({});
  });

  it('a tensor named __proto__ stays a tensor and cannot touch prototypes', () => {
    const bytes = writeSafetensors([{ name: '__proto__', dtype: 'U8', shape: [2], data: Uint8Array.of(1, 2) }], { __proto__x: 'y' });
    const { tensors, header } = readSafetensors(bytes);
    expect([...tensors.keys()]).toEqual(['__proto__']);
    expect(header.metadata).toEqual({ __proto__x: 'y' });
    expect(({} as Record<string, unknown>).dtype).toBeUndefined();
  });
});

/** Seeded PRNG (mulberry32) so a failing mutation can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(src: Uint8Array, r: () => number, headerEnd: number): Uint8Array {
  const pick = (n: number) => Math.floor(r() * n);
  const b = src.slice();
  switch (pick(7)) {
    case 0: return b.subarray(0, pick(b.byteLength)); // truncate
    case 1: { for (let k = 1 + pick(4); k > 0; k--) b[pick(headerEnd)] = pick(256); return b; } // header bytes
    case 2: { b[pick(headerEnd)] = '{}[]",:0123456789-.eE \\'.charCodeAt(pick(23)); return b; } // JSON tokens
    case 3: { new DataView(b.buffer).setUint32(0, pick(2 ** 32), true); return b; } // length prefix
    case 4: { // change one digit of a number (shapes, offsets, lengths)
      const digits = [...b.subarray(8, headerEnd).keys()].filter((i) => b[8 + i] >= 0x30 && b[8 + i] <= 0x39);
      if (digits.length) b[8 + digits[pick(digits.length)]] = 0x30 + pick(10);
      return b;
    }
    case 5: { const out = new Uint8Array(b.byteLength + 1 + pick(16)); out.set(b); return out; } // trailing
    default: { const at = pick(headerEnd); return Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1 + pick(8))]); } // delete
  }
}

describe('fuzz: mutations parse or throw SafetensorsError', () => {
  it('600 seeded mutations of a valid file', () => {
    const valid = writeSafetensors([
      { name: 'a', dtype: 'F32', shape: [2, 3], data: new Float32Array(6).fill(1.5) },
      { name: 'b.bias', dtype: 'BF16', shape: [4], data: new Uint8Array(8) },
      { name: 'c', dtype: 'I64', shape: [1], data: new Uint8Array(8) },
      { name: 'empty', dtype: 'U8', shape: [0], data: new Uint8Array(0) },
    ], { format: 'pt' });
    const headerEnd = 8 + Number(new DataView(valid.buffer).getBigUint64(0, true));
    const r = rng(1234);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 600; i++) {
      const m = mutate(valid, r, headerEnd);
      let code = 'ok';
      try {
        const { header, tensors } = readSafetensors(m);
        const last = header.tensors[header.tensors.length - 1];
        expect(header.dataOffset + (last?.end ?? 0)).toBe(m.byteLength);
        for (const t of tensors.values()) expect(t.bytes.byteLength).toBe(elementCount(t.info.shape) * DTYPE_BYTES[t.info.dtype]);
      } catch (e) {
        if (!(e instanceof SafetensorsError)) throw new Error(`mutation ${i} threw ${(e as Error).name}: ${(e as Error).message}`);
        code = e.code;
      }
      outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
    }
    expect(outcomes.size).toBeGreaterThan(5); // the mutations reach many different rules
  });
});

describe('writeSafetensors / readSafetensors round trip', () => {
  it('keeps names, dtypes, shapes, bytes and metadata; data is 8-byte aligned', () => {
    const f32 = Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 3);
    const i32 = Int32Array.from([-7, 0, 2 ** 31 - 1]);
    const u8 = Uint8Array.from([0, 255, 9]);
    const bytes = writeSafetensors([
      { name: 'x.weight', dtype: 'F32', shape: [3, 4], data: f32 },
      { name: 'ids', dtype: 'I32', shape: [3], data: i32 },
      { name: 'q', dtype: 'U8', shape: [3, 1], data: u8 },
    ], { format: 'pt', note: 'ünïcode' });
    const { header, tensors } = readSafetensors(bytes);
    expect(header.dataOffset % 8).toBe(0);
    expect(header.metadata).toEqual({ format: 'pt', note: 'ünïcode' });
    expect(header.tensors.map((t) => t.name)).toEqual(['x.weight', 'ids', 'q']);
    expect(Array.from(toFloat32('F32', tensors.get('x.weight')!.bytes))).toEqual(Array.from(f32));
    expect(Array.from(toInt32('I32', tensors.get('ids')!.bytes))).toEqual(Array.from(i32));
    expect(Array.from(toInt32('U8', tensors.get('q')!.bytes))).toEqual([0, 255, 9]);
    expect(tensors.get('q')!.info.shape).toEqual([3, 1]);
  });

  it('refuses duplicate, reserved names and wrong byte counts', () => {
    const t = { name: 'a', dtype: 'U8' as Dtype, shape: [1], data: new Uint8Array(1) };
    expect(() => writeSafetensors([t, t])).toThrow(/used twice/);
    expect(() => writeSafetensors([{ ...t, name: '__metadata__' }])).toThrow(/reserved/);
    expect(() => writeSafetensors([{ ...t, shape: [2] }])).toThrow(SafetensorsError);
  });

  it('converts BF16, F16 and F64; refuses partial elements', () => {
    expect(Array.from(toFloat32('BF16', Uint8Array.of(0x80, 0x3f, 0x00, 0xc0)))).toEqual([1, -2]);
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0xc000)).toBe(-2);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(Array.from(toFloat32('F64', new Uint8Array(Float64Array.of(0.25).buffer)))).toEqual([0.25]);
    expect(() => toFloat32('F32', new Uint8Array(6))).toThrow(SafetensorsError);
  });
});

describe('reference-tiny fixtures', () => {
  it('model.safetensors: BF16 Qwen2 weights, tied embeddings (no lm_head)', () => {
    const bytes = new Uint8Array(readFileSync('test/fixtures/reference-tiny/model/model.safetensors'));
    const { header, tensors } = readSafetensors(bytes);
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(tensors.size).toBe(26);
    expect(tensors.has('lm_head.weight')).toBe(false);
    expect(tensors.get('model.embed_tokens.weight')!.info).toMatchObject({ dtype: 'BF16', shape: [1024, 64] });
    expect(tensors.get('model.layers.1.self_attn.k_proj.bias')!.info.shape).toEqual([32]);
    for (const t of tensors.values()) expect(t.info.dtype).toBe('BF16');
    const norm = toFloat32('BF16', tensors.get('model.norm.weight')!.bytes);
    expect(norm.every(Number.isFinite)).toBe(true);
  });

  it('every other fixture file passes the strict checks too', () => {
    const { tensors } = readSafetensors(new Uint8Array(readFileSync('test/fixtures/reference-tiny/cases.safetensors')));
    expect(tensors.size).toBe(208);
  });

  it('adapter_model.safetensors: F32 PEFT LoRA keys', () => {
    const bytes = new Uint8Array(readFileSync('test/fixtures/reference-tiny/adapter/adapter_model.safetensors'));
    const { tensors } = readSafetensors(bytes);
    expect(tensors.size).toBe(28);
    const a = tensors.get('base_model.model.model.layers.0.mlp.down_proj.lora_A.weight')!;
    expect(a.info).toMatchObject({ dtype: 'F32', shape: [4, 160] });
    for (const name of tensors.keys()) expect(name).toMatch(/^base_model\.model\.model\.layers\.\d\.(self_attn|mlp)\.\w+_proj\.lora_[AB]\.weight$/);
  });
});
