// `attune validate` as a user runs it: node on the bin, against fixture files.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/attune.mjs', import.meta.url));
const fixtures = fileURLToPath(new URL('fixtures/', import.meta.url));

function attune(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [bin, ...args], { cwd: fixtures, encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('attune validate', () => {
  it('prints every problem of a broken config with its path, and exits 1', () => {
    const { status, stdout, stderr } = attune('validate', 'broken-prompts.json');
    expect(stderr).toBe('');
    expect(status).toBe(1);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      'broken-prompts.json: fatigue.perDay: expected a whole number from 0 to 100, found -1',
      expect.stringMatching(/^broken-prompts\.json: questions\[0\]\.colour: unknown field `colour`, expected one of `id`, /),
      'broken-prompts.json: questions[0].text: missing the default language "en"',
      'broken-prompts.json: questions[0].purpose: expected a declared purpose (necessary, analytics, personalization, marketing), found "ads"',
      'broken-prompts.json: questions[0].retentionDays: expected a whole number of days from 1 to 3650, found a string',
      'broken-prompts.json: questions[0].kind: expected "single", "multiple", "scale", "yesNo" or "text", found "dropdown"',
      'broken-prompts.json: questions[1].options[1].tags: expected an array of strings, found a number',
      'broken-prompts.json: questions[1].start: expected a date "YYYY-MM-DD", found "2026-02-30"',
      'broken-prompts.json: questions[1].requires[0].question: no question has the id "budget"',
      '9 problems',
    ]);
  });

  it('prints the problems as JSON with --json', () => {
    const { status, stdout } = attune('validate', 'broken-prompts.json', '--json');
    expect(status).toBe(1);
    const issues = JSON.parse(stdout) as { path: string; message: string }[];
    expect(issues).toHaveLength(9);
    expect(issues[0]).toEqual({ path: 'fatigue.perDay', message: 'expected a whole number from 0 to 100, found -1' });
  });

  it('accepts a valid config, with the purposes of the site config, and exits 0', () => {
    expect(attune('validate', 'valid-prompts.json', '--site-config', 'site-config.json')).toEqual({
      status: 0,
      stdout: 'ok: 2 questions\n',
      stderr: '',
    });
    expect(attune('validate', 'valid-prompts.json', '--purposes', 'personalization,support_chat').status).toBe(0);
    expect(attune('validate', 'valid-prompts.json', '--json', '--site-config=site-config.json').stdout).toBe('[]\n');
  });

  it('without the site config, a custom purpose is undeclared', () => {
    const { status, stdout } = attune('validate', 'valid-prompts.json');
    expect(status).toBe(1);
    expect(stdout).toContain('valid-prompts.json: questions[1].purpose: expected a declared purpose');
    expect(stdout).toMatch(/\n1 problem\n$/);
  });

  it('reads YAML', () => {
    expect(attune('validate', 'valid-prompts.yaml')).toEqual({ status: 0, stdout: 'ok: 2 questions\n', stderr: '' });
  });

  it('reports YAML syntax errors with their line and column', () => {
    expect(attune('validate', 'broken-syntax.yaml')).toEqual({
      status: 1,
      stdout: [
        'broken-syntax.yaml: config: Map keys must be unique at line 4 column 5',
        'broken-syntax.yaml: config: All mapping items must start at the same column at line 7 column 1',
        '2 problems',
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  it('exits 2 on a usage error or an unreadable file, and prints usage on --help', () => {
    const help = attune('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: attune validate <file>');
    expect(attune('validate', '--help').stdout).toContain('--site-config');
    for (const args of [[], ['check', 'x.json'], ['validate'], ['validate', 'a.json', 'b.json'], ['validate', '--nope', 'x.json']]) {
      const run = attune(...args);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr).toContain('Usage: attune validate');
    }
    const missing = attune('validate', 'missing.json');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe('attune: cannot read missing.json: no such file\n');
    expect(attune('validate', 'valid-prompts.json', '--site-config', 'missing.json').status).toBe(2);
  });
});
