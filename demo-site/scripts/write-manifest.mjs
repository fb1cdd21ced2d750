// Writes the demo's egress manifest next to the built site (dist/egress-manifest.json and .md),
// derived by the packed SDK itself from the same config the pages use — so the published list is
// exactly what the SDK enforces.
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Attune } from '@attune/sdk';

const here = new URL('..', import.meta.url);
const config = JSON.parse(await readFile(new URL('src/attune-config.json', here), 'utf8'));
const wasm = await readFile(createRequire(import.meta.url).resolve('@attune/sdk/attune_wasm_bg.wasm'));
const attune = await Attune.init({
  siteId: 'demo-shop',
  endpoint: '/v1/batch',
  config,
  wasm,
  storage: 'memory',
  ui: { banner: false },
});
if (!attune.ready) {
  console.error('could not derive the egress manifest:', attune.error);
  process.exit(1);
}
await writeFile(new URL('dist/egress-manifest.json', here), JSON.stringify(attune.egressManifest(), null, 2) + '\n');
await writeFile(new URL('dist/egress-manifest.md', here), attune.egressManifestTable());
attune.destroy();
