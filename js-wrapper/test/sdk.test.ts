// The wrapper against the real wasm build, in Node: errors, the pre-consent buffer, the door out,
// the consent record and the Google Consent Mode bridge.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Attune, AttuneError, type AttuneOptions } from '../src/index.js';

const wasm = readFileSync(new URL('../wasm/attune_wasm_bg.wasm', import.meta.url));

interface Sent {
  url: string;
  body: {
    siteId: string;
    consent: { receiptHash: string; granted: string[] };
    events: { id: string; name: string; purpose: string; ts: number; props: Record<string, unknown> }[];
  };
}

let sent: Sent[];
let warnings: AttuneError[];

beforeEach(() => {
  sent = [];
  warnings = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      sent.push({ url, body: JSON.parse(String(init.body)) });
      return new Response('{"accepted":1,"duplicates":0}', { status: 200 });
    }),
  );
});

afterEach(() => {
  vi.unstubAllGlobals();
});

async function start(overrides: Partial<AttuneOptions> = {}): Promise<Attune> {
  return Attune.init({
    siteId: 'shop',
    endpoint: '/v1/batch',
    wasm,
    storage: 'memory',
    config: {
      purposes: [{ id: 'support_chat', label: 'Chat', description: 'Keeps your chat.' }],
      collect: {
        analytics: {
          retentionDays: 30,
          pseudonymousId: { rotateDays: 30 },
          events: { page_view: { path: 'urlPath' } },
        },
        marketing: { retentionDays: 90, events: { ad_click: { price: { bucket: [10, 50] } } } },
      },
    },
    onWarning: (w) => warnings.push(w),
    ...overrides,
  });
}

describe('Attune.init', () => {
  it('never rejects on a bad config: it reports every problem and stays inert', async () => {
    const attune = await start({
      config: { policy: { revision: 0 }, purposes: [{ id: 'Bad Id', label: 'x', description: 'y' }] },
    });
    expect(attune.ready).toBe(false);
    expect(attune.error).toBeInstanceOf(AttuneError);
    expect(attune.error).toBeInstanceOf(Error);
    expect(attune.error?.code).toBe('invalid_config');
    expect(attune.error?.field).toBe('policy.revision');
    expect(attune.error?.issues?.map((i) => i.path)).toEqual(['policy.revision', 'purposes[0].id']);
    expect(warnings).toEqual([attune.error]);
    expect(attune.track('page_view', {}, 'analytics')).toBeNull();
    expect(attune.consent.grant(['analytics'])).toBe(false);
    await attune.flush();
    expect(sent).toEqual([]);
  });

  it('names an unknown config key with its path', async () => {
    const attune = await start({ config: { banner: { titel: 'Hi' } } as never });
    expect(attune.error?.code).toBe('invalid_config');
    expect(attune.error?.field).toBe('banner.titel');
  });

  it('rejects a bad siteId and endpoint by field', async () => {
    expect((await start({ siteId: 'my shop' })).error?.field).toBe('siteId');
    expect((await start({ endpoint: 'javascript:alert(1)' })).error?.field).toBe('endpoint');
  });

  it('falls back to memory with a warning when there is no localStorage', async () => {
    const attune = await start({ storage: 'local' });
    expect(attune.ready).toBe(true);
    expect(warnings.map((w) => w.code)).toEqual(['storage_unavailable']);
  });
});

describe('errors from the wasm', () => {
  it('are AttuneError instances with a code and field, reported instead of thrown', async () => {
    const attune = await start();
    expect(attune.track('page_view', {}, 'advertising')).toBeNull();
    expect(attune.consent.deny(['necessary'])).toBe(false);
    expect(attune.track('', {}, 'analytics')).toBeNull();
    expect(warnings.map((w) => [w instanceof AttuneError, w.code, w.field])).toEqual([
      [true, 'unknown_purpose', 'purpose'],
      [true, 'necessary_purpose', 'purposes[0]'],
      [true, 'invalid_event_name', 'name'],
    ]);
  });
});

describe('the door out', () => {
  it('sends nothing before consent, then the buffered event with its capture time', async () => {
    const attune = await start();
    const id = attune.track('page_view', { path: '/' }, 'analytics');
    attune.track('ad_click', {}, 'marketing');
    await attune.flush();
    expect(sent).toEqual([]);

    const before = Date.now();
    attune.consent.grant(['analytics']);
    await attune.flush();
    expect(sent).toHaveLength(1);
    const [batch] = sent;
    expect(batch!.url).toBe('/v1/batch');
    expect(batch!.body.events.map((e) => [e.id, e.purpose])).toEqual([[id, 'analytics']]);
    expect(batch!.body.events[0]!.ts).toBeLessThanOrEqual(before);
    expect(batch!.body.consent.granted).toEqual(['necessary', 'analytics']);
    expect(batch!.body.consent.receiptHash).toBe(attune.consent.get().record.head);
  });

  it('withdrawal drops events that were waiting to be sent', async () => {
    const attune = await start();
    attune.consent.grant(['analytics']);
    attune.track('page_view', {}, 'analytics');
    attune.consent.withdraw(['analytics']);
    await attune.flush();
    expect(sent).toEqual([]);
    expect(attune.consent.get().purposes.find((p) => p.id === 'analytics')?.status).toBe('denied');
  });

  it('sends only declared events and props, coarsened, and says what it stripped', async () => {
    const attune = await start();
    attune.consent.grant(['analytics', 'marketing']);
    expect(attune.track('purchase', {}, 'analytics')).toBeNull();
    attune.track('page_view', { path: 'https://shop.example/p/1?email=jane@example.com', email: 'jane@example.com' }, 'analytics');
    attune.track('ad_click', { price: 42.5 }, 'marketing');
    await attune.flush();
    expect(warnings.map((w) => [w.code, w.field])).toEqual([
      ['undeclared_event', 'name'],
      ['prop_stripped', 'props.email'],
    ]);
    const events = sent.flatMap((b) => b.body.events);
    expect(events.map((e) => e.props)).toEqual([{ path: '/p/1' }, { price: '10-50' }]);
    expect(JSON.stringify(sent)).not.toContain('jane');
    const pids = events.map((e) => (e as { pid?: string }).pid);
    expect(pids[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(pids[1]).toBeUndefined(); // marketing declares no pseudonymous id
  });

  it('lets an onWarning hook call back into the SDK', async () => {
    let attune: Attune | undefined;
    const seen: string[] = [];
    attune = await start({
      onWarning: (w) => {
        seen.push(w.code);
        // Re-entering while the SDK reports a warning must not break it.
        seen.push(String(attune?.consent.get().purposes.length));
        attune?.track('page_view', { path: '/from-the-hook' }, 'analytics');
      },
    });
    attune.consent.grant(['analytics']);
    attune.track('page_view', { path: '/', email: 'x@example.com' }, 'analytics');
    await attune.flush();
    expect(attune.ready).toBe(true);
    expect(seen).toEqual(['prop_stripped', '5']);
    await attune.flush();
    expect(sent.flatMap((b) => b.body.events.map((e) => e.props.path))).toEqual(['/', '/from-the-hook']);
  });

  it('keeps a log of what left, and a manifest of what can', async () => {
    const attune = await start();
    attune.consent.grant(['analytics']);
    attune.track('page_view', { path: '/cart' }, 'analytics');
    await attune.flush();
    const log = attune.egressLog();
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ destination: '/v1/batch', status: 200, outcome: 'delivered', purposes: ['analytics'] });
    expect(log[0]!.events[0]).toMatchObject({ name: 'page_view', props: { path: '/cart' } });

    const manifest = attune.egressManifest()!;
    expect(manifest.destination).toBe('/v1/batch');
    const fields = manifest.rows.map((r) => `${r.purpose}:${r.field}`);
    expect(fields).toContain('analytics:events[].props.path');
    expect(fields).toContain('analytics:events[].pid');
    expect(fields).not.toContain('marketing:events[].pid');
    expect(attune.egressManifestTable()).toContain('| `events[].props.price` | marketing | ad_click | range: <10, 10-50, >=50 |');
  });

  it('splits a batch the collector finds too large', async () => {
    const attune = await start();
    attune.consent.grant(['analytics']);
    vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body));
      if (body.events.length > 1) return new Response('', { status: 413 });
      sent.push({ url, body });
      return new Response('{}', { status: 200 });
    }));
    const ids = ['/a', '/b', '/c', '/d'].map((path) => attune.track('page_view', { path }, 'analytics'));
    await attune.flush();
    expect(sent.flatMap((b) => b.body.events.map((e) => e.id))).toEqual(ids);
  });

  it('a refused batch is not retried, a failed one is', async () => {
    const attune = await start();
    attune.consent.grant(['analytics']);
    vi.stubGlobal('fetch', vi.fn(async () => new Response('', { status: 503 })));
    attune.track('page_view', {}, 'analytics');
    await attune.flush();
    const failedFetch = globalThis.fetch as ReturnType<typeof vi.fn>;
    expect(failedFetch).toHaveBeenCalledTimes(1);
    vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit) => {
      sent.push({ url, body: JSON.parse(String(init.body)) });
      return new Response('{}', { status: 200 });
    }));
    await attune.flush();
    expect(sent).toHaveLength(1);
    attune.destroy();
  });
});

describe('consent', () => {
  it('notifies listeners with the new state and keeps a verifiable receipt', async () => {
    const attune = await start();
    const seen: string[] = [];
    const stop = attune.consent.onChange((view) =>
      seen.push(view.purposes.filter((p) => p.status === 'granted').map((p) => p.id).join(',')),
    );
    expect(attune.consent.get().needsBanner).toBe(true);
    attune.consent.acceptAll('banner');
    attune.consent.acceptAll('banner'); // no change, no event
    stop();
    attune.consent.withdraw(['marketing']);
    expect(seen).toEqual(['necessary,analytics,personalization,marketing,support_chat']);

    const receipt = attune.consent.receipt()!;
    expect(receipt.format).toBe('attune-consent-receipt/1');
    expect(receipt.verified).toBe(true);
    expect(receipt.entries.map((e) => e.changes.map((c) => `${c.purpose}=${c.decision}`))).toEqual([
      ['analytics=granted', 'personalization=granted', 'marketing=granted', 'support_chat=granted'],
      ['marketing=withdrawn'],
    ]);
    expect(receipt.head).toBe(receipt.entries[1]!.hash);
  });
});

describe('Google Consent Mode v2 bridge', () => {
  it("sends 'default' first, then 'update' on every change", async () => {
    const attune = await start();
    const calls: [string, string, Record<string, unknown>][] = [];
    attune.bridgeGoogleConsentMode((command, action, state) => calls.push([command, action, state]));
    attune.consent.grant(['analytics']);
    attune.consent.grant(['marketing']);
    expect(calls.map(([, action]) => action)).toEqual(['default', 'update', 'update']);
    expect(calls[0]![2]).toMatchObject({ analytics_storage: 'denied', ad_storage: 'denied', wait_for_update: 500 });
    expect(calls[1]![2]).toMatchObject({ analytics_storage: 'granted', ad_storage: 'denied' });
    expect(calls[2]![2]).toMatchObject({ ad_storage: 'granted', ad_user_data: 'granted', ad_personalization: 'granted' });
  });
});

describe('a wasm that cannot load', () => {
  it('leaves an inert instance and throws nothing', async () => {
    vi.resetModules();
    const { Attune: Fresh } = await import('../src/index.js');
    const attune = await Fresh.init({
      siteId: 'shop',
      endpoint: '/v1/batch',
      wasm: new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9]),
      onWarning: (w) => warnings.push(w),
    });
    expect(attune.ready).toBe(false);
    expect(attune.error?.code).toBe('init_failed');
    expect(attune.track('page_view', {}, 'analytics')).toBeNull();
    await attune.flush();
    expect(sent).toEqual([]);
  });
});
