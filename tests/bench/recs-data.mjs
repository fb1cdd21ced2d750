// Deterministic synthetic catalogues for the recommendations benchmark (bench/recs.mjs), and
// the encoders that write them the way the SDK reads them:
//   - the binary catalogue (`.atcat`), following sdk-core/src/recommend/binary.rs exactly, with
//     embeddings unit-normalised and quantised to i8 like `catalog::quantize`;
//   - the JSON catalogue (same content, f32 embeddings; the SDK quantises them identically);
//   - the plain-JS ranker's columns: unit Float32 embeddings, 5 tag ids per item (Int32), the
//     popularity prior ln(1 + p) / ln(1 + max p) (Float32) — what catalog.rs computes.
//
// Items: DIM-d embeddings drawn around one of CLUSTERS latent centroids (plus noise), exactly
// TAGS_PER_ITEM distinct tags from a vocabulary of TAG_VOCAB (two from the cluster's own tags,
// the rest Zipf over the whole vocabulary), Zipf popularity, all available. Everything comes
// from one seeded PRNG per size, so every run ranks the same data.

export const DIM = 64;
export const CLUSTERS = 24;
export const TAG_VOCAB = 300;
export const TAGS_PER_ITEM = 5;
export const SIGNALS = 20;

/** mulberry32: small, fast, good enough for synthetic data. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare = null;
  const gauss = () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  return { next, gauss, int: (n) => Math.floor(next() * n) };
}

/** Samples 0..n-1 with P(k) ∝ 1 / (k + 1)^s (inverse CDF over a precomputed table). */
function zipfSampler(n, s, rnd) {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k += 1) {
    total += 1 / (k + 1) ** s;
    cdf[k] = total;
  }
  return () => {
    const x = rnd.next() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** Rust's `f64::round` (half away from zero), unlike Math.round. */
const roundHalfAway = (x) => Math.sign(x) * Math.round(Math.abs(x));

/**
 * `catalog::quantize`: unit-normalise in f64, scale so the largest |component| is 127, round,
 * clamp. Returns the i8 vector and the scale back to unit length that the SDK will compute from
 * it (`unit_scale`: 1 / ‖q‖, as f32), so the plain-JS check can use the very same numbers.
 */
export function quantize(v) {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  let max = 0;
  for (const x of v) max = Math.max(max, Math.abs(x / norm));
  const scale = max / 127;
  const q = new Int8Array(v.length);
  let qnorm = 0;
  for (let k = 0; k < v.length; k += 1) {
    q[k] = Math.min(127, Math.max(-127, roundHalfAway(v[k] / norm / scale)));
    qnorm += q[k] * q[k];
  }
  return { q, unitScale: Math.fround(1 / Math.sqrt(qnorm)) };
}

/** Generates the catalogue of `n` items and the visitor's signals. Deterministic per `n`. */
export function generate(n) {
  const rnd = prng(0x5eed0000 + n);
  const tagNames = Array.from({ length: TAG_VOCAB }, (_, t) => `t${String(t).padStart(3, '0')}`);
  const centroids = Array.from({ length: CLUSTERS }, () => {
    const c = Array.from({ length: DIM }, () => rnd.gauss());
    const norm = Math.hypot(...c);
    return c.map((x) => x / norm);
  });
  // Each cluster has a few tags of its own (a "category"), drawn from the vocabulary.
  const clusterTags = Array.from({ length: CLUSTERS }, () => Array.from({ length: 8 }, () => rnd.int(TAG_VOCAB)));
  const zipfTag = zipfSampler(TAG_VOCAB, 1.0, rnd);

  const cluster = new Int32Array(n);
  const raw = new Float32Array(n * DIM); // as published (not unit length)
  const tags = new Int32Array(n * TAGS_PER_ITEM);
  const noise = 0.9 / Math.sqrt(DIM);
  for (let i = 0; i < n; i += 1) {
    const c = rnd.int(CLUSTERS);
    cluster[i] = c;
    const length = 0.5 + rnd.next(); // published vectors need not be unit length
    for (let k = 0; k < DIM; k += 1) raw[i * DIM + k] = length * (centroids[c][k] + noise * rnd.gauss());
    const own = [];
    while (own.length < TAGS_PER_ITEM) {
      const t = own.length < 2 ? clusterTags[c][rnd.int(8)] : zipfTag();
      if (!own.includes(t)) own.push(t);
    }
    tags.set(own, i * TAGS_PER_ITEM);
  }
  // Zipf popularity: a random permutation of ranks, count ∝ 1 / rank.
  const rank = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i -= 1) {
    const j = rnd.int(i + 1);
    [rank[i], rank[j]] = [rank[j], rank[i]];
  }
  const popularity = new Float32Array(n);
  for (let i = 0; i < n; i += 1) popularity[i] = Math.round(200_000 / (rank[i] + 1) ** 1.07);

  // The visitor: views of SIGNALS distinct items from two clusters (what they are into).
  const liked = new Set([3, 11]);
  const signals = [];
  for (let guard = 0; signals.length < Math.min(SIGNALS, n) && guard < 100 * n; guard += 1) {
    const i = rnd.int(n);
    if (liked.has(cluster[i]) && !signals.includes(i)) signals.push(i);
  }
  return { n, dim: DIM, tagNames, raw, tags, popularity, signals, ids: idList(n) };
}

const idList = (n) => Array.from({ length: n }, (_, i) => `i${String(i).padStart(6, '0')}`);
const title = (i) => `Item ${i}`;
const url = (i) => `/p/${i}`;

/** The binary catalogue, byte for byte as sdk-core/src/recommend/binary.rs reads it. */
export function encodeBinary(cat) {
  const { n, dim, tagNames, raw, tags, popularity, ids } = cat;
  const enc = new TextEncoder();
  const chunks = [];
  let size = 0;
  const buf = new ArrayBuffer(1 << 20);
  const view = new DataView(buf);
  const bytes = new Uint8Array(buf);
  let at = 0;
  const flush = () => {
    chunks.push(bytes.slice(0, at));
    size += at;
    at = 0;
  };
  const room = (k) => at + k > buf.byteLength && flush();
  const u8 = (x) => (room(1), view.setUint8(at, x), (at += 1));
  const u16 = (x) => (room(2), view.setUint16(at, x, true), (at += 2));
  const u32 = (x) => (room(4), view.setUint32(at, x, true), (at += 4));
  const f32 = (x) => (room(4), view.setFloat32(at, x, true), (at += 4));
  const str = (s) => {
    const b = enc.encode(s);
    u16(b.length);
    room(b.length);
    bytes.set(b, at);
    at += b.length;
  };
  for (const c of 'ATCAT') u8(c.charCodeAt(0));
  u8(0);
  u16(1); // format
  u32(n);
  u32(dim);
  str(`bench-${n}`); // revision
  u32(tagNames.length);
  for (const t of tagNames) str(t);
  const F_AVAILABLE = 1;
  const F_POPULARITY = 4;
  const F_EMBEDDING = 8;
  for (let i = 0; i < n; i += 1) {
    str(ids[i]);
    str(title(i));
    str(url(i));
    str(''); // no image
    u8(F_AVAILABLE | F_POPULARITY | F_EMBEDDING); // no price, no category (the first tag is)
    f32(popularity[i]);
    u8(TAGS_PER_ITEM);
    for (let k = 0; k < TAGS_PER_ITEM; k += 1) u32(tags[i * TAGS_PER_ITEM + k]);
    const { q } = quantize(raw.subarray(i * dim, (i + 1) * dim));
    room(dim);
    bytes.set(new Uint8Array(q.buffer), at);
    at += dim;
  }
  flush();
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** The JSON catalogue with the same content (f32 embeddings as published). */
export function encodeJson(cat) {
  const { n, dim, tagNames, raw, tags, popularity, ids } = cat;
  const parts = [`{"format":1,"revision":"bench-${n}","dim":${dim},"items":[`];
  for (let i = 0; i < n; i += 1) {
    const own = Array.from(tags.subarray(i * TAGS_PER_ITEM, (i + 1) * TAGS_PER_ITEM), (t) => tagNames[t]);
    // Each f32 printed as its shortest double form: parses back to the very same f32.
    const emb = Array.from(raw.subarray(i * dim, (i + 1) * dim)).join(',');
    parts.push(
      `${i ? ',' : ''}{"id":"${ids[i]}","title":"${title(i)}","url":"${url(i)}","tags":${JSON.stringify(own)},` +
        `"available":true,"popularity":${popularity[i]},"embedding":[${emb}]}`,
    );
  }
  parts.push(']}');
  return Buffer.from(parts.join(''));
}

/**
 * The plain-JS ranker's columns (one little-endian file):
 *   u32 n, u32 dim, u32 tagsPerItem, u32 tagVocab, u32 signals,
 *   signals × u32 item index,
 *   n·dim × f32 unit embeddings (from the published f32 vector),
 *   n·dim × f32 dequantised embeddings (q × 1/‖q‖: exactly what the SDK scores; for the check),
 *   n·tagsPerItem × i32 tag ids, n × f32 popularity prior.
 */
export function encodeColumns(cat) {
  const { n, dim, raw, tags, popularity, signals } = cat;
  const header = 5 + signals.length;
  const out = new ArrayBuffer(4 * (header + 2 * n * dim + n * TAGS_PER_ITEM + n));
  const u32 = new Uint32Array(out, 0, header);
  u32.set([n, dim, TAGS_PER_ITEM, TAG_VOCAB, signals.length]);
  u32.set(signals, 5);
  let o = 4 * header;
  const unit = new Float32Array(out, o, n * dim);
  o += 4 * n * dim;
  const deq = new Float32Array(out, o, n * dim);
  o += 4 * n * dim;
  new Int32Array(out, o, n * TAGS_PER_ITEM).set(tags);
  o += 4 * n * TAGS_PER_ITEM;
  const prior = new Float32Array(out, o, n);
  for (let i = 0; i < n; i += 1) {
    const v = raw.subarray(i * dim, (i + 1) * dim);
    let norm = 0;
    for (const x of v) norm += x * x;
    norm = Math.sqrt(norm);
    for (let k = 0; k < dim; k += 1) unit[i * dim + k] = v[k] / norm;
    const { q, unitScale } = quantize(v);
    for (let k = 0; k < dim; k += 1) deq[i * dim + k] = Math.fround(q[k] * unitScale);
  }
  // catalog.rs: prior = ln(1 + p) / ln(1 + max p), in f32.
  let max = 0;
  for (const p of popularity) max = Math.max(max, p);
  const denominator = Math.fround(Math.log1p(max));
  for (let i = 0; i < n; i += 1) prior[i] = Math.fround(Math.fround(Math.log1p(popularity[i])) / denominator);
  return Buffer.from(out);
}
