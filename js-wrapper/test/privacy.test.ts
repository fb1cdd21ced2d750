// `attune.privacy` against the real wasm build, in Node (WebCrypto included): the device key is
// made on the first grant, requests to the collector are signed by it and checked on return,
// exports hold what is stored, and clearing forgets everything.
import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { Attune, AttuneError, type ExportDocument } from '../src/index.js';

const wasm = readFileSync(new URL('../wasm/attune_wasm_bg.wasm', import.meta.url));
const b64 = (s: string) => Buffer.from(s, 'base64url');

let requests: { url: string; body: Record<string, unknown> }[];
let answer: (body: Record<string, unknown>, keyHash: string) => Response;

beforeEach(() => {
  requests = [];
  answer = () => new Response('{"accepted":1,"duplicates":0,"rejected":[]}', { status: 200 });
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body)) as Record<string, unknown>;
      requests.push({ url, body });
      if (!url.includes('/rights/')) return answer(body, '');
      const raw = b64(String(body.publicKey));
      const key = await webcrypto.subtle.importKey('raw', raw, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      const message = `attune-rights/1\n${body.action}\n${body.siteId}\n${body.at}\n${body.nonce}\n${body.publicKey}`;
      const ok = await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, b64(String(body.signature)), new TextEncoder().encode(message));
      if (!ok) return new Response('{"error":{"code":"invalid_proof","message":"bad signature"}}', { status: 403 });
      const keyHash = Buffer.from(await webcrypto.subtle.digest('SHA-256', raw)).toString('hex');
      return answer(body, keyHash);
    }),
  );
});

afterEach(() => vi.unstubAllGlobals());

const start = () =>
  Attune.init({
    siteId: 'shop',
    endpoint: '/v1/batch',
    wasm,
    storage: 'memory',
    config: { collect: { analytics: { retentionDays: 30, pseudonymousId: { rotateDays: 30 }, events: { page_view: { path: 'urlPath' } } } } },
    onWarning: (w) => {
      throw new Error(`unexpected warning ${w.code}: ${w.message}`);
    },
  });

async function withKey(): Promise<Attune> {
  const attune = await start();
  expect(attune.privacy.view().deviceKey).toBe(false);
  attune.consent.grant(['analytics']);
  await vi.waitFor(() => expect(attune.privacy.view().deviceKey).toBe(true));
  return attune;
}

it('the first grant of a purpose that sends data makes the device key; the export holds it and everything stored', async () => {
  const attune = await withKey();
  attune.track('page_view', { path: '/a?secret=1' }, 'analytics');
  await attune.flush();
  const batch = requests.find((r) => r.url === '/v1/batch')!.body;
  expect(batch.device).toMatch(/^[0-9a-f]{64}$/);
  const doc = attune.privacy.exportDevice();
  expect(doc).toMatchObject({ format: 'attune-export/1', source: 'device', siteId: 'shop' });
  expect(doc.device?.keyHash).toBe(batch.device);
  expect(Object.keys(doc.storage ?? {}).sort()).toEqual(['attune:consent', 'attune:device', 'attune:egress-log', 'attune:ids', 'attune:queue']);
  expect(doc.egressLog?.[0]?.events[0]?.props).toEqual({ path: '/a' });
  expect(JSON.stringify(batch)).not.toContain('"d"');
});

it('a copy is asked for with a signed request and the answer is checked', async () => {
  const attune = await withKey();
  answer = (body, keyHash) =>
    new Response(JSON.stringify({ format: 'attune-export/1', source: 'collector', siteId: body.siteId, generatedAt: 1, device: { keyHash, firstSeen: 1, lastSeen: 2 }, pseudonymousIds: [], events: [], receipts: [] }));
  const copy: ExportDocument = await attune.privacy.requestServerCopy();
  expect(copy.source).toBe('collector');
  expect(requests.at(-1)!.url).toBe('/v1/rights/export');
  // An answer about another device is refused, not shown.
  answer = (body) =>
    new Response(JSON.stringify({ format: 'attune-export/1', source: 'collector', siteId: body.siteId, generatedAt: 1, device: { keyHash: '0'.repeat(64) }, pseudonymousIds: [], events: [], receipts: [] }));
  const err = await attune.privacy.requestServerCopy().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AttuneError);
  expect((err as AttuneError).code).toBe('invalid_response');
  expect((err as AttuneError).field).toBe('device.keyHash');
});

it('an erasure returns the receipt and gives the device a new key', async () => {
  const attune = await withKey();
  const before = attune.privacy.exportDevice().device?.keyHash;
  answer = (body, keyHash) =>
    new Response(JSON.stringify({ format: 'attune-erasure-receipt/1', receiptId: 'c'.repeat(32), siteId: body.siteId, keyHash, requestedAt: body.at, erasedAt: Number(body.at) + 1, deleted: { events: 4, receipts: 1, pseudonymousIds: 1 }, suppressed: { keyHash: true, pseudonymousIds: 1 } }));
  const receipt = await attune.privacy.requestServerErasure();
  expect(receipt.deleted.events).toBe(4);
  const after = attune.privacy.exportDevice().device?.keyHash;
  expect(after).toMatch(/^[0-9a-f]{64}$/);
  expect(after).not.toBe(before);
});

it('clearing the device forgets everything and asks for consent again', async () => {
  const attune = await withKey();
  let told = 0;
  attune.privacy.onChange(() => told++);
  attune.track('page_view', { path: '/' }, 'analytics');
  attune.privacy.clearDevice();
  const view = attune.privacy.view();
  expect(view).toMatchObject({ deviceKey: false, queued: 0, history: [], answers: [] });
  expect(view.consent.needsBanner).toBe(true);
  expect(attune.privacy.exportDevice().storage).toEqual({});
  expect(told).toBeGreaterThan(0);
  await expect(attune.privacy.requestServerErasure()).rejects.toMatchObject({ code: 'no_device_key' });
});
