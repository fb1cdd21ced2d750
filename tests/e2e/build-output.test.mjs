// Static checks of the built demo site (no browser): the strict CSP the collector sends
// (`script-src 'self'`, `style-src 'self'`, Trusted Types 'none') only works if the build
// has no inline script or style and the SDK's wasm is emitted as a same-origin file.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { demoDist } from './harness.mjs';

async function files(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await files(full)));
    else out.push(full);
  }
  return out;
}

const rel = (f) => path.relative(demoDist, f);

test('the demo site is built', () => {
  assert.ok(
    existsSync(path.join(demoDist, 'index.html')),
    `${demoDist}/index.html is missing: run \`npm install && npm run build\` in demo-site/`,
  );
});

test('built HTML pages have no inline scripts, styles or event-handler attributes', async () => {
  const html = (await files(demoDist)).filter((f) => f.endsWith('.html'));
  assert.deepEqual(
    html.map(rel).sort(),
    ['bench-empty.html', 'bench-sdk.html', 'cart.html', 'index.html', 'product.html', 'prompt-editor.html', 'your-data.html'],
    'the multi-page build emits every page',
  );
  for (const file of html) {
    const text = await readFile(file, 'utf8');
    const scripts = [...text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    assert.ok(scripts.length > 0, `${rel(file)} loads a script`);
    for (const [, attrs, body] of scripts) {
      assert.match(attrs, /\bsrc="\/assets\/[^"]+\.js"/, `${rel(file)}: every <script> must be an external same-origin file: <script${attrs}>`);
      assert.equal(body.trim(), '', `${rel(file)}: <script> with a src must have no inline body`);
    }
    assert.doesNotMatch(text, /<style\b/i, `${rel(file)}: no <style> element`);
    assert.doesNotMatch(text, /\sstyle\s*=/i, `${rel(file)}: no style="" attribute`);
    assert.doesNotMatch(text, /\son[a-z]+\s*=/i, `${rel(file)}: no inline event handler attribute`);
    assert.doesNotMatch(text, /(?:src|href)\s*=\s*"(?:https?:)?\/\//i, `${rel(file)}: no external URLs`);
    assert.doesNotMatch(text, /javascript:/i, `${rel(file)}: no javascript: URLs`);
  }
});

test('the SDK wasm is emitted as a file and the bundle avoids Trusted Types sinks', async () => {
  const all = await files(demoDist);
  const wasm = all.filter((f) => f.endsWith('.wasm'));
  assert.equal(wasm.length, 1, `exactly one .wasm asset in dist/, found: ${wasm.map(rel).join(', ') || 'none'}`);
  const bytes = await readFile(wasm[0]);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d], `${rel(wasm[0])} is a wasm module`);

  const js = all.filter((f) => f.endsWith('.js'));
  assert.ok(js.length > 0, 'JavaScript assets exist');
  const wasmName = path.basename(wasm[0]);
  let referencesWasm = false;
  for (const file of js) {
    const text = await readFile(file, 'utf8');
    if (text.includes(wasmName)) referencesWasm = true;
    for (const [label, re] of [
      ['innerHTML/outerHTML assignment', /\.(?:inner|outer)HTML\s*=[^=]/],
      ['insertAdjacentHTML', /\.insertAdjacentHTML\s*\(/],
      ['document.write', /document\.write(?:ln)?\s*\(/],
      ['eval()', /(?<![\w$.])eval\s*\(/],
      ['new Function()', /new\s+Function\s*\(/],
      ['base64 wasm inlined', /data:application\/wasm/],
    ]) {
      assert.doesNotMatch(text, re, `${rel(file)} contains ${label} (blocked by the demo's CSP / Trusted Types)`);
    }
  }
  assert.ok(referencesWasm, `a bundle references the emitted ${wasmName} (new URL(…, import.meta.url) was rewritten)`);
});
