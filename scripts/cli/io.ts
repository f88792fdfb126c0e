// What every command shares about talking to its caller: exit codes, where each kind of line goes,
// and confirmation on a terminal.
import { createInterface } from 'node:readline/promises';

/** The exit codes an alert or a wrapper script can rely on (each command's --help repeats them). */
export const exitCodes = {
  ok: 0,
  /** The command ran and found something wrong: invariant violations, a job's failed rows, a refused change. */
  failed: 1,
  /** Bad usage: an unknown or inapplicable flag, a bad value, something named that does not exist. Nothing was written. */
  usage: 2,
  /** Could not run: the environment is invalid, the database is unreachable or in use, the app is unreachable. */
  cannotRun: 3,
} as const;

export const EXIT_CODES_HELP = `
Exit codes: 0 ok · 1 the command ran and found a problem (violations, failed rows, a refused change)
            2 bad usage (nothing written) · 3 could not run (env invalid, database unreachable or in use)`;

/** Ends the command with one line on stderr and the exit code; thrown, so `finally` blocks close the database. */
export class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

export function fail(message: string, exitCode: number = exitCodes.failed): never {
  throw new CliExit(exitCode, message);
}

export function usageError(message: string): never {
  throw new CliExit(exitCodes.usage, message);
}

/**
 * With `--json`, stdout carries exactly one JSON document and every human line goes to stderr; without
 * it, human lines go to stdout. Progress is always on stderr, so it never mixes with what is piped on.
 */
export type Output = ReturnType<typeof createOutput>;
export function createOutput(json: boolean) {
  const human = json ? process.stderr : process.stdout;
  return {
    json,
    line: (text = '') => void human.write(`${text}\n`),
    progress: (text: string) => void process.stderr.write(`${text}\n`),
    /** The command's result: the JSON document with --json, else the human lines `describe` writes. */
    result(value: unknown, describe?: () => void) {
      if (json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      else describe?.();
    },
  };
}

/** The engine logs with console.log (job start and end lines): on stderr, they never reach a pipe. */
export function engineLogsToStderr() {
  console.log = console.error;
  console.info = console.error;
}

/** Refuses at once, before any work, a change that would need a confirmation nobody can give here. */
export function requireTerminalOrYes(what: string) {
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    usageError(`${what} needs --yes when it does not run on a terminal (nobody can confirm it here); nothing was written`);
  }
}

/**
 * Asks "type yes" on a terminal. Off a terminal (a pipe, cron, CI) nobody can answer: the caller must
 * have said `--yes`, so this refuses with a usage error rather than guess.
 */
export async function confirm(question: string, what: string): Promise<void> {
  requireTerminalOrYes(what);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} Type yes to go on: `);
    if (answer.trim().toLowerCase() !== 'yes') fail('Not confirmed: nothing was written');
  } finally {
    rl.close();
  }
}

/** One line per failure on a terminal; DEBUG=1 keeps the engine's full error objects. */
export function conciseErrorLogs() {
  if (process.env.DEBUG) return;
  const original = console.error.bind(console);
  console.error = (...args: unknown[]) => original(...args.map((arg) => (arg instanceof Error ? describeError(arg) : arg)));
}

export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e && parts.length < 4; e = (e as { cause?: unknown }).cause) {
    const message = e instanceof Error ? e.message : String(e);
    if (message && !parts.includes(message)) parts.push(message);
    if (!(e instanceof Error)) break;
  }
  return parts.join(': ').replace(/\s+/g, ' ');
}
