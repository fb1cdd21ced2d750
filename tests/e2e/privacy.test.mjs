// The privacy centre on the demo's "Your data" page, in real headless Chromium against the real
// collector: the download holds every SDK value in storage (nothing hidden), "Clear everything"
// leaves no SDK key anywhere and no cookie is ever set, a server erasure leaves the collector
// nothing of the device and replays store nothing, an id alone proves nothing, deleting an
// interest changes the next recommendation, and the egress log is what the collector received.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { beforeEach } from 'node:test';
import { e2eTest, quietPeriod, useE2E, waitFor } from './harness.mjs';

const env = useE2E();

beforeEach(async () => {
  await env.resetCollector();
});

const CENTRE = 'attune-privacy-center';
const action = (s, name) => s.page.locator(`${CENTRE} [data-attune-action="${name}"]`);
const product = (id) => `/product.html?id=${id}`;

async function clickBanner(s, name) {
  await s.waitBannerVisible();
  await s.banner(`[data-attune-action="${name}"]`).click();
  await s.waitBannerHidden();
}

/** Accept everything, look at two outdoor products and one kitchen product, answer a question, add to cart. */
async function browse(s) {
  await s.goto('/');
  await clickBanner(s, 'accept-all');
  for (const id of ['p01', 'p02', 'p05']) await s.goto(product(id));
  await s.page.evaluate(() => window.attune.prompts.answer('interest', 'outdoor'));
  await s.track('add_to_cart', { productId: 'p01', price: 42, currency: 'EUR' }, 'marketing');
  await s.flush();
}

/** Opens "Your data" and waits until the centre has drawn and nothing is waiting to be sent. */
async function openCentre(s) {
  await s.goto('/your-data.html');
  await s.page.locator(`${CENTRE} [data-attune-section="controls"]`).waitFor();
  await waitFor(async () => {
    await s.flush();
    return s.page.evaluate(() => window.attune.privacy.view().queued === 0);
  }, { message: 'the queue to be empty' });
}

async function download(s, name) {
  const [file] = await Promise.all([s.page.waitForEvent('download'), action(s, name).click()]);
  return { name: file.suggestedFilename(), doc: JSON.parse(await readFile(await file.path(), 'utf8')) };
}

const attuneKeys = (local) => Object.fromEntries(Object.entries(local).filter(([k]) => k.startsWith('attune:')));

/** The device's pseudonymous ids and key hash, read from what it stores. */
async function identity(s) {
  const { local } = await s.storage();
  const ids = JSON.parse(local['attune:ids']).ids;
  const key = JSON.parse(local['attune:device']);
  const keyHash = createHash('sha256').update(Buffer.from(key.publicKey, 'base64url')).digest('hex');
  return { pids: ids.map((i) => i.id), keyHash };
}

async function testApi(path) {
  const res = await fetch(`${env.baseURL}${path}`);
  assert.equal(res.status, 200, `GET ${path}`);
  return res.json();
}

/** Records every Set-Cookie any response carried. */
function watchCookies(s) {
  const set = [];
  s.page.on('response', async (r) => {
    const header = (await r.allHeaders().catch(() => ({})))['set-cookie'];
    if (header) set.push({ url: r.url(), header });
  });
  return set;
}

e2eTest(env, 'the download holds every SDK value in storage, and the centre shows it in words', async (s) => {
  await browse(s);
  await openCentre(s);
  const text = await s.page.locator(CENTRE).evaluate((el) => el.shadowRoot.textContent);
  for (const words of ['Alpine Trail Backpack 28L', 'Cast Iron Skillet 26cm', 'Trail and outdoor gear', 'Your consent record checks out']) {
    assert.ok(text.includes(words), `the centre says ${words}`);
  }

  let exported;
  let dump;
  // The page is idle (nothing queued); a dump before and after the download must agree.
  await waitFor(async () => {
    const before = await s.storage();
    exported = await download(s, 'download');
    dump = await s.storage();
    return JSON.stringify(attuneKeys(before.local)) === JSON.stringify(attuneKeys(dump.local));
  }, { message: 'storage to stay still around the download' });
  assert.match(exported.name, /^attune-data-demo-shop-.*\.json$/);
  const { doc } = exported;
  assert.equal(doc.format, 'attune-export/1');
  assert.equal(doc.source, 'device');

  const raw = attuneKeys(dump.local);
  assert.ok(Object.keys(raw).length >= 6, `consent, device, ids, egress log, profile, recs at least: ${Object.keys(raw)}`);
  assert.deepEqual(Object.keys(doc.storage).sort(), Object.keys(raw).sort(), 'every SDK key, and only those');
  for (const [key, value] of Object.entries(raw)) {
    assert.deepEqual(doc.storage[key], JSON.parse(value), `${key} is in the export exactly as stored`);
  }
  // IndexedDB holds only the device key's private half: listed in the export, never readable.
  assert.deepEqual(dump.indexedDB, ['attune'], 'one IndexedDB database, the key store');
  const keys = await s.page.evaluate(async () => {
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open('attune');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const records = await new Promise((resolve, reject) => {
      const get = db.transaction('keys').objectStore('keys').getAll();
      get.onsuccess = () => resolve(get.result);
      get.onerror = () => reject(get.error);
    });
    db.close();
    return Promise.all(
      records.map(async (r) => ({
        publicKey: r.publicKey,
        created: r.created,
        fields: Object.keys(r).sort(),
        extractable: r.privateKey.extractable,
        type: r.privateKey.type,
        readable: await crypto.subtle.exportKey('jwk', r.privateKey).then(() => true, () => false),
      })),
    );
  });
  assert.equal(keys.length, 1);
  assert.deepEqual(keys[0].fields, ['created', 'privateKey', 'publicKey']);
  assert.equal(keys[0].publicKey, JSON.parse(raw['attune:device']).publicKey, 'the private half of the device key');
  assert.deepEqual([keys[0].type, keys[0].extractable, keys[0].readable], ['private', false, false], 'which nothing can read');
  const listed = doc.indexedDB.attune.keys;
  assert.deepEqual(listed.map((k) => [k.publicKey, k.created]), keys.map((k) => [k.publicKey, k.created]), 'the export lists it');
  assert.match(listed[0].privateKey, /non-extractable/);
  assert.ok(!JSON.stringify(doc).includes('"d":'), 'no private key material anywhere in the export');
  assert.deepEqual(Object.keys(dump.session).filter((k) => k.startsWith('attune:')), [], 'no SDK key in sessionStorage');
  assert.deepEqual(dump.cookies, [], 'no cookie');

  // The plain sections say the same.
  assert.equal(doc.answers[0].question, 'interest');
  assert.equal(doc.answers[0].answer, 'Trail and outdoor gear', 'the answer in words');
  assert.ok(doc.recentItems.some((i) => i.item === 'p01'), 'the viewed products');
  assert.ok(doc.egressLog.length > 0 && doc.consent.verified === true && doc.device.keyHash.length === 64);
});

e2eTest(env, '"Clear everything" leaves no SDK key in any storage, and no cookie is ever set', async (s) => {
  const cookies = watchCookies(s);
  await browse(s);
  await openCentre(s);
  assert.ok(Object.keys(attuneKeys((await s.storage()).local)).length > 0);
  await action(s, 'clear-device').click();
  assert.ok(Object.keys(attuneKeys((await s.storage()).local)).length > 0, 'one click does not clear: it asks first');
  await action(s, 'confirm-clear').click();
  await s.waitBannerVisible('the banner to ask for consent again');
  await quietPeriod();
  const after = await s.storage();
  assert.deepEqual(attuneKeys(after.local), {}, 'no SDK key in localStorage');
  assert.deepEqual(Object.keys(after.session).filter((k) => k.startsWith('attune:')), []);
  assert.deepEqual(after.indexedDB, [], 'no IndexedDB: the key store is deleted');
  assert.deepEqual(after.cookies, [], 'no cookie in the browser');
  assert.equal(after.documentCookie, '');
  assert.deepEqual(cookies, [], 'no response ever set a cookie');
  const view = await s.page.evaluate(() => window.attune.privacy.view());
  assert.deepEqual([view.answers, view.recentItems, view.egressLog, view.history], [[], [], [], []]);
});

e2eTest(env, 'a server erasure leaves the collector nothing of the device, and replays store nothing', async (s) => {
  await browse(s);
  const old = await identity(s);
  const mine = (events) => events.filter((e) => old.pids.includes(e.pid));
  await env.waitForCollector((events) => mine(events).length >= 4, 'the device\'s events to be stored');
  const filed = (await testApi('/__test/devices')).devices.filter((d) => d.keyHash === old.keyHash);
  assert.deepEqual(filed.map((d) => d.pid).sort(), [...old.pids].sort(), 'the collector filed the ids under the key hash');
  const sentBefore = s.batchRequests.map((r) => r.body);

  // Events that cannot leave yet (the collector answers 503): the erasure must retire them too.
  await s.page.route('**/v1/batch', (route) => route.fulfill({ status: 503, body: '{"error":{"code":"internal","message":"down"}}' }));
  await openCentreWithoutFlush(s);
  await s.track('add_to_cart', { productId: 'p02', price: 10, currency: 'EUR' }, 'marketing');
  await s.page.evaluate(() => window.attune.flush());
  const queued = await waitFor(async () => {
    const q = (await s.storage()).local['attune:queue'];
    const events = q ? JSON.parse(q).events : [];
    return events.some((e) => e.name === 'add_to_cart') && events;
  }, { message: 'events waiting in attune:queue' });

  await action(s, 'server-erase').click();
  await action(s, 'confirm-erase').click();
  const status = s.page.locator(`${CENTRE} [data-attune-status]`);
  await waitFor(async () => /[0-9a-f]{32}/.test(await status.textContent()), { message: 'the receipt id in the status line' });
  const receiptText = await s.page.locator(CENTRE).evaluate((el) => el.shadowRoot.textContent);
  assert.match(receiptText, /[0-9a-f]{32}/, 'the receipt id is shown');

  assert.deepEqual(mine(await env.collectorEvents()), [], 'zero events of the device');
  assert.deepEqual((await testApi('/__test/devices')).devices.filter((d) => d.keyHash === old.keyHash), [], 'zero filings');
  const suppressed = (await testApi('/__test/suppressed')).suppressed;
  assert.ok(suppressed.some((e) => e.kind === 'key' && e.hash === old.keyHash), 'the key is suppressed');

  // Late retries: every batch the device sent before, and its queued events, replayed as they were.
  await s.page.unroute('**/v1/batch');
  const count = (await env.collectorEvents()).length;
  const post = (body) => fetch(`${env.baseURL}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  for (const body of sentBefore) {
    assert.equal((await post(body)).status, 200, 'a replay is answered 200 (nothing to retry)');
  }
  const pidOf = Object.fromEntries(JSON.parse(JSON.stringify(sentBefore.flatMap((b) => b.events))).map((e) => [e.purpose, e.pid]));
  const template = sentBefore.find((b) => b.device);
  const replay = { ...template, sentAt: Date.now(), events: queued.map((e) => ({ ...e, ...(pidOf[e.purpose] ? { pid: pidOf[e.purpose] } : {}) })) };
  assert.equal((await post(replay)).status, 200);
  // And the page itself, now able to send again, sends none of the retired events.
  await s.flush();
  await quietPeriod();
  const now = await env.collectorEvents();
  assert.deepEqual(mine(now), [], 'still zero events of the device after the replays');
  const queuedIds = new Set(queued.map((e) => e.id));
  assert.deepEqual(now.filter((e) => queuedIds.has(e.id)), [], 'the queued events were never stored');
  assert.ok(now.length <= count + 2, `nothing from before came back (${count} → ${now.length})`);
  const fresh = JSON.parse((await s.storage()).local['attune:device']);
  const freshHash = createHash('sha256').update(Buffer.from(fresh.publicKey, 'base64url')).digest('hex');
  assert.notEqual(freshHash, old.keyHash, 'analytics is still allowed: new data gets a new identity');
  assert.ok(fresh.erasedBefore > 0, 'the new key carries the cut to other tabs');
});

/** "Your data" while the collector fails: no flush before or after. */
async function openCentreWithoutFlush(s) {
  await s.goto('/your-data.html', { flushFirst: false });
  await s.page.locator(`${CENTRE} [data-attune-section="controls"]`).waitFor();
}

e2eTest(env, 'export and erasure need the device key: an id alone gets 403; the signed copy is the collector\'s', async (s) => {
  await browse(s);
  const { pids, keyHash } = await identity(s);
  await env.waitForCollector((events) => events.some((e) => pids.includes(e.pid)), 'the device\'s events');
  for (const path of ['/v1/rights/export', '/v1/rights/erase']) {
    for (const claim of [{ pid: pids[0] }, { device: keyHash }, { keyHash }]) {
      const res = await fetch(`${env.baseURL}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ v: 1, siteId: 'demo-shop', ...claim }),
      });
      assert.equal(res.status, 403, `${path} with ${Object.keys(claim)} only`);
      assert.equal((await res.json()).error.code, 'proof_required');
    }
  }
  assert.ok((await env.collectorEvents()).some((e) => pids.includes(e.pid)), 'nothing was erased');

  await openCentre(s);
  const { name, doc } = await download(s, 'server-copy');
  assert.match(name, /^attune-server-data-demo-shop-.*\.json$/);
  assert.equal(doc.source, 'collector');
  assert.equal(doc.device.keyHash, keyHash);
  const stored = (await env.collectorEvents()).filter((e) => pids.includes(e.pid));
  assert.deepEqual(doc.events.map((e) => e.id).sort(), stored.map((e) => e.id).sort(), 'every event the collector holds for the device');
  for (const e of doc.events) {
    const same = stored.find((x) => x.id === e.id);
    assert.deepEqual(e.props, same.props);
  }
});

e2eTest(env, 'deleting one interest changes the next recommendation', async (s) => {
  await browse(s);
  await openCentre(s);
  const rank = () => s.page.evaluate(() => window.attune.recommend({ slot: 'home', k: 4 }));
  const before = await rank();
  const interests = await s.page.evaluate(() => window.attune.privacy.view().interests);
  const top = interests[0];
  assert.ok(top, 'an interest was inferred');
  await s.page.locator(`${CENTRE} [data-attune-action="forget-interest"][data-attune-tag="${top.tag}"]`).click();
  const after = await rank();
  assert.notDeepEqual(after.map((r) => r.id), before.map((r) => r.id), 'the ranking changed');
  const because = after.flatMap((r) => r.because.map((b) => b.item)).filter(Boolean);
  assert.deepEqual(because.filter((i) => top.items.includes(i)), [], 'no reason names a forgotten item');
  const left = await s.page.evaluate(() => window.attune.privacy.view().interests.map((i) => i.tag));
  assert.ok(!left.includes(top.tag), `${top.tag} is gone`);
});

e2eTest(env, 'the egress log matches what the collector received, byte for byte', async (s) => {
  await browse(s);
  await openCentre(s);
  const log = await s.page.evaluate(() => window.attune.egressLog());
  const delivered = log.filter((p) => p.outcome === 'delivered');
  assert.ok(delivered.length >= 2, `payloads were delivered: ${delivered.length}`);
  const wire = new Map(s.batchRequests.flatMap((r) => r.body?.events ?? []).map((e) => [e.id, e]));
  const collected = new Map((await env.collectorEvents()).map((e) => [e.id, e]));
  // Key order is the only freedom a JSON object has: compare in the wire's order.
  const asWire = (e) => JSON.stringify({ id: e.id, name: e.name, purpose: e.purpose, ts: e.ts, props: e.props, ...(e.pid ? { pid: e.pid } : {}) });
  let compared = 0;
  for (const payload of delivered) {
    for (const event of payload.events) {
      assert.equal(asWire(event), JSON.stringify(wire.get(event.id)), `event ${event.id} as logged = as sent`);
      assert.equal(asWire(event), asWire(collected.get(event.id)), `event ${event.id} as logged = as stored`);
      compared++;
    }
  }
  assert.ok(compared >= 5, `${compared} events compared`);
});

const idbKeys = (page) =>
  page.evaluate(async () => {
    if (!(await indexedDB.databases()).some((d) => d.name === 'attune')) return [];
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open('attune');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const all = await new Promise((resolve) => {
      const get = db.transaction('keys').objectStore('keys').getAllKeys();
      get.onsuccess = () => resolve(get.result);
    });
    db.close();
    return all;
  });

e2eTest(env, 'two tabs make one device key; a key whose private half was lost is replaced, with new ids', async (s) => {
  await s.goto('/');
  const other = await s.newPage('/product.html?id=p03');
  await clickBanner(s, 'accept-all');
  const publicKey = (p) => p.evaluate(() => window.attune.privacy.exportDevice().device?.publicKey);
  await waitFor(async () => (await publicKey(s.page)) && (await publicKey(s.page)) === (await publicKey(other)), {
    message: 'both tabs to use the same key',
  });
  await other.evaluate(() => window.attune.flush());
  const key = await publicKey(s.page);
  assert.deepEqual(await idbKeys(s.page), [key], 'one private half, the one both tabs use');
  await other.close();

  // A cleaner wipes IndexedDB but keeps localStorage: the key can prove nothing any more.
  await s.goto('/product.html?id=p04');
  await s.flush();
  const oldPids = JSON.parse((await s.storage()).local['attune:ids']).ids.map((i) => i.id);
  await s.page.evaluate(() => new Promise((resolve) => { indexedDB.deleteDatabase('attune').onsuccess = resolve; }));
  await s.goto('/your-data.html', { flushFirst: false });
  await waitFor(async () => (await publicKey(s.page)) && (await publicKey(s.page)) !== key, { message: 'a new key' });
  const fresh = await publicKey(s.page);
  assert.deepEqual(await idbKeys(s.page), [fresh]);
  await s.flush();
  const pids = JSON.parse((await s.storage()).local['attune:ids']).ids.map((i) => i.id);
  assert.ok(pids.every((p) => !oldPids.includes(p)), 'new ids, filed under the new key');
  const { doc } = await download(s, 'server-copy');
  assert.ok(doc.events.length > 0 && doc.events.every((e) => pids.includes(e.pid)), 'the new key reaches what was sent since');
});
