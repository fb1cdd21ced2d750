// The optimised plain-JS ranker the recommendations benchmark (bench/recs.mjs) compares the
// wasm ranker against. It computes the same score as sdk-core/src/recommend/rank.rs for the
// benchmark's request (slot `home`, no neighbours sidecar, no rules, no stated preferences,
// diversity 0):
//
//   score(i) = w.popularity × prior(i)
//            + w.tags × Σ_{t ∈ tags(i)} affinity(t) / √|tags(i)|
//            + w.embedding × cos(visitor, item i)
//
// from a plan derived the way `Recommender::plan` derives it:
//   - sources: the items the visitor viewed, each with its signal weight (a fresh `view`: 1);
//   - affinity(t) = Σ_{sources s with tag t} weight(s) / Σ|weight| / |tags(s)|;
//   - visitor = Σ_sources weight(s) × unit embedding(s), made unit length;
//   - items the visitor already saw are excluded (the `home` slot's default).
//
// Data: Float32 unit embeddings (dim 64), exactly 5 tag ids per item (Int32Array, stride 5, so
// 1/√|tags| is a constant folded into the per-tag weights), the popularity prior (Float32Array).
// The scan is one pass with the 64-d dot product fully unrolled (the visitor vector held in 64
// locals, four partial sums), per-tag weights in a Float32Array, and a min-heap of the top k in
// two typed arrays; nothing is allocated in the loop.

export const DEFAULT_WEIGHTS = Object.freeze({ tags: 0.4, embedding: 0.5, popularity: 0.15 });
const DIM = 64;
const TAGS = 5;
const MAX_K = 100;

export class JsRanker {
  /**
   * @param cols {{n, dim, tagsPerItem, tagVocab, tags: Int32Array, prior: Float32Array}}
   * @param emb Float32Array of n × 64 (unit vectors)
   */
  constructor(cols, emb, weights = DEFAULT_WEIGHTS) {
    if (cols.dim !== DIM || cols.tagsPerItem !== TAGS) throw new Error('the JS ranker is written for dim 64, 5 tags');
    this.n = cols.n;
    this.emb = emb;
    this.tags = cols.tags;
    this.prior = cols.prior;
    this.weights = weights;
    this.mask = new Uint8Array(cols.n);
    this.tagW = new Float32Array(cols.tagVocab);
    this.visitor = new Float32Array(DIM);
    this.hs = new Float64Array(MAX_K);
    this.hi = new Int32Array(MAX_K);
  }

  /**
   * Top `k` for a visitor who viewed `sources` (distinct item indices) with `weights`.
   * `quantizeVisitor`: quantise the visitor vector to i8 as rank.rs does (for the exactness
   * check against the wasm scores; not in the timed path).
   * Returns [{index, score}], best first (ties: lower index first, as in rank.rs).
   */
  rank(sources, weights, k, quantizeVisitor = false) {
    const { emb, tags, mask, tagW, visitor: v, hs, hi } = this;
    const w = this.weights;
    // --- plan ---
    let total = 0;
    for (let s = 0; s < sources.length; s += 1) total += Math.abs(weights[s]);
    v.fill(0);
    const perTag = (w.tags / Math.sqrt(TAGS)) / TAGS; // w.tags × 1/√|tags(i)| × 1/|tags(source)|
    for (let s = 0; s < sources.length; s += 1) {
      const item = sources[s];
      const ws = weights[s];
      mask[item] = 1;
      if (total > 0) for (let t = item * TAGS; t < item * TAGS + TAGS; t += 1) tagW[tags[t]] += (perTag * ws) / total;
      for (let d = 0, e = item * DIM; d < DIM; d += 1, e += 1) v[d] += ws * emb[e];
    }
    let norm = 0;
    for (let d = 0; d < DIM; d += 1) norm += v[d] * v[d];
    norm = Math.sqrt(norm);
    if (norm > 0) {
      if (quantizeVisitor) quantizeInPlace(v, norm);
      else for (let d = 0; d < DIM; d += 1) v[d] /= norm;
      for (let d = 0; d < DIM; d += 1) v[d] *= w.embedding;
    }
    // --- scan ---
    const size = scan(this.n, emb, tags, this.prior, mask, tagW, v, w.popularity, hs, hi, Math.min(k, MAX_K));
    // --- results, then clear what the plan wrote ---
    const out = [];
    for (let j = 0; j < size; j += 1) out.push({ index: hi[j], score: hs[j] });
    out.sort((a, b) => b.score - a.score || a.index - b.index);
    for (let s = 0; s < sources.length; s += 1) {
      const item = sources[s];
      mask[item] = 0;
      for (let t = item * TAGS; t < item * TAGS + TAGS; t += 1) tagW[tags[t]] = 0;
    }
    return out;
  }
}

/**
 * `catalog::quantize` of the visitor vector, then back to floats (q × scale): unit-normalise,
 * scale so the largest |component| is 127, round half away from zero, clamp; the scale back is
 * the one that makes q itself unit length (1 / ‖q‖, as the binary catalogue has it).
 */
function quantizeInPlace(v, norm) {
  let max = 0;
  for (let d = 0; d < DIM; d += 1) max = Math.max(max, Math.abs(v[d] / norm));
  let qnorm = 0;
  for (let d = 0; d < DIM; d += 1) {
    const x = v[d] / norm / (max / 127);
    v[d] = Math.min(127, Math.max(-127, Math.sign(x) * Math.round(Math.abs(x))));
    qnorm += v[d] * v[d];
  }
  const scale = Math.fround(1 / Math.sqrt(qnorm));
  for (let d = 0; d < DIM; d += 1) v[d] *= scale;
}

/** Keeps the best `k` (score, index) in a min-heap whose root is the worst kept. */
function scan(n, emb, tags, prior, mask, tagW, v, wPop, hs, hi, k) {
  const
    v0 = v[0], v1 = v[1], v2 = v[2], v3 = v[3], v4 = v[4], v5 = v[5], v6 = v[6], v7 = v[7],
    v8 = v[8], v9 = v[9], v10 = v[10], v11 = v[11], v12 = v[12], v13 = v[13], v14 = v[14], v15 = v[15],
    v16 = v[16], v17 = v[17], v18 = v[18], v19 = v[19], v20 = v[20], v21 = v[21], v22 = v[22], v23 = v[23],
    v24 = v[24], v25 = v[25], v26 = v[26], v27 = v[27], v28 = v[28], v29 = v[29], v30 = v[30], v31 = v[31],
    v32 = v[32], v33 = v[33], v34 = v[34], v35 = v[35], v36 = v[36], v37 = v[37], v38 = v[38], v39 = v[39],
    v40 = v[40], v41 = v[41], v42 = v[42], v43 = v[43], v44 = v[44], v45 = v[45], v46 = v[46], v47 = v[47],
    v48 = v[48], v49 = v[49], v50 = v[50], v51 = v[51], v52 = v[52], v53 = v[53], v54 = v[54], v55 = v[55],
    v56 = v[56], v57 = v[57], v58 = v[58], v59 = v[59], v60 = v[60], v61 = v[61], v62 = v[62], v63 = v[63];
  let size = 0;
  for (let i = 0, e = 0, t = 0; i < n; i += 1, e += 64, t += 5) {
    if (mask[i] !== 0) continue;
    let score =
      wPop * prior[i] + (tagW[tags[t]] + tagW[tags[t + 1]] + tagW[tags[t + 2]] + tagW[tags[t + 3]] + tagW[tags[t + 4]]);
    const d0 =
      v0 * emb[e + 0] + v1 * emb[e + 1] + v2 * emb[e + 2] + v3 * emb[e + 3] +
      v4 * emb[e + 4] + v5 * emb[e + 5] + v6 * emb[e + 6] + v7 * emb[e + 7] +
      v8 * emb[e + 8] + v9 * emb[e + 9] + v10 * emb[e + 10] + v11 * emb[e + 11] +
      v12 * emb[e + 12] + v13 * emb[e + 13] + v14 * emb[e + 14] + v15 * emb[e + 15];
    const d1 =
      v16 * emb[e + 16] + v17 * emb[e + 17] + v18 * emb[e + 18] + v19 * emb[e + 19] +
      v20 * emb[e + 20] + v21 * emb[e + 21] + v22 * emb[e + 22] + v23 * emb[e + 23] +
      v24 * emb[e + 24] + v25 * emb[e + 25] + v26 * emb[e + 26] + v27 * emb[e + 27] +
      v28 * emb[e + 28] + v29 * emb[e + 29] + v30 * emb[e + 30] + v31 * emb[e + 31];
    const d2 =
      v32 * emb[e + 32] + v33 * emb[e + 33] + v34 * emb[e + 34] + v35 * emb[e + 35] +
      v36 * emb[e + 36] + v37 * emb[e + 37] + v38 * emb[e + 38] + v39 * emb[e + 39] +
      v40 * emb[e + 40] + v41 * emb[e + 41] + v42 * emb[e + 42] + v43 * emb[e + 43] +
      v44 * emb[e + 44] + v45 * emb[e + 45] + v46 * emb[e + 46] + v47 * emb[e + 47];
    const d3 =
      v48 * emb[e + 48] + v49 * emb[e + 49] + v50 * emb[e + 50] + v51 * emb[e + 51] +
      v52 * emb[e + 52] + v53 * emb[e + 53] + v54 * emb[e + 54] + v55 * emb[e + 55] +
      v56 * emb[e + 56] + v57 * emb[e + 57] + v58 * emb[e + 58] + v59 * emb[e + 59] +
      v60 * emb[e + 60] + v61 * emb[e + 61] + v62 * emb[e + 62] + v63 * emb[e + 63];
    score += d0 + d1 + (d2 + d3);
    if (size < k) size = heapPush(hs, hi, size, score, i);
    else if (score > hs[0]) heapReplace(hs, hi, size, score, i);
  }
  return size;
}

// "Worse" = lower score, or the same score and a higher index (rank.rs's `push`).
function heapPush(hs, hi, size, score, i) {
  let c = size;
  while (c > 0) {
    const p = (c - 1) >> 1;
    if (!(score < hs[p] || (score === hs[p] && i > hi[p]))) break;
    hs[c] = hs[p];
    hi[c] = hi[p];
    c = p;
  }
  hs[c] = score;
  hi[c] = i;
  return size + 1;
}

function heapReplace(hs, hi, size, score, i) {
  let c = 0;
  for (;;) {
    const l = 2 * c + 1;
    if (l >= size) break;
    const r = l + 1;
    const m = r < size && (hs[r] < hs[l] || (hs[r] === hs[l] && hi[r] > hi[l])) ? r : l;
    if (!(hs[m] < score || (hs[m] === score && hi[m] > i))) break;
    hs[c] = hs[m];
    hi[c] = hi[m];
    c = m;
  }
  hs[c] = score;
  hi[c] = i;
}

/** The JS floor: a plain sum over the bytes the JS ranker scans (embeddings, tags, prior). */
export function jsSum(emb, tags, prior) {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  for (let j = 0; j < emb.length; j += 4) {
    a += emb[j];
    b += emb[j + 1];
    c += emb[j + 2];
    d += emb[j + 3];
  }
  let s = 0;
  for (let j = 0; j < tags.length; j += 1) s += tags[j];
  for (let j = 0; j < prior.length; j += 1) s += prior[j];
  return a + b + (c + d) + s;
}
