// The one operator CLI: `npm run -s credits -- <command> …` (and the aliases `jobs`, `credits:check`,
// `credits:inspect`, `credits:admin`, `scheduler`, which run the same program with the command filled in).
// Every subcommand declares its own flags: any other flag, a typo included, is a usage error (exit 2,
// with that subcommand's usage and a "did you mean" when one is close) before anything is opened.
import { Command, CommanderError } from 'commander';
import { reportFailure } from '../lib/cli';
import { adminCommand } from './commands/admin';
import { checkCommand } from './commands/check';
import { inspectCommand } from './commands/inspect';
import { jobsCommand } from './commands/jobs';
import { schedulerCommand } from './commands/scheduler';
import { conciseErrorLogs, engineLogsToStderr, EXIT_CODES_HELP, exitCodes } from './io';
import { helpExamples } from './examples';

export type ProgramOutput = { writeOut: (text: string) => void; writeErr: (text: string) => void };

export function buildProgram(
  output: ProgramOutput = { writeOut: (t) => process.stdout.write(t), writeErr: (t) => process.stderr.write(t) },
) {
  const program = new Command('credits')
    .description('Operate the credits engine: run jobs, inspect, correct, check, schedule.')
    .usage('<command> [options]   (npm run -s credits -- <command> …)')
    // Set before the subcommands are added: each one inherits them.
    .exitOverride()
    .configureOutput(output)
    .showHelpAfterError()
    .showSuggestionAfterError()
    .allowExcessArguments(false);
  jobsCommand(program);
  inspectCommand(program);
  adminCommand(program);
  checkCommand(program);
  schedulerCommand(program);
  // Every command's help ends with the exit codes and its own examples (each one run by tests/scripts/cli-examples.test.ts).
  for (const command of allCommands(program)) {
    const examples = helpExamples[commandPath(command)];
    command.addHelpText('after', `${EXIT_CODES_HELP}${examples ? `\n\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}` : ''}`);
  }
  return program;
}

/** Every command of the tree, the program itself included, parents before children. */
export function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

/** `admin void-run`: a command's words after the program's name. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Runs the CLI on `argv` (the words after the script) and returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  engineLogsToStderr();
  conciseErrorLogs();
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help exits 0; every other stop of commander's (an unknown flag, a missing value, a group named
      // without its subcommand, which prints the usage and exits 1 by default) is bad usage.
      return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    }
    return reportFailure(error);
  }
}
