// bitsandbytes NF4 on the CPU: the quant-state JSON, double-quantized absmax expansion, the nibble
// order (bnb: first element in the HIGH nibble; ours: in the low one), repacking into q4 and the
// assembler that gathers a linear's tensors in any order.
import { describe, expect, it } from 'vitest';
import { BnbAssembler, dequantizeBnbRows, expandAbsmax, parseBnbQuantState, repackBnbToQ4, type BnbTensor } from '../../src/model/bnb';
import { NF4_CODEBOOK, dequantizeQ4, f16BitsToF32 } from '../../src/formats/q4';
import { normal } from '../helpers/random';
import { bnbQuantize, dynamicMap } from './tiny-checkpoint';

const json = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const STATE = { quant_type: 'nf4', blocksize: 64, dtype: 'bfloat16', shape: [4, 128] };

describe('bnb quant state', () => {
  it('parses plain and double-quantized states', () => {
    expect(parseBnbQuantState('w', json(STATE))).toMatchObject({ blocksize: 64, shape: [4, 128], nested: null });
    const nested = parseBnbQuantState('w', json({ ...STATE, nested_blocksize: 256, nested_dtype: 'float32', nested_offset: 0.1 }));
    expect(nested.nested).toEqual({ blocksize: 256, offset: Math.fround(0.1), dtype: 'float32' });
  });

  it('rejects what it cannot load, naming the tensor', () => {
    expect(() => parseBnbQuantState('w', json({ ...STATE, blocksize: 128 }))).toThrow('bnb-4bit tensor "w" uses blocks of 128');
    expect(() => parseBnbQuantState('w', json({ ...STATE, quant_type: 'fp4' }))).toThrow('only "nf4" is supported');
    expect(() => parseBnbQuantState('w', new Uint8Array([0x7b, 0xff]))).toThrow('quant_state is not UTF-8 JSON');
    expect(() => parseBnbQuantState('w', json({ ...STATE, shape: 'x' }))).toThrow('quant_state.shape');
  });
});

describe('bnb NF4 layout', () => {
  it('first element in the high nibble; our q4 has it in the low nibble of the same byte', () => {
    const codes = Array.from({ length: 64 }, (_, i) => (i * 7 + 3) % 16);
    const packed = Uint8Array.from({ length: 32 }, (_, i) => (codes[2 * i] << 4) | codes[2 * i + 1]);
    const t: BnbTensor = { name: 'w', N: 1, K: 64, packed, absmax: Float32Array.of(2), quantMap: NF4_CODEBOOK, blocksize: 64 };
    const q = repackBnbToQ4(t);
    for (let i = 0; i < 64; i++) expect((q.codes[i >> 3] >>> (4 * (i & 7))) & 15).toBe(codes[i]);
    expect(f16BitsToF32(q.scales[0])).toBe(2);
    expect(Array.from(dequantizeBnbRows(t, 0, 1))).toEqual(codes.map((c) => NF4_CODEBOOK[c] * 2));
  });

  it('double quantization: absmax = code[q] · nested_absmax[j / 256] + offset, in f32', () => {
    const code = dynamicMap();
    expect(code).toHaveLength(256);
    expect(code[0]).toBeCloseTo(-0.99297, 5); // the signed dynamic map has +1 but not -1
    expect(code[255]).toBe(1);
    const q = Uint8Array.from({ length: 600 }, (_, j) => (j * 37) % 256);
    const nested = Float32Array.of(0.5, 0.25, 0.125);
    const out = expandAbsmax(q, nested, code, 0.01, 256);
    for (const j of [0, 255, 256, 599]) expect(out[j]).toBe(Math.fround(Math.fround(code[q[j]] * nested[Math.floor(j / 256)]) + Math.fround(0.01)));
  });

  for (const doubleQuant of [false, true]) {
    it(`repacked q4 dequantizes to bnb's values within the f16 rounding of absmax (double quant ${doubleQuant})`, () => {
      const [N, K] = [48, 256];
      const name = 'model.layers.0.mlp.gate_proj.weight';
      const { tensors, stored } = bnbQuantize(name, normal(5, N * K, 0.02), N, K, doubleQuant);
      const asm = new BnbAssembler();
      let t: BnbTensor | null = null;
      for (const x of [...tensors].reverse()) { // companions before the weight: any order works
        const part = BnbAssembler.split(x.name, (n) => n === name);
        expect(part).not.toBeNull();
        const bytes = new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength);
        t = asm.add(part!.weight, part!.part, x.dtype, x.shape, bytes, N, K) ?? t;
      }
      expect(asm.waiting()).toEqual([]);
      expect(t).not.toBeNull();
      expect(Array.from(t!.absmax)).toEqual(Array.from(stored.absmax));
      const ours = dequantizeQ4(repackBnbToQ4(t!));
      const bnb = dequantizeBnbRows(t!, 0, N);
      expect(Array.from(bnb)).toEqual(Array.from(stored.dequant));
      for (let i = 0; i < ours.length; i++) expect(Math.abs(ours[i] - bnb[i])).toBeLessThanOrEqual(2 ** -11 * Math.abs(bnb[i]));
    });
  }

  it('a linear missing a companion stays waiting', () => {
    const name = 'w';
    const { tensors } = bnbQuantize(name, normal(6, 64 * 64, 0.02), 64, 64, true);
    const asm = new BnbAssembler();
    for (const x of tensors.filter((x) => !x.name.endsWith('nested_quant_map'))) {
      const part = BnbAssembler.split(x.name, (n) => n === name)!;
      expect(asm.add(part.weight, part.part, x.dtype, x.shape, new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength), 64, 64)).toBeNull();
    }
    expect(asm.waiting()).toEqual(['w']);
  });
});
