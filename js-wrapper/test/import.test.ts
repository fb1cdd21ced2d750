// Importing @attune/sdk must have no side effects and must work where there is no browser.
import { describe, expect, it } from 'vitest';

describe('importing the package', () => {
  it('touches no global and needs no window (Node/SSR)', async () => {
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
    const before = new Set(Object.getOwnPropertyNames(globalThis));
    const sdk = await import('../src/index.js');
    const added = Object.getOwnPropertyNames(globalThis).filter((name) => !before.has(name));
    expect(added).toEqual([]);
    expect(typeof sdk.Attune.init).toBe('function');
    expect(new sdk.AttuneError('x', 'code')).toBeInstanceOf(Error);
  });

  it('the built entry point is side-effect free too', async () => {
    const before = new Set(Object.getOwnPropertyNames(globalThis));
    await import('../dist/index.js');
    expect(Object.getOwnPropertyNames(globalThis).filter((name) => !before.has(name))).toEqual([]);
  });
});
