// Fills words [offset, offset + n) of dst with counter-based pseudo-random data (random-weight models
// for benchmarks; no host copy of a large tensor). Word i depends only on (seed, i):
//   h(i, k) = lowbias32(lowbias32(i + lowbias32(seed)) + k · 0x9e3779b9)
//   MODE 0: h(i, 0)                                                  (q4 codes, int8 weights)
//   MODE 1: two f16 per word, bits uniform in [lo, hi) (positive f16 bit patterns are ordered)
//   MODE 2: two bf16 per word ≈ N(0, σ²): Irwin–Hall sum of four 22-bit uniforms, centred, times
//           p.scale = σ·√3 / 2^22 (one correctly rounded f32 multiply), rounded to bf16 (nearest even)
// Integer math and one multiply, so src/reference/random_fill.ts reproduces every bit.
// Bindings: 0 params {n, offset, seed, lo, hi, scale} · 1 dst u32[offset + n] (read_write)
// Workgroup: WG threads (override), one word each; workgroups flattened over x and y.
struct Params { n: u32, offset: u32, seed: u32, lo: u32, hi: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;

override WG: u32 = 256;
/** 0: bits, 1: f16 range, 2: bf16 normal */
override MODE: u32 = 0;

fn lowbias32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

/** f32 bits → bf16 bits, round to nearest even (NaN stays NaN), as f32ToBf16Bits */
fn bf16_bits(u: u32) -> u32 {
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu) != 0u) { return (u >> 16u) | 0x40u; }
  return ((u + 0x7fffu + ((u >> 16u) & 1u)) >> 16u) & 0xffffu;
}

fn normal_bf16(base: u32, k0: u32) -> u32 {
  var s = 0u;
  for (var k = k0; k < k0 + 4u; k++) { s += lowbias32(base + k * 0x9e3779b9u) >> 10u; }
  let x = (f32(s) - 8388608.0) * p.scale;
  return bf16_bits(bitcast<u32>(x));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) { return; }
  let base = lowbias32(i + lowbias32(p.seed));
  var v: u32;
  if (MODE == 0u) {
    v = lowbias32(base);
  } else if (MODE == 1u) {
    let span = p.hi - p.lo;
    v = (p.lo + lowbias32(base) % span) | ((p.lo + lowbias32(base + 0x9e3779b9u) % span) << 16u);
  } else {
    v = normal_bf16(base, 0u) | (normal_bf16(base, 4u) << 16u);
  }
  dst[p.offset + i] = v;
}
