// On-device recommendations against the real wasm, in Node: loading the catalogue (object,
// bytes, URL, binary), rankings before and after personalization with their reasons, the
// visitor's controls, coded errors for bad options, and the wording of reasons.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Attune,
  AttuneError,
  mountRecommendations,
  reasonText,
  RECS_STRINGS,
  type AttuneOptions,
  type Reason,
  type Recommendation,
} from '../src/index.js';

const wasm = readFileSync(new URL('../wasm/attune_wasm_bg.wasm', import.meta.url));
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8'));
const CATALOG = fixture('recs-catalog.json') as { items: { id: string; category: string; tags: string[] }[] };
const NEIGHBOURS = fixture('recs-neighbours.json');
const TAGS = new Map(CATALOG.items.map((i) => [i.id, [i.category, ...i.tags]]));

const RANKING = { events: { product_view: { signal: 'view', item: 'productId' } } };
const CONFIG: AttuneOptions['config'] = { collect: { analytics: { retentionDays: 30, events: { product_view: { productId: 'token' } } } } };

let warnings: AttuneError[] = [];

afterEach(() => {
  vi.unstubAllGlobals();
});

async function start(overrides: Partial<AttuneOptions> = {}): Promise<Attune> {
  warnings = [];
  return Attune.init({
    siteId: 'shop',
    endpoint: '/v1/batch',
    wasm,
    storage: 'memory',
    config: CONFIG,
    catalog: CATALOG,
    neighbours: NEIGHBOURS,
    recommend: RANKING,
    onWarning: (w) => warnings.push(w),
    ...overrides,
  });
}

const ids = (recs: Recommendation[]) => recs.map((r) => r.id);
const kinds = (recs: Recommendation[]) => new Set(recs.flatMap((r) => r.because.map((b) => b.kind)));

async function rejection(p: Promise<unknown>): Promise<AttuneError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AttuneError);
  return error as AttuneError;
}

describe('attune.recommend', () => {
  it('without personalization: popularity only, the same whatever the visitor does, nothing recorded', async () => {
    const attune = await start();
    const before = await attune.recommend({ k: 4 });
    expect(ids(before)).toHaveLength(4);
    expect([...kinds(before)]).toEqual(['popular']);
    expect(before[0]).toMatchObject({ id: 'e1', title: 'Headphones', url: '/p/e1' });
    expect(before[0]!.because[0]).toMatchObject({ kind: 'popular', tag: 'electronics' });

    attune.track('product_view', { productId: 'a1' }, 'analytics');
    expect(attune.recommendations.signal('view', 'a2')).toBe(false);
    expect(attune.recommendations.mute('electronics')).toBe(false);
    expect(attune.recommendations.signals().history).toEqual([]);
    expect(await attune.recommend({ k: 4 })).toEqual(before);
  });

  it('with personalization: tracked events become signals, and results say which item they come from', async () => {
    const attune = await start();
    attune.consent.grant(['personalization']);
    attune.track('product_view', { productId: 'a1' }, 'analytics');
    expect(attune.recommendations.signal('view', 'a2')).toBe(true);
    expect(attune.recommendations.signals().history.map((s) => [s.item, s.kind])).toEqual([
      ['a1', 'view'],
      ['a2', 'view'],
    ]);

    const recs = await attune.recommend({ k: 4 });
    expect(ids(recs)).not.toContain('a1'); // seen items are left out of `home`
    for (const rec of recs) expect(rec.because.length).toBeGreaterThan(0);
    const history = recs.flatMap((r) => r.because).filter((b) => b.kind === 'history');
    expect(history.length).toBeGreaterThan(0);
    expect(history[0]).toMatchObject({ signal: 'view' });
    expect(['Trail Backpack', 'Hiking Socks']).toContain(history[0]!.title);
    expect(ids(recs)).toContain('a3'); // a neighbour of the backpack
    expect(kinds(recs).has('interest')).toBe(true);

    const similar = await attune.recommend({ slot: 'similar', context: 'k1', k: 2 });
    expect(ids(similar)).not.toContain('k1');
    expect(similar[0]!.because.some((b) => b.kind === 'context' && b.item === 'k1' && b.title === 'Cast Iron Skillet')).toBe(true);
  });

  it('the visitor’s controls change the next result; withdrawal wipes the signals', async () => {
    const attune = await start();
    attune.consent.grant(['personalization']);
    const recs = attune.recommendations;
    recs.signal('view', 'a1');
    recs.signal('view', 'k1');

    expect(recs.mute('outdoor')).toBe(true);
    const muted = await attune.recommend({ k: 8 });
    expect(muted.filter((r) => TAGS.get(r.id)!.includes('outdoor'))).toEqual([]);
    expect(recs.signals().muted).toEqual(['outdoor']);
    recs.unmute('outdoor');
    expect(ids(await attune.recommend({ k: 8 }))).toContain('a3');

    expect(recs.signal('notInterested', 'a3')).toBe(true);
    expect(ids(await attune.recommend({ k: 8 }))).not.toContain('a3');

    recs.forget('a1');
    const afterForget = await attune.recommend({ k: 8 });
    expect(afterForget.flatMap((r) => r.because).filter((b) => b.item === 'a1')).toEqual([]);
    expect(recs.signals().history.map((s) => s.item)).not.toContain('a1');

    recs.reset();
    expect(recs.signals().history).toEqual([]);

    recs.signal('view', 'e2');
    attune.consent.withdraw(['personalization']);
    expect(recs.signals()).toMatchObject({ history: [], muted: [] });
    expect([...kinds(await attune.recommend({ k: 4 }))]).toEqual(['popular']);
  });

  it('rejects bad options with a coded AttuneError naming the field; refused signals go to onWarning', async () => {
    const attune = await start();
    expect(await rejection(attune.recommend({ slot: 'aisle' as never }))).toMatchObject({ code: 'invalid_input', field: 'slot' });
    expect(await rejection(attune.recommend({ k: 0 }))).toMatchObject({ code: 'invalid_input', field: 'k' });
    expect(await rejection(attune.recommend({ colour: 'red' } as never))).toMatchObject({ code: 'invalid_input', field: 'colour' });
    expect(await rejection(attune.recommend({ slot: 'similar', context: 'zz' }))).toMatchObject({ code: 'unknown_item', field: 'context' });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(await rejection(attune.recommend(circular as never))).toMatchObject({ code: 'invalid_input', field: 'options' });

    attune.consent.grant(['personalization']);
    expect(attune.recommendations.signal('stare' as never, 'a1')).toBe(false);
    expect(warnings.at(-1)).toMatchObject({ code: 'invalid_input', field: 'kind' });
    expect(attune.ready).toBe(true);
  });
});

describe('loading the catalogue', () => {
  it('fetches a URL in the background, detects the binary form, and reads the sidecar after it', async () => {
    const fetched: string[] = [];
    vi.stubGlobal('fetch', async (url: string) => {
      fetched.push(url);
      if (url === '/catalog.atcat') return new Response(binaryCatalog() as Uint8Array<ArrayBuffer>);
      if (url === '/neighbours.json') return new Response(JSON.stringify({ format: 1, items: { b1: [['b2', 1]] } }));
      return new Response('missing', { status: 404 });
    });
    const attune = await start({ catalog: '/catalog.atcat', neighbours: '/neighbours.json', recommend: undefined });
    expect(fetched).toEqual([]); // init did not wait for it
    const recs = await attune.recommend({ slot: 'similar', context: 'b1' });
    expect(fetched.sort()).toEqual(['/catalog.atcat', '/neighbours.json']); // fetched together
    expect(recs.map((r) => [r.id, r.title])).toEqual([['b2', 'Binary Two']]);
    expect(recs[0]!.because.map((b) => b.kind)).toContain('context');
    expect(warnings).toEqual([]);
  });

  it('a sidecar that fails costs only the sidecar; requests carry no cookies or referrer', async () => {
    const inits: (RequestInit | undefined)[] = [];
    vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
      inits.push(init);
      if (url === '/catalog.atcat') return new Response(binaryCatalog() as Uint8Array<ArrayBuffer>);
      return new Response('missing', { status: 404 });
    });
    const attune = await start({ catalog: '/catalog.atcat', neighbours: '/missing.json', recommend: undefined });
    const recs = await attune.recommend({ slot: 'similar', context: 'b1' });
    expect(recs.map((r) => r.id)).toEqual(['b2']);
    expect(warnings.map((w) => [w.code, w.field])).toEqual([['invalid_neighbours', 'neighbours']]);
    for (const init of inits) expect(init).toMatchObject({ credentials: 'omit', referrerPolicy: 'no-referrer' });
    expect(inits).toHaveLength(2);
  });

  it('a catalogue that cannot be fetched or read is reported, and recommendations are empty', async () => {
    vi.stubGlobal('fetch', async () => new Response('missing', { status: 404 }));
    let attune = await start({ catalog: '/nope.json' });
    expect(await attune.recommend()).toEqual([]);
    expect(warnings.map((w) => [w.code, w.field])).toEqual([['invalid_catalog', 'catalog']]);
    expect(warnings[0]!.message).toMatch(/HTTP 404/);

    attune = await start({ catalog: new TextEncoder().encode('{"format": 2, "items": []}'), neighbours: undefined });
    expect(await attune.recommend()).toEqual([]);
    expect(warnings.map((w) => [w.code, w.field])).toEqual([['invalid_catalog', 'format']]);
    // Bad options are still refused when there is no catalogue.
    expect(await rejection(attune.recommend({ k: 1000 }))).toMatchObject({ field: 'k' });
  });

  it('bad items are skipped and reported with their index; bad ranking config keys with their path', async () => {
    const items = [...CATALOG.items, { id: 'x1', title: 'No URL' }, { id: 'x2', title: 'Bad', url: '/x2', popularity: -1 }];
    const attune = await start({ catalog: { ...CATALOG, items }, neighbours: undefined, recommend: { weights: { tags: -1 }, colour: 1 } });
    const recs = await attune.recommend({ k: 100, includeUnavailable: true });
    expect(ids(recs).sort()).toEqual(CATALOG.items.map((i) => i.id).sort());
    const config = warnings.find((w) => w.code === 'invalid_config');
    expect(config?.issues?.map((i) => i.path).sort()).toEqual(['colour', 'weights.tags']);
    expect(warnings.filter((w) => w.code === 'invalid_catalog').map((w) => w.field)).toEqual(['items[8].url', 'items[9].popularity']);
  });

  it('without a catalogue, recommend() says so; an inert SDK resolves to nothing', async () => {
    const attune = await start({ catalog: undefined });
    expect(await rejection(attune.recommend())).toMatchObject({ code: 'no_catalog' });

    const inert = await start({ config: { colour: 1 } as never });
    expect(inert.ready).toBe(false);
    expect(await inert.recommend({ k: 3 })).toEqual([]);
    expect(inert.recommendations.signal('view', 'a1')).toBe(false);
    expect(inert.recommendations.signals()).toEqual({ history: [], muted: [], mutes: [], forgotten: [], resetAt: 0 });
    expect(inert.recommendations.mount({} as Element)).toBeNull(); // no document under Node
    expect(() => mountRecommendations({} as Element, inert)).toThrow(expect.objectContaining({ code: 'no_dom' }));
  });
});

describe('reasonText', () => {
  const reason = (r: Partial<Reason>): Reason => ({ kind: 'history', weight: 1, ...r });
  it('words every kind of reason as the rail shows it', () => {
    const item = { item: 'k1', title: 'Cast Iron Skillet' };
    expect(reasonText(reason({ ...item, signal: 'view' }))).toBe('Because you viewed Cast Iron Skillet');
    expect(reasonText(reason({ ...item, signal: 'click' }))).toBe('Because you clicked Cast Iron Skillet');
    expect(reasonText(reason({ ...item, signal: 'cart' }))).toBe('Because you added Cast Iron Skillet to your cart');
    expect(reasonText(reason({ ...item, signal: 'purchase' }))).toBe('Because you bought Cast Iron Skillet');
    expect(reasonText(reason({ ...item, signal: 'dwell' }))).toBe('Because you spent time on Cast Iron Skillet');
    expect(reasonText(reason({ kind: 'context', ...item }), 'similar')).toBe('Similar to Cast Iron Skillet');
    expect(reasonText(reason({ kind: 'context', ...item }), 'cart')).toBe('Goes with Cast Iron Skillet');
    expect(reasonText(reason({ kind: 'stated', tag: 'outdoor' }))).toBe('You told us you like outdoor');
    expect(reasonText(reason({ kind: 'interest', tag: 'cast-iron' }), 'home', RECS_STRINGS, { 'cast-iron': 'cast iron' })).toBe(
      'You often look at cast iron',
    );
    expect(reasonText(reason({ kind: 'interest', tag: 'cooking' }), 'similar')).toBe('You often look at cooking');
    expect(reasonText(reason({ kind: 'popular', tag: 'kitchen' }))).toBe('Popular in kitchen');
    expect(reasonText(reason({ kind: 'popular' }))).toBe('Popular right now');
    expect(reasonText(reason({ kind: 'promoted', tag: 'sale' }))).toBe('Featured by the shop');
  });

  it('takes translated strings, and titles are inserted literally', () => {
    const strings = { ...RECS_STRINGS, viewed: 'Weil du {item} angesehen hast' };
    expect(reasonText(reason({ title: '$& <b>x</b>', signal: 'view' }), 'home', strings)).toBe('Weil du $& <b>x</b> angesehen hast');
    expect(reasonText(reason({ kind: 'interest', tag: 'constructor' }))).toBe('You often look at constructor');
  });
});

/** A two-item catalogue in the binary form (see sdk-core/src/recommend/binary.rs). */
function binaryCatalog(): Uint8Array {
  const out: number[] = [];
  const u16 = (n: number) => out.push(n & 255, n >> 8);
  const u32 = (n: number) => out.push(n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24);
  const str = (s: string) => {
    const bytes = new TextEncoder().encode(s);
    u16(bytes.length);
    out.push(...bytes);
  };
  out.push(...new TextEncoder().encode('ATCAT'), 0);
  u16(1); // format
  u32(2); // items
  u32(0); // dim
  str(''); // revision
  u32(1); // tags
  str('misc');
  for (const [id, title] of [
    ['b1', 'Binary One'],
    ['b2', 'Binary Two'],
  ] as const) {
    str(id);
    str(title);
    str(`/p/${id}`);
    str(''); // image
    out.push(1 | 16); // available, category
    u32(0); // category tag
    out.push(0); // own tags
  }
  return new Uint8Array(out);
}
