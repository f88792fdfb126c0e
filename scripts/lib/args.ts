// Command-line parsing for the small scripts outside the operator CLI (db:seed), on node:util's
// parseArgs: `--help`, and a bad flag ends the script with one line and exit code 2.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from '../cli/io';

export { usageError };

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
    return usageError(`${(error instanceof Error ? error.message : String(error)).replace(/\.$/, '')}. See --help.`);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(help.trim());
    process.exit(0);
  }
  return parsed;
}
