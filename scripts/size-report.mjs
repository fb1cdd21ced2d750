// Prints raw, gzip and brotli sizes of what the npm package ships to browsers, and fails when the
// total (brotli) is over the budget in size-budget.json. The budget only ever goes down.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const root = new URL('..', import.meta.url).pathname;
const budget = JSON.parse(readFileSync(join(root, 'size-budget.json'), 'utf8'));

function files(dir, keep) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path, keep) : keep(path) ? [path] : [];
  });
}

const shipped = [
  ...files(join(root, 'js-wrapper/wasm'), (p) => p.endsWith('.wasm') || (p.endsWith('.js'))),
  ...files(join(root, 'js-wrapper/dist'), (p) => p.endsWith('.js') || p.endsWith('.css')),
];

const rows = shipped.map((path) => {
  const bytes = readFileSync(path);
  return {
    file: relative(join(root, 'js-wrapper'), path),
    kind: path.endsWith('.wasm') ? 'wasm' : path.endsWith('.css') ? 'css' : 'js',
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
});

const kb = (n) => (n / 1024).toFixed(1).padStart(7);
const sum = (list, key) => list.reduce((a, r) => a + r[key], 0);
console.log(`${'file'.padEnd(34)} ${'raw KiB'.padStart(7)} ${'gzip'.padStart(7)} ${'brotli'.padStart(7)}`);
for (const r of rows) console.log(`${r.file.padEnd(34)} ${kb(r.raw)} ${kb(r.gzip)} ${kb(r.brotli)}`);
for (const kind of ['wasm', 'js', 'css']) {
  const of = rows.filter((r) => r.kind === kind);
  if (of.length) console.log(`${('total ' + kind).padEnd(34)} ${kb(sum(of, 'raw'))} ${kb(sum(of, 'gzip'))} ${kb(sum(of, 'brotli'))}`);
}
const total = sum(rows, 'brotli');
console.log(`${'TOTAL shipped'.padEnd(34)} ${kb(sum(rows, 'raw'))} ${kb(sum(rows, 'gzip'))} ${kb(total)}`);
console.log(`size budget: ${total} / ${budget.maxBrotliBytes} bytes brotli (goal ${budget.goalBrotliBytes})`);
if (total > budget.maxBrotliBytes) {
  console.error(`FAIL: the shipped SDK is ${total} bytes brotli, over the budget of ${budget.maxBrotliBytes}.`);
  process.exit(1);
}
