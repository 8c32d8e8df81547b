// RoPE and the KV-cache write of a layer in one pass: for each token t of a fused qkv [T, (H + 2K)·D]
// row, every q and k head is rotated in place (rotate_half / NeoX layout, as HF Qwen2: for i < D/2,
// x[i] = x1·c − x2·s, x[i + D/2] = x2·c + x1·s with (c, s) = table[pos, i]), and the rotated k heads
// and the v heads are written to the cache at (slot[t], pos[t]):
//   kc[slot, pos, g, d] = rot(k)[g, d],  vc[slot, pos, g, d] = v[g, d].
// The cos/sin table is built on the CPU in float32 exactly as HF does (src/kernels/rope.ts): WGSL's
// cos/sin are only accurate near [−π, π], and angles reach pos · 1 rad (tens of thousands).
// FAN = 1 (the training layout, src/model/train-layout.ts): token t's k and v go to fan[t] slots,
// slot[t] … slot[t] + fan[t] − 1 (a shared prompt row into every branch's slot); FAN = 0: one slot,
// the fan binding unread (decode and prefill bind a dummy).
// A position outside [0, min(maxPos, L)) writes NaN into that token's q and k heads and leaves the
// cache alone (loud, never a clamp into another sequence's cells).
// Bindings: 0 params {T, H, K, D, L, maxPos} · 1 qkv f32[T, (H+2K)·D] (read_write) · 2 slot i32[T]
//           · 3 pos i32[T] · 4 table vec2<f32>[maxPos, D/2] (cos, sin) · 5 kc f32[B, L, K, D] · 6 vc (same)
//           · 7 fan i32[T] (FAN = 1)
// Workgroup: 256 threads, one thread per (t, head, i < D/2) pair, 2-D grid of workgroups past 65535.
struct Params { T: u32, H: u32, K: u32, D: u32, L: u32, maxPos: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> slot: array<i32>;
@group(0) @binding(3) var<storage, read> pos: array<i32>;
@group(0) @binding(4) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> kc: array<f32>;
@group(0) @binding(6) var<storage, read_write> vc: array<f32>;
@group(0) @binding(7) var<storage, read> fan: array<i32>;

override FAN: u32 = 0;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * 256u + lid;
  let half = p.D / 2u;
  let heads = p.H + 2u * p.K;
  let perToken = heads * half;
  let t = g / perToken;
  if (t >= p.T) { return; }
  let r = g - t * perToken;
  let h = r / half;
  let i = r - h * half;
  let a = t * heads * p.D + h * p.D + i;
  let ps = pos[t];
  let valid = ps >= 0 && u32(ps) < min(p.maxPos, p.L);
  let rotated = h < p.H + p.K;
  if (!valid) {
    if (rotated) {
      var nanBits = 0x7fc00000u; // a runtime value: a constant NaN is rejected at shader creation
      qkv[a] = bitcast<f32>(nanBits);
      qkv[a + half] = bitcast<f32>(nanBits);
    }
    return;
  }
  var x1 = qkv[a];
  var x2 = qkv[a + half];
  if (rotated) {
    let cs = table[u32(ps) * half + i];
    let y1 = x1 * cs.x - x2 * cs.y;
    let y2 = x2 * cs.x + x1 * cs.y;
    qkv[a] = y1;
    qkv[a + half] = y2;
    if (h < p.H) { return; } // q heads stay in qkv only
    x1 = y1;
    x2 = y2;
  }
  let kv = select(h - p.H - p.K, h - p.H, rotated); // k head (rotated) or v head index
  var n = 1u;
  if (FAN == 1u) { n = u32(fan[t]); }
  let perSlot = p.L * p.K * p.D;
  for (var c = 0u; c < n; c++) {
    let dst = ((u32(slot[t]) * p.L + u32(ps)) * p.K + kv) * p.D + i + c * perSlot;
    if (rotated) {
      kc[dst] = x1;
      kc[dst + half] = x2;
    } else {
      vc[dst] = x1;
      vc[dst + half] = x2;
    }
  }
}
