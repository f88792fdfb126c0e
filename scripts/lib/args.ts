// Command-line parsing for the operations scripts, on node:util's parseArgs: `--help` on every
// script, and a bad flag or value ends the script with one line and exit code 2.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fail } from './cli';

export const USAGE_ERROR = 2;

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandLine<const O extends Options>(options: O, help: string, argv = process.argv.slice(2)) {
  const config = {
    args: argv,
    options: { ...options, help: { type: 'boolean', short: 'h' } } as O & { help: { type: 'boolean'; short: 'h' } },
    allowPositionals: true,
    strict: true,
  } as const;
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    usageError(error instanceof Error ? error.message : String(error));
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(help.trim());
    process.exit(0);
  }
  return parsed;
}

export function usageError(message: string): never {
  fail(`${message.replace(/\.$/, '')}. See --help.`, USAGE_ERROR);
}

/** A whole number option within [min, max]; undefined when absent. */
export function intOption(value: string | undefined, name: string, range: { min?: number; max?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  const min = range.min ?? 1;
  if (!/^-?\d+$/.test(value.trim())) usageError(`--${name} must be a whole number, got "${value}"`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || (range.max !== undefined && n > range.max)) {
    usageError(`--${name} must be between ${min} and ${range.max ?? 'any larger number'}, got ${value}`);
  }
  return n;
}

export function requireOption<T>(value: T | undefined, name: string): T {
  if (value === undefined || value === '') usageError(`--${name} is required`);
  return value;
}

/**
 * The engine logs failures with the error object (a stack trace, for the server log). On a
 * terminal one line per failure is enough; DEBUG=1 keeps the full traces.
 */
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

/** Console lines go to stderr so that stdout carries only the JSON a script prints (pipe it to jq). */
export function logsToStderr() {
  console.log = console.error;
  console.info = console.error;
}
