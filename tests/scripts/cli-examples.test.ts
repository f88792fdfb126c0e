import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectInvariants } from '@tests/helpers/invariants';
import { allCommands, buildProgram } from '../../scripts/cli/program';
import { createScriptDatabase, runScript, runShell, type ScriptDatabase } from './helpers';

// Every example in each command's --help and in the docs' `sh` blocks, run exactly as written in a
// shell (npm and jq included) on a database seeded with the demo users, and its output parsed. A
// documented pipe that breaks, or an example that no longer runs, fails here.
const root = path.resolve(import.meta.dirname, '../..');

function helpExamples(): string[] {
  const lines: string[] = [];
  for (const command of allCommands(buildProgram({ writeOut: () => {}, writeErr: () => {} }))) {
    let text = '';
    command.configureOutput({ writeOut: (t) => void (text += t), writeErr: () => {} });
    command.outputHelp();
    const examples = text.split('\nExamples:\n')[1];
    if (examples)
      lines.push(
        ...examples
          .split('\n')
          .filter((line) => line.startsWith('  npm run'))
          .map((line) => line.trim()),
      );
  }
  return lines;
}

/** Lines of `sh`/`bash` blocks in docs/ and the README that run the operator CLI. */
function docExamples(): { file: string; line: string }[] {
  const files = [...readdirSync(path.join(root, 'docs')).map((f) => `docs/${f}`), 'README.md'].filter((f) => f.endsWith('.md'));
  return files.flatMap((file) => {
    const found: { file: string; line: string }[] = [];
    let lang: string | null = null;
    for (const line of readFileSync(path.join(root, file), 'utf8').split('\n')) {
      const fence = /^```(\w*)/.exec(line);
      if (fence) lang = lang === null ? fence[1]! : null;
      else if ((lang === 'sh' || lang === 'bash') && /^npm run (-s )?(credits|jobs|scheduler)\b/.test(line)) found.push({ file, line });
    }
    return found;
  });
}

/** The output parsed as the example promises: JSON for --json, JSON values from jq, lines otherwise. */
function checkOutput(example: string, stdout: string) {
  expect(stdout.trim(), 'an example prints something').not.toBe('');
  // What prints is the last command of the line, not one inside a "$(…)" that feeds it an id.
  const last = example
    .replace(/"\$\([^)]*\)"/g, 'ID')
    .split('|')
    .at(-1)!;
  if (/^\s*jq -r /.test(last)) {
    // Raw strings, one per line (ids, dates): none empty, none `null`.
    for (const value of stdout.trim().split('\n')) expect(value).toMatch(/^(?!null$)\S+/);
  } else if (/^\s*jq /.test(last)) {
    expect(() => JSON.parse(stdout)).not.toThrow();
  } else if (/--json\b/.test(last)) {
    expect(() => JSON.parse(stdout)).not.toThrow();
  } else {
    expect(stdout, 'human output, not npm noise').not.toMatch(/^> credits-saas-starter/m);
  }
}

let t: ScriptDatabase;
beforeAll(async () => {
  t = await createScriptDatabase();
  const seeded = await runScript('db-seed', [], t.env);
  expect(seeded.code, seeded.stderr).toBe(0);
});
afterAll(async () => {
  await t?.drop();
});

describe('the documented examples', () => {
  it('are found: every command with a help example, and the operations page', () => {
    expect(helpExamples().length).toBeGreaterThanOrEqual(15);
    expect(docExamples().filter((e) => e.file === 'docs/operations.md').length).toBeGreaterThanOrEqual(20);
  });

  it('each runs as written, exits 0, and prints what it promises', { timeout: 1_200_000 }, async () => {
    // In the order an operator reads them: each command's help, then the docs (each distinct line once).
    const examples = [...new Set([...helpExamples(), ...docExamples().map((e) => e.line)])];
    const failures: string[] = [];
    for (const example of examples) {
      const result = await runShell(example, t.env);
      if (result.code !== 0) {
        failures.push(`${example}\n  → exit ${result.code}\n${result.stderr.split('\n').slice(-6).join('\n')}`);
        continue;
      }
      try {
        checkOutput(example, result.stdout);
      } catch (error) {
        failures.push(`${example}\n  → ${error instanceof Error ? error.message : String(error)}\n${result.stdout.slice(0, 400)}`);
      }
    }
    expect(failures, failures.join('\n\n')).toEqual([]);
    await t.use((db) => expectInvariants(db));
  });
});
