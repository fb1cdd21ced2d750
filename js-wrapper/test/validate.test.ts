// validatePrompts against the real wasm build, in Node: the reader the SDK runs, every problem at once.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validatePrompts, type PromptConfigIssue } from '../src/index.js';

const wasm = readFileSync(new URL('../wasm/attune_wasm_bg.wasm', import.meta.url));
const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8'));

const question = (extra: Record<string, unknown> = {}) => ({
  id: 'activity',
  kind: 'single',
  text: { en: 'What do you do outdoors?' },
  options: [
    { id: 'hiking', label: { en: 'Hiking' }, tags: ['hiking'] },
    { id: 'biking', label: { en: 'Biking' }, tags: ['bike'] },
  ],
  purpose: 'personalization',
  why: { en: 'So we can suggest gear.' },
  usedFor: { en: 'Your suggestions.' },
  retentionDays: 180,
  ...extra,
});

describe('validatePrompts', () => {
  it('returns no issue for a valid config', async () => {
    expect(await validatePrompts({ questions: [question()] }, { wasm })).toEqual([]);
    expect(await validatePrompts({ $schema: './prompts.schema.json', questions: [] }, { wasm })).toEqual([]);
  });

  it('reports every problem at once, each with its path', async () => {
    const issues = await validatePrompts(fixture('broken-prompts.json'), { wasm });
    expect(issues.map((i) => i.path)).toEqual([
      'fatigue.perDay',
      'questions[0].colour',
      'questions[0].text',
      'questions[0].purpose',
      'questions[0].retentionDays',
      'questions[0].kind',
      'questions[1].options[1].tags',
      'questions[1].start',
      'questions[1].requires[0].question',
    ]);
    expect(issues).toContainEqual({
      path: 'questions[1].options[1].tags',
      message: 'expected an array of strings, found a number',
    });
    for (const issue of issues) expect(Object.keys(issue).sort()).toEqual(['message', 'path']);
  });

  it('checks purposes against the declared ones (the built-in ones by default)', async () => {
    const custom = { questions: [question({ purpose: 'support_chat' })] };
    const [issue] = await validatePrompts(custom, { wasm });
    expect(issue?.path).toBe('questions[0].purpose');
    expect(issue?.message).toContain('expected a declared purpose (necessary, analytics, personalization, marketing)');
    expect(await validatePrompts(custom, { wasm, purposes: ['necessary', 'support_chat'] })).toEqual([]);
  });

  it('reports a purpose that is not a purpose id at purposes[i]', async () => {
    const issues = await validatePrompts({ questions: [] }, { wasm, purposes: ['analytics', 'Support Chat'] });
    expect(issues).toEqual([
      {
        path: 'purposes[1]',
        message: `expected a purpose id (1-32 chars of a-z, 0-9, '_' or '-', starting with a letter), found "Support Chat"`,
      },
    ]);
  });

  it('takes JSON text too, and gives syntax errors a line and column', async () => {
    expect(await validatePrompts('{"questions": []}', { wasm })).toEqual([]);
    const issues: PromptConfigIssue[] = await validatePrompts('{\n  "questions": [\n}', { wasm });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('config');
    expect(issues[0]?.message).toMatch(/line 3 column 1/);
  });

  it('rejects a value with no JSON form, and reads undefined as null', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(validatePrompts(cyclic, { wasm })).rejects.toThrow(TypeError);
    expect(await validatePrompts(undefined, { wasm })).toEqual([
      { path: 'config', message: 'expected an object, found null' },
    ]);
  });

  it('treats __proto__ as an ordinary unknown key', async () => {
    const config = JSON.parse('{"__proto__": {"polluted": true}, "questions": []}');
    const issues = await validatePrompts(config, { wasm });
    expect(issues.map((i) => i.path)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('BUILT_IN_PURPOSES', () => {
  it('is exactly the core’s built-in purposes (what every site declares)', async () => {
    const { Attune, BUILT_IN_PURPOSES } = await import('../src/index.js');
    const attune = await Attune.init({ siteId: 'shop', endpoint: '/v1/batch', wasm, storage: 'memory', config: {} });
    expect(attune.consent.get().purposes.map((p) => p.id)).toEqual([...BUILT_IN_PURPOSES]);
  });
});
