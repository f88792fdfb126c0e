import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommanderError, type Command } from 'commander';
import { jobRuns } from '@/lib/server/db/schema';
import { jobNames } from '@/lib/server/jobs/catalog';
import { jobs } from '@/lib/server/jobs/registry';
import { allCommands, buildProgram, commandPath } from '../../scripts/cli/program';
import { CliExit } from '../../scripts/cli/io';
import { createScriptDatabase, runShell, type ScriptDatabase } from './helpers';

// The parser of the one CLI, in this process and table-driven over every command (the job commands come
// from the registry): a flag a command does not declare is refused before its action could open the
// database. A few spawned runs below show the same end to end: exit 2, nothing written.

/** A program whose output is captured; its actions must never run here (the database URL leads nowhere). */
function program() {
  const out: string[] = [];
  const err: string[] = [];
  const p = buildProgram({ writeOut: (t) => void out.push(t), writeErr: (t) => void err.push(t) });
  return { p, out, err };
}

const leaves = allCommands(buildProgram({ writeOut: () => {}, writeErr: () => {} })).filter((c) => c.commands.length === 0);
const flagsOf = (command: Command) => command.options.map((o) => o.long!).filter((flag) => flag !== '--help');

/** Values for a command's mandatory options (and its required argument), so only the flag under test can be wrong. */
function requiredArgs(command: Command): string[] {
  const args = command.registeredArguments.filter((a) => a.required).map(() => '00000000-0000-0000-0000-000000000000');
  for (const option of command.options.filter((o) => o.mandatory))
    args.push(option.long!, option.argChoices?.[0] ?? (option.long === '--amount' ? '1' : 'x'));
  return args;
}

async function parse(argv: string[]) {
  const { p, err } = program();
  try {
    await p.parseAsync(argv, { from: 'user' });
  } catch (error) {
    return { error, stderr: err.join('') };
  }
  return { error: null, stderr: err.join('') };
}

const previousUrl = process.env.DATABASE_URL;
beforeAll(() => {
  // Were an action to run by mistake, it would fail to connect (exit 3) instead of writing anywhere.
  process.env.DATABASE_URL = 'postgres://nobody@127.0.0.1:1/nowhere';
});
afterAll(() => {
  process.env.DATABASE_URL = previousUrl;
});

const foreignFlags = leaves.flatMap((leaf) => {
  const own = new Set(flagsOf(leaf));
  const foreign = [...new Set(leaves.flatMap(flagsOf))].filter((flag) => !own.has(flag));
  return foreign.map((flag) => [commandPath(leaf), flag, leaf] as const);
});

describe('every command refuses a flag it does not declare', () => {
  it('covers every command and every job of the registry', () => {
    expect(leaves.map(commandPath)).toEqual(expect.arrayContaining([...jobNames.map((job) => `jobs ${job}`), 'admin deduct', 'check']));
    expect(foreignFlags.length).toBeGreaterThan(100);
  });

  it.each(foreignFlags)("%s %s → usage error with that command's usage, before anything runs", async (path, flag, leaf) => {
    const option = leaves.flatMap((l) => l.options).find((o) => o.long === flag)!;
    const argv = [...path.split(' '), ...requiredArgs(leaf), flag, ...(option.required || option.optional ? ['1'] : [])];

    const { error, stderr } = await parse(argv);

    expect(error).toBeInstanceOf(CommanderError);
    expect((error as CommanderError).code).toBe('commander.unknownOption');
    expect(stderr).toContain(`unknown option '${flag}'`);
    expect(stderr).toContain(`Usage: credits ${path}`);
  });
});

describe('the flags of a job are the keys of its route query', () => {
  it.each(jobNames)('%s', (job) => {
    const command = leaves.find((leaf) => commandPath(leaf) === `jobs ${job}`)!;
    const queryFlags = Object.keys(jobs[job].query.shape).map((key) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    expect(flagsOf(command)).toEqual(expect.arrayContaining(queryFlags));
    // The CLI's own flags, and --date for the grant backfill: nothing else.
    expect(
      flagsOf(command)
        .filter((flag) => !queryFlags.includes(flag))
        .sort(),
    ).toEqual([...(job === 'grant' ? ['--date'] : []), '--json', '--max-calls', '--once'].sort());
  });
});

describe('dry runs', () => {
  const writing = leaves.filter((leaf) => /^(jobs|admin) /.test(commandPath(leaf)));
  const reading = leaves.filter((leaf) => !/^(jobs|admin) /.test(commandPath(leaf)));

  it.each(writing.map((leaf) => [commandPath(leaf)]))('%s takes --dry-run and --json', (path) => {
    const leaf = leaves.find((l) => commandPath(l) === path)!;
    expect(flagsOf(leaf)).toEqual(expect.arrayContaining(['--dry-run', '--json']));
  });

  it.each(reading.map((leaf) => [commandPath(leaf), leaf] as const))(
    '%s only reads: --dry-run is refused with the reason',
    async (path, leaf) => {
      const { error } = await parse([...path.split(' '), ...requiredArgs(leaf), '--dry-run']);
      expect(error).toBeInstanceOf(CliExit);
      expect((error as CliExit).exitCode).toBe(2);
      expect((error as CliExit).message).toMatch(/only reads: --dry-run does not apply/);
    },
  );

  it('a typo of --dry-run is refused with a suggestion', async () => {
    const { error, stderr } = await parse(['admin', 'deduct', '--user', 'u', '--amount', '1', '--reason', 'r', '--dryrun']);
    expect((error as CommanderError).code).toBe('commander.unknownOption');
    expect(stderr).toContain('(Did you mean --dry-run?)');
  });
});

describe('help', () => {
  it.each(allCommands(buildProgram()).map((c) => [commandPath(c) || '(the program)', c] as const))(
    '%s: --help states the exit codes and exits 0',
    async (path) => {
      const { p, out } = program();
      const error = await p
        .parseAsync([...(path === '(the program)' ? [] : path.split(' ')), '--help'], { from: 'user' })
        .catch((e: unknown) => e);
      expect((error as CommanderError).exitCode).toBe(0);
      expect(out.join('')).toMatch(/Exit codes: 0 ok · 1 .*\n\s+2 bad usage \(nothing written\) · 3 could not run/);
    },
  );
});

describe('spawned as an operator runs it', () => {
  let t: ScriptDatabase;
  beforeAll(async () => {
    t = await createScriptDatabase();
  });
  afterAll(async () => {
    await t?.drop();
  });

  it.each([
    ['npm run -s jobs -- expire --date 2026-10-01', /unknown option '--date'/],
    ['npm run -s credits -- jobs subscription-grants --dry-rn', /Did you mean --dry-run\?/],
  ])('%s → exit 2, no job run written', async (commandLine, message) => {
    const result = await runShell(commandLine, t.env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    await t.use(async (db) => expect(await db.select().from(jobRuns)).toEqual([]));
  });

  it('a real void off a terminal without --yes is refused at once with exit 2', async () => {
    const result = await runShell('npm run -s credits -- admin void-run --job-run 00000000-0000-0000-0000-000000000000 < /dev/null', t.env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/A real void needs --yes when it does not run on a terminal/);
  });

  it('a database that cannot be reached is exit 3 (could not run)', async () => {
    const result = await runShell('npm run -s credits -- check', { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nowhere' });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/✖ Cannot open the database \(DATABASE_URL\)/);
  });
});
