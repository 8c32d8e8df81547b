// The training layout's attention spans (src/model/train-layout.ts), prepended to the attention
// backward kernels. Every row carries its unit's u = (start, P, n, end): P prompt rows from `start`,
// then n branches step-major (branch i's rows start + P + i, + n, …) up to `end`.
//   a prompt row t:  keys [start, t];                               queries t, t + 1, … < end
//   a branch row t:  keys [start, start + P), then its branch's rows  queries t, t + n, … < end
//                    start + P + i, + n, … ≤ t
struct Keys { k0: u32, n1: u32, k2: u32, st: u32, len: u32 }

// the keys of query row t: n1 rows from k0, then rows k2, k2 + st, … ≤ t (len in all)
fn keys_of(t: u32, u: vec4<i32>) -> Keys {
  let start = u32(u.x);
  let P = u32(u.y);
  if (t < start + P) { return Keys(start, 0u, start, 1u, t - start + 1u); }
  let st = u32(u.z);
  let k2 = start + P + (t - start - P) % st;
  return Keys(start, P, k2, st, P + (t - k2) / st + 1u);
}

// row of the s-th key (s < len)
fn key_row(k: Keys, s: u32) -> u32 {
  return select(k.k2 + (s - k.n1) * k.st, k.k0 + s, s < k.n1);
}

// the queries of key row j: j, j + step, … < end (count of them)
fn query_step(j: u32, u: vec4<i32>) -> u32 {
  return select(u32(u.z), 1u, j < u32(u.x) + u32(u.y));
}

fn query_count(j: u32, u: vec4<i32>) -> u32 {
  let step = query_step(j, u);
  return (u32(u.w) - j + step - 1u) / step;
}

// key row j's index in its segment (the prompt, or its branch), whose keys are query_step(j) apart
fn segment_index(j: u32, u: vec4<i32>) -> u32 {
  let P = u32(u.x) + u32(u.y);
  return select((j - P) / query_step(j, u), j - u32(u.x), j < P);
}
