// Shared by the sampling kernels (prepended to shaders/sample.wgsl and shaders/sample_fast.wgsl,
// each of which declares its own Params `p` with V, R, temperature, seed, step, E, maxNew, pad):
// bindings 1–8, the counter-based noise, workgroup reductions, and writing a row's result.
// Bindings: 1 logits f32[R, V] · 2 seq u32[R] (RNG stream of each row) · 3 eos u32[E]
//           · 4 tokens i32[R] (next input) · 5 done u32[R] · 6 history i32[R, maxNew]
//           · 7 logps f32[R, maxNew] · 8 pos i32[R]
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> seq: array<u32>;
@group(0) @binding(3) var<storage, read> eos: array<u32>;
@group(0) @binding(4) var<storage, read_write> tokens: array<i32>;
@group(0) @binding(5) var<storage, read_write> done: array<u32>;
@group(0) @binding(6) var<storage, read_write> history: array<i32>;
@group(0) @binding(7) var<storage, read_write> logps: array<f32>;
@group(0) @binding(8) var<storage, read_write> pos: array<i32>;

const WG = 256u;
var<workgroup> rf: array<f32, WG>;
var<workgroup> ru: array<u32, WG>;
var<workgroup> flag: u32;

fn pcg(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}

/**
 * −log(u) for u = (k + 0.5) / 2^24, k the top 24 bits of the hash of (seed, sequence, step, vocab
 * id): an Exp(1) draw. Near u = 1 it is tiny (down to 3·10⁻⁸), where WGSL's log may be off by 2^-21
 * absolutely — enough to make it 0 or negative (a key of +∞ or NaN) when 1 − u < ~2^-21: one token
 * in ~2·10⁶, i.e. up to several percent of steps over a 152k vocabulary, each then a random token. So
 * 1 − u (exact in f32) goes through the series −log(1 − w) = w + w²/2 + … when w < 1/16, and log only
 * where its error is relative.
 */
fn neg_log_uniform(seq_id: u32, v: u32) -> f32 {
  let h = pcg(p.seed ^ pcg(seq_id ^ pcg(p.step ^ pcg(v))));
  let w = (f32(16777215u - (h >> 8u)) + 0.5) * (1.0 / 16777216.0); // 1 − u
  if (w < 0.0625) {
    return w * (1.0 + w * (0.5 + w * (1.0 / 3.0 + w * (0.25 + w * (0.2 + w * (1.0 / 6.0 + w * (1.0 / 7.0)))))));
  }
  return -log(1.0 - w);
}

/** order-preserving map f32 → u32 */
fn ord(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn sum_f(lid: u32, v: f32) -> f32 {
  rf[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { rf[lid] += rf[lid + s]; }
    workgroupBarrier();
  }
  let r = workgroupUniformLoad(&rf[0]);
  workgroupBarrier();
  return r;
}

fn max_f(lid: u32, v: f32) -> f32 {
  rf[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { rf[lid] = max(rf[lid], rf[lid + s]); }
    workgroupBarrier();
  }
  let r = workgroupUniformLoad(&rf[0]);
  workgroupBarrier();
  return r;
}

fn sum_u(lid: u32, v: u32) -> u32 {
  ru[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { ru[lid] += ru[lid + s]; }
    workgroupBarrier();
  }
  let r = workgroupUniformLoad(&ru[0]);
  workgroupBarrier();
  return r;
}

/** argmax of (value, id) pairs: larger value wins, then the lower id; returns (value bits, id) */
fn argmax2(lid: u32, v: f32, id: u32) -> vec2<u32> {
  rf[lid] = v;
  ru[lid] = id;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let a = rf[lid];
      let b = rf[lid + s];
      if (b > a || (b == a && ru[lid + s] < ru[lid])) { rf[lid] = b; ru[lid] = ru[lid + s]; }
    }
    workgroupBarrier();
  }
  let r = vec2(bitcast<u32>(workgroupUniformLoad(&rf[0])), workgroupUniformLoad(&ru[0]));
  workgroupBarrier();
  return r;
}

fn argmax(lid: u32, v: f32, id: u32) -> u32 {
  return argmax2(lid, v, id).y;
}

/** z + Gumbel noise of (seed, sequence, step, v): the Gumbel-max key of token v */
fn gumbel(zv: f32, sid: u32, v: u32) -> f32 {
  return zv - log(neg_log_uniform(sid, v));
}

/** done[row], uniform across the workgroup (so it may guard the barriers after it) */
fn row_done(lid: u32, row: u32) -> bool {
  if (lid == 0u) { flag = done[row]; }
  return workgroupUniformLoad(&flag) != 0u;
}

/** z = logits / temperature of (row, v) */
fn z(row: u32, v: u32, invT: f32) -> f32 {
  return logits[row * p.V + v] * invT;
}

/** 1 / temperature; 1 for greedy (temperature ≤ 0), where z = logits */
fn inv_temperature() -> f32 {
  return select(1.0 / p.temperature, 1.0, p.temperature <= 0.0);
}

/** A row already done writes pad (lane 0) and the caller returns: true. Uniform across the workgroup. */
fn pad_if_done(lid: u32, row: u32, slotIndex: u32) -> bool {
  if (!row_done(lid, row)) { return false; }
  if (lid == 0u) { emit_pad(row, slotIndex); }
  return true;
}

/** A finished row: pad, log-prob 0, position advanced. */
fn emit_pad(row: u32, slotIndex: u32) {
  tokens[row] = p.pad;
  history[slotIndex] = p.pad;
  logps[slotIndex] = 0.0;
  pos[row] += 1;
}

/** The sampled token of a row: next input, history, log-prob; EOS marks the row done. */
fn emit(row: u32, slotIndex: u32, tok: u32, logp: f32) {
  var isEos = false;
  for (var i = 0u; i < p.E; i++) { if (eos[i] == tok) { isEos = true; } }
  tokens[row] = i32(tok);
  history[slotIndex] = i32(tok);
  logps[slotIndex] = logp;
  pos[row] += 1;
  if (isEos) { done[row] = 1u; }
}
