// npm run bench [-- --users 100000 --chunk 1000 --create-db --no-routes] — see docs/performance.md.
// Seeds N users into the Postgres database in DATABASE_URL (a bench database only), times each job
// through its usecase, its raw SQL ceiling and its HTTP route, and writes bench-results/<timestamp>.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import nextEnv from '@next/env';
import { runBench } from './core';
import { BenchRefusal, createDatabaseIfMissing, dropDatabase, withDatabase } from './databases';
import { formatReport } from './report';

const SCRATCH_DATABASE = 'credits_bench';
const DEFAULT_DIST_DIR = '.next-bench';
const ROUTE_FILES = [
  'src/app/api/jobs/credits/grant/route.ts',
  'src/app/api/jobs/credits/expire/route.ts',
  'src/app/api/cron/subscription-grants/route.ts',
];

function fail(message: string): never {
  console.error(`✖ ${message}`);
  process.exit(1);
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value.replace(/_/g, ''));
  if (!Number.isSafeInteger(parsed) || parsed <= 0) fail(`--${name} must be a positive whole number, not "${value}"`);
  return parsed;
}

const USAGE = `npm run bench -- [options]

Seeds N users into the Postgres database named by DATABASE_URL (a bench database only: an empty one,
or one this bench seeded), then times every job through its usecase, its raw SQL ceiling and its
HTTP route, and writes bench-results/<timestamp>.json. See docs/performance.md.

  --users N          users to seed (default 100000; 1000000 works)
  --chunk N          chunk size of the jobs (default 1000)
  --consumptions N   consumptions timed (default 10000)
  --workers N        concurrent consumption workers (default 16)
  --invariants all|sample   how much of the invariant check to run after seeding and after the jobs
  --create-db        use (and create if missing) the scratch database credits_bench on that server
  --drop-db          drop it at the end
  --reuse-seed       run the jobs again on an existing seed of the same size
  --no-routes        skip the HTTP part (no next build, no next start)
  --build            rebuild the app for the HTTP part even if a build exists
  --port N           port for next start (default 3571)
  --dist-dir DIR     where the HTTP part's build lives (default .next-bench; another one lets two benches build side
                     by side; next build then adds DIR to tsconfig.json's include, which is not to be committed)
  --help             this text`;

function parseOptions() {
  try {
    return parseArgs({
      options: {
        help: { type: 'boolean', default: false },
        users: { type: 'string' },
        chunk: { type: 'string' },
        consumptions: { type: 'string' },
        workers: { type: 'string' },
        invariants: { type: 'string' },
        port: { type: 'string' },
        'dist-dir': { type: 'string' },
        'create-db': { type: 'boolean', default: false },
        'drop-db': { type: 'boolean', default: false },
        'no-routes': { type: 'boolean', default: false },
        build: { type: 'boolean', default: false },
        'reuse-seed': { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    fail(`${error instanceof Error ? error.message : String(error)} (npm run bench -- --help)`);
  }
}

async function main() {
  const { values } = parseOptions();
  if (values.help) {
    console.log(USAGE);
    return;
  }
  nextEnv.loadEnvConfig(process.cwd(), true, { info: () => {}, error: console.error });
  const configured = process.env.DATABASE_URL;
  if (!configured) {
    fail(
      'npm run bench measures a Postgres server and DATABASE_URL is not set (the embedded PGlite is not a benchmark target). ' +
        `Try: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench -- --create-db`,
    );
  }
  if (!/^postgres(ql)?:\/\//.test(configured)) fail('DATABASE_URL must be a postgres:// URL');
  if (values.invariants && values.invariants !== 'all' && values.invariants !== 'sample') fail('--invariants must be "all" or "sample"');
  const port = positive('port', values.port, 3571);
  const distDir = values['dist-dir'] ?? DEFAULT_DIST_DIR;

  let url = configured;
  if (values['create-db']) {
    url = withDatabase(configured, SCRATCH_DATABASE);
    const created = await createDatabaseIfMissing(configured, SCRATCH_DATABASE);
    console.log(`${created ? 'Created' : 'Using'} the scratch database ${SCRATCH_DATABASE}`);
  }

  const routesPresent = ROUTE_FILES.every((file) => existsSync(file));
  let withRoutes = !values['no-routes'] && routesPresent;
  if (!values['no-routes'] && !routesPresent)
    console.log(`Routes not found (${ROUTE_FILES.filter((f) => !existsSync(f)).join(', ')}): timing the usecases only.`);
  if (withRoutes && (values.build || !existsSync(path.join(distDir, 'BUILD_ID')))) {
    console.log(`Building the app into ${distDir} (next build) …`);
    try {
      execFileSync(path.join('node_modules', '.bin', 'next'), ['build'], {
        stdio: 'inherit',
        env: { ...process.env, NEXT_DIST_DIR: distDir, DATABASE_URL: url, NEXT_TELEMETRY_DISABLED: '1' },
      });
    } catch {
      console.log(`✖ next build failed (above): timing the usecases only. Fix the build, then run again with --build.`);
      withRoutes = false;
    }
  }

  const chunkSize = positive('chunk', values.chunk, 1_000);
  const report = await runBench(url, {
    users: positive('users', values.users, 100_000),
    chunkSize,
    consumptions: positive('consumptions', values.consumptions, 10_000),
    workers: positive('workers', values.workers, 16),
    invariants: values.invariants as 'all' | 'sample' | undefined,
    reuseSeed: values['reuse-seed'],
    routes: withRoutes ? { port, distDir: distDir, chunkSize } : null,
  });
  console.log(formatReport(report));
  mkdirSync('bench-results', { recursive: true });
  const file = path.join('bench-results', `${report.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nWrote ${file}`);
  if (values['drop-db']) {
    await dropDatabase(configured, new URL(url).pathname.slice(1));
    console.log(`Dropped ${new URL(url).pathname.slice(1)}`);
  }
  if (!report.invariants.afterSeed.ok || !report.invariants.afterJobs.ok) fail('Invariants were violated: see the JSON file');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof BenchRefusal) fail(error.message);
    console.error(error);
    process.exit(1);
  },
);
