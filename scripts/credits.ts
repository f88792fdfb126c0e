// npm run -s credits -- <command> [options] — see scripts/cli/program.ts and docs/operations.md.
import { runCli } from './cli/program';

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  () => process.exit(1),
);
