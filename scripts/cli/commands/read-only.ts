import { Option, type Command } from 'commander';
import { usageError } from '../io';

/**
 * A command that only reads: `--dry-run` is refused with a reason rather than as an unknown flag, so an
 * operator who adds it out of caution learns that this command never writes.
 */
export function readOnly(command: Command): Command {
  return command.addOption(new Option('--dry-run').hideHelp()).hook('preAction', (_this, action) => {
    if (action.opts().dryRun) usageError(`${action.name()} only reads: --dry-run does not apply (it never writes)`);
  });
}
