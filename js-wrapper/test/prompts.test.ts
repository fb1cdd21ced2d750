// `attune.prompts` against the real wasm, in Node: a bad config is reported without breaking the
// SDK, nothing is answered without consent, and refusals never throw into the page.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Attune, AttuneError, simulatePrompts } from '../src/index.js';

const wasm = readFileSync(new URL('../wasm/attune_wasm_bg.wasm', import.meta.url));

const PROMPTS = {
  fatigue: { quietMinutes: 0 },
  questions: [
    {
      id: 'gift',
      kind: 'yesNo',
      purpose: 'personalization',
      retentionDays: 30,
      text: { en: 'Is this a gift?', de: 'Ist das ein Geschenk?' },
      why: { en: 'Gift buyers want other suggestions.' },
      usedFor: { en: 'Cart suggestions.' },
      trigger: { minPageViews: 1 },
    },
  ],
};

async function start(prompts: object) {
  const warnings: AttuneError[] = [];
  const attune = await Attune.init({
    siteId: 'shop',
    endpoint: '/v1/batch',
    wasm,
    storage: 'memory',
    prompts,
    onWarning: (w) => warnings.push(w),
  });
  return { attune, warnings };
}

describe('attune.prompts', () => {
  it('reports every problem of a bad prompt config and keeps consent working', async () => {
    const { attune, warnings } = await start({ questions: [{ id: 'x', kind: 'dropdown' }], colour: 1 });
    expect(attune.ready).toBe(true);
    const error = warnings.find((w) => w.code === 'invalid_config');
    expect(error?.issues?.map((i) => i.path)).toEqual(expect.arrayContaining(['colour', 'questions[0].kind']));
    expect(attune.prompts.next()).toBeNull();
    expect(attune.consent.grant(['personalization'])).toBe(true);
  });

  it('shows nothing and stores no answer until the purpose is granted; refusals never throw', async () => {
    const { attune, warnings } = await start(PROMPTS);
    const before = attune.prompts.next({ path: '/', languages: ['de-AT'] });
    expect(before?.show).toBeNull();
    expect(before?.trace[0]?.reason).toMatch(/purpose personalization is not granted/);
    expect(attune.prompts.answer('gift', true)).toBe(false);
    expect(warnings.at(-1)?.code).toBe('purpose_not_granted');

    attune.consent.grant(['personalization']);
    attune.prompts.pageView();
    const next = attune.prompts.next({ path: '/', languages: ['de-AT'] });
    expect(next?.show).toBe('gift');
    expect(next?.prompt).toMatchObject({ language: 'de', text: 'Ist das ein Geschenk?', purposeLabel: 'Personalization' });
    expect(attune.prompts.answer('gift', 'maybe')).toBe(false);
    expect(warnings.at(-1)).toMatchObject({ code: 'invalid_answer', field: 'value' });
    expect(attune.prompts.answer('nope', true)).toBe(false);
    expect(warnings.at(-1)?.code).toBe('unknown_question');
    expect(attune.prompts.answer('gift', true)).toBe(true);
    expect(attune.prompts.answers().map((a) => [a.question, a.value])).toEqual([['gift', true]]);

    attune.consent.withdraw(['personalization']);
    expect(attune.prompts.answers()).toEqual([]);
  });

  it('simulates a visitor with the same scheduler, naming bad scenario fields', async () => {
    const ok = await simulatePrompts(PROMPTS, { granted: ['personalization'], pageViews: 1 }, { wasm });
    expect(ok.result?.show).toBe('gift');
    const bad = await simulatePrompts(PROMPTS, { pageViews: -1 } as never, { wasm });
    expect(bad.issues.map((i) => i.path)).toEqual(['scenario.pageViews']);
  });
});
