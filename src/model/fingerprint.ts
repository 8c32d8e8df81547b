// A short fingerprint of a checkpoint's weights, so a stored adapter knows which base it was trained
// on (two fine-tunes of one shape differ in it; a re-upload of the same weights in other shards does
// not). It hashes, per tensor, its name, dtype and shape and three 4 KiB windows of its bytes (start,
// middle, end) — every weight of a fine-tune changes, so samples suffice, and a 3 GB load hashes
// ~4 MB instead of all of it. SHA-256 (Web Crypto, in browsers, workers and Node), first 64 bits, as
// "w1-<16 hex>". Random-weight models: a hash of their config and seed.

const WINDOW = 4096;

export class WeightsFingerprint {
  private readonly parts = new Map<string, Uint8Array>();

  /** Records one tensor (name, dtype, shape and sampled bytes); tensors may come in any order. */
  add(name: string, dtype: string, shape: readonly number[], bytes: Uint8Array): void {
    const head = new TextEncoder().encode(`${name}\0${dtype}\0${shape.join(',')}\0${bytes.byteLength}\0`);
    const n = bytes.byteLength;
    const windows = n <= 3 * WINDOW ? [bytes] : [0, (n >> 1) - (WINDOW >> 1), n - WINDOW].map((o) => bytes.subarray(o, o + WINDOW));
    const out = new Uint8Array(head.byteLength + windows.reduce((s, w) => s + w.byteLength, 0));
    out.set(head, 0);
    let o = head.byteLength;
    for (const w of windows) { out.set(w, o); o += w.byteLength; }
    this.parts.set(name, out);
  }

  /** The fingerprint of every tensor added, sorted by name. */
  async digest(): Promise<string> {
    const names = [...this.parts.keys()].sort();
    return fingerprintOf(names.map((k) => this.parts.get(k)!));
  }
}

/** Fingerprint of a random-weight model (its config and seed decide every weight). */
export function randomFingerprint(config: object, seed: number, formats: string): Promise<string> {
  return fingerprintOf([new TextEncoder().encode(`random\0${seed}\0${formats}\0${JSON.stringify(config)}`)]);
}

async function fingerprintOf(chunks: Uint8Array[]): Promise<string> {
  const all = new Uint8Array(chunks.reduce((s, c) => s + c.byteLength, 0));
  let o = 0;
  for (const c of chunks) { all.set(c, o); o += c.byteLength; }
  const d = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', all));
  return `w1-${[...d.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}
