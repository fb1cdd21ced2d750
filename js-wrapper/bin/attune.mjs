#!/usr/bin/env node
// `attune validate <file>`: checks a prompt config (JSON or YAML) with the SDK's own reader, run
// from the package's wasm, and prints every problem with its path.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = `Usage: attune validate <file> [--site-config attune-config.json] [--purposes a,b,c] [--json]

Checks a prompt config (progressive-profiling questions) and prints every problem, one per line.

  <file>                the prompt config: JSON, or YAML if it ends in .yaml or .yml
  --site-config <file>  the site config: its "purposes" ids are declared too
  --purposes a,b,c      the declared purposes (default: necessary,analytics,personalization,marketing)
  --json                print the problems as a JSON array of { path, message }
  -h, --help            print this help

Exit status: 0 when valid, 1 when there are problems, 2 on a usage error or an unreadable file.`;

/** Exit status 2: bad arguments (`usage`: print the usage too) or a file that cannot be read. */
class CliError extends Error {
  constructor(message, { usage = false } = {}) {
    super(message);
    this.usage = usage;
  }
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

function readText(file) {
  try {
    return readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
}

const isYaml = (file) => /\.ya?ml$/i.test(file);

/** YAML text → `{ value }`, or `{ issues }` for syntax errors, each with its line and column. */
async function parseYaml(text) {
  const { LineCounter, parseDocument } = await import('yaml');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset) => {
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line} column ${col}`;
  };
  if (doc.errors.length > 0) {
    return { issues: doc.errors.map((e) => ({ path: 'config', message: `${e.message} at ${at(e.pos[0])}` })) };
  }
  try {
    // As JSON text: what the reader reads. Throws on too many aliases (a "billion laughs" document).
    return { value: JSON.stringify(doc.toJS()) ?? 'null' };
  } catch (e) {
    return { issues: [{ path: 'config', message: e.message }] };
  }
}

/** The purposes a site config declares: the built-in ones and its `purposes` ids. */
async function sitePurposes(file) {
  const text = readText(file);
  let config;
  try {
    config = isYaml(file) ? (await import('yaml')).parse(text) : JSON.parse(text);
  } catch (e) {
    throw new CliError(`${file} is not a valid site config: ${e.message}`);
  }
  const purposes = config?.purposes ?? [];
  if (!Array.isArray(purposes)) throw new CliError(`${file}: purposes: expected an array`);
  return purposes.map((p, i) => {
    const id = typeof p === 'string' ? p : p?.id;
    if (typeof id !== 'string') throw new CliError(`${file}: purposes[${i}].id: expected a string`);
    return id;
  });
}

async function validate(args) {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        'site-config': { type: 'string' },
        purposes: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new CliError(e.message, { usage: true });
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new CliError('expected one config file', { usage: true });
  const [file] = positionals;

  const library = await import('../dist/index.js').catch(() => {
    throw new CliError('the package is not built: run scripts/build-sdk.sh');
  });
  let purposes = values.purposes?.split(',').map((p) => p.trim()) ?? [...library.BUILT_IN_PURPOSES];
  if (values['site-config'] !== undefined) purposes.push(...(await sitePurposes(values['site-config'])));
  purposes = [...new Set(purposes)];

  const text = readText(file);
  // JSON goes to the reader as text, so that its syntax errors come with a line and column.
  const parsed = isYaml(file) ? await parseYaml(text) : { value: text };
  const wasm = readFileSync(new URL('../wasm/attune_wasm_bg.wasm', import.meta.url));
  const issues = parsed.issues ?? (await library.validatePrompts(parsed.value, { purposes, wasm }));

  if (values.json) {
    console.log(JSON.stringify(issues, null, 2));
  } else if (issues.length > 0) {
    for (const { path, message } of issues) console.log(`${file}: ${path}: ${message}`);
    console.log(plural(issues.length, 'problem'));
  } else {
    console.log(`ok: ${plural(JSON.parse(parsed.value).questions.length, 'question')}`);
  }
  return issues.length > 0 ? 1 : 0;
}

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (command === 'validate') return validate(rest);
  throw new CliError(command === undefined ? 'expected a command' : `unknown command ${JSON.stringify(command)}`, {
    usage: true,
  });
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  // Anything else is a bug in attune itself: show the stack, and still not exit 1 ("problems found").
  console.error(e instanceof CliError ? `attune: ${e.message}${e.usage ? `\n\n${USAGE}` : ''}` : e);
  process.exitCode = 2;
}
