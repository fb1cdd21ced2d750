// Writes docs/examples/export-device.json, export-collector.json and erasure-receipt.json: a
// visitor of the demo shop accepts everything, looks at three products, answers a question, adds
// to cart, then downloads their data, asks the shop's collector for its copy and for an erasure —
// all through the privacy centre's buttons, in headless Chromium against the real collector.
//
//   cd tests && node examples/sample-exports.mjs     (after scripts/build-demo.sh and cargo build -p attune-collector)

import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from '../chromium.mjs';
import { repoRoot, startCollector, waitDemoReady } from '../e2e/harness.mjs';

const collector = await startCollector();
const browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage({ baseURL: collector.url });
  const go = async (url) => {
    await page.goto(url);
    await waitDemoReady(page, url);
  };
  await go('/');
  await page.locator('attune-consent-banner [data-attune-action="accept-all"]').click();
  for (const id of ['p01', 'p02', 'p05']) {
    await page.evaluate(() => window.attune.flush());
    await go(`/product.html?id=${id}`);
  }
  await page.evaluate(() => window.attune.prompts.answer('interest', 'outdoor'));
  await page.evaluate(() => window.attune.track('add_to_cart', { productId: 'p01', price: 42, currency: 'EUR' }, 'marketing'));
  await page.evaluate(() => window.attune.flush());
  await go('/your-data.html');
  await page.evaluate(() => window.attune.flush());
  await page.locator('attune-privacy-center [data-attune-section="controls"]').waitFor();

  const action = (name) => page.locator(`attune-privacy-center [data-attune-action="${name}"]`);
  const save = async (name, file) => {
    const [download] = await Promise.all([page.waitForEvent('download'), action(name).click()]);
    const doc = JSON.parse(await readFile(await download.path(), 'utf8'));
    await writeFile(path.join(repoRoot, 'docs', 'examples', file), `${JSON.stringify(doc, null, 2)}\n`);
    console.log(`docs/examples/${file}`);
    return doc;
  };
  await save('download', 'export-device.json');
  await save('server-copy', 'export-collector.json');
  await action('server-erase').click();
  await action('confirm-erase').click();
  await save('download-receipt', 'erasure-receipt.json');
} finally {
  await browser.close();
  await collector.stop();
}
