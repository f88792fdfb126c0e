import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import postgres from 'postgres';
import { startMailbox, type Mailbox } from '../../helpers/mailbox';

/**
 * Where the end-to-end build lives (next.config.ts honours NEXT_DIST_DIR), apart from `.next` of `npm run dev`.
 * `E2E_DIST_DIR` (with `E2E_SKIP_BUILD=1`) points the suite at another existing build.
 */
export const E2E_DIST_DIR = process.env.E2E_DIST_DIR || '.next-e2e';
/** The Postgres server on which each app gets a fresh database. */
export const e2eServerUrl = process.env.E2E_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

const root = path.resolve(import.meta.dirname, '../../..');
// Ports this suite may use; a random start and a retry keep parallel test files apart.
const PORTS = { first: 3200, last: 3299 };

export type App = {
  baseUrl: string;
  /** The app's database (created by `startApp` unless `env.DATABASE_URL` was given): seed and inspect it directly. */
  databaseUrl: string;
  stop(): Promise<void>;
  /** Everything the server printed so far (stdout and stderr). */
  logs(): string;
  /** The SMTP server this app sends its mail to (SMTP_URL), unless `env.SMTP_URL` was given. */
  mailbox: Mailbox;
};

/** A fresh, empty database on the e2e server; the app migrates it when it starts. */
export async function createE2eDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `credits_e2e_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(e2eServerUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(e2eServerUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const cleanup = postgres(e2eServerUrl, { max: 1, onnotice: () => {} });
      try {
        await cleanup.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}

/**
 * Starts the production build (`next start`, built by the e2e global setup into .next-e2e) on a free
 * port with `env` on top of safe defaults, and resolves once it answers HTTP. Without
 * `env.DATABASE_URL` it gets a fresh database, dropped again by `stop()`. `nodeEnv: 'test'` serves the
 * same build outside production (what the test checkout needs: it is refused in production).
 */
export async function startApp({
  env,
  nodeEnv = 'production',
}: {
  env: Record<string, string>;
  nodeEnv?: 'production' | 'test';
}): Promise<App> {
  if (!existsSync(path.join(root, E2E_DIST_DIR, 'BUILD_ID'))) {
    throw new Error(`No build in ${E2E_DIST_DIR}: run the suite with \`npm run test:e2e\` (its global setup builds once).`);
  }
  const database = env.DATABASE_URL ? null : await createE2eDatabase();
  // Production refuses to start without mail (SMTP_URL): each app gets its own capturing SMTP server.
  const mailbox = await startMailbox();
  const databaseUrl = env.DATABASE_URL ?? database!.url;
  let lastError: unknown;
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      try {
        const app = await launch(
          port,
          { SMTP_URL: mailbox.url, MAIL_FROM: 'Credits Starter <no-reply@e2e.test>', ...env, DATABASE_URL: databaseUrl },
          nodeEnv,
        );
        return {
          ...app,
          databaseUrl,
          mailbox,
          stop: async () => {
            await app.stop();
            await mailbox.close();
            await database?.drop();
          },
        };
      } catch (error) {
        lastError = error;
        // Another test file took the port between our check and the server's bind: try another.
        if (!(error instanceof PortTakenError)) throw error;
      }
    }
    throw lastError;
  } catch (error) {
    await database?.drop().catch(() => {});
    await mailbox.close().catch(() => {});
    throw error;
  }
}

class PortTakenError extends Error {}

async function launch(
  port: number,
  env: Record<string, string>,
  nodeEnv: 'production' | 'test',
): Promise<Omit<App, 'databaseUrl' | 'mailbox'>> {
  const baseUrl = `http://127.0.0.1:${port}`;
  let output = '';
  const child = spawn(
    process.execPath,
    [path.join(root, 'node_modules/next/dist/bin/next'), 'start', '-p', String(port), '-H', '127.0.0.1'],
    {
      cwd: root,
      // Its own process group, so stop() ends the server and anything it spawned.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        // An empty value keeps Next from filling these in from a developer's .env.local (and counts as unset).
        DATABASE_URL: '',
        PGLITE_DATA_DIR: '',
        TEST_DATABASE_URL: '',
        CRON_SECRET: '',
        CRON_JOBS_USERNAME: '',
        CRON_JOBS_PASSWORD: '',
        BETTER_AUTH_SECRET: randomBytes(32).toString('hex'),
        BETTER_AUTH_URL: baseUrl,
        CRON_TIME_BUDGET_MS: '',
        CREDITS_CHUNK_SIZE: '',
        // No payment keys from a developer's .env.local: the suite decides which provider it runs with.
        PAYMENTS_PROVIDER: '',
        STRIPE_SECRET_KEY: '',
        STRIPE_WEBHOOK_SECRET: '',
        CREEM_API_KEY: '',
        CREEM_WEBHOOK_SECRET: '',
        SMTP_URL: '',
        MAIL_FROM: '',
        NEXT_TELEMETRY_DISABLED: '1',
        ...env,
        NODE_ENV: nodeEnv,
        NEXT_DIST_DIR: E2E_DIST_DIR,
        PORT: String(port),
      },
    },
  );
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let running = true;
  void exited.then(() => (running = false));

  const stop = async () => {
    if (!running || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timeout = new Promise((resolve) => setTimeout(resolve, 5_000, 'timeout'));
    if ((await Promise.race([exited, timeout])) === 'timeout') {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    }
  };

  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (!running) {
      if (/EADDRINUSE/.test(output)) throw new PortTakenError(`port ${port} taken`);
      throw new Error(`next start exited before answering:\n${output}`);
    }
    try {
      // Any HTTP answer means the server is up (the health route may well say 503 on an empty install).
      await fetch(`${baseUrl}/api/cron/health`, { signal: AbortSignal.timeout(2_000) });
      return { baseUrl, stop, logs: () => output };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  await stop();
  throw new Error(`next start did not answer within 60 s:\n${output}`);
}

async function freePort(): Promise<number> {
  const span = PORTS.last - PORTS.first + 1;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = PORTS.first + ((start + i) % span);
    if (await canListen(port)) return port;
  }
  throw new Error(`No free port in ${PORTS.first}-${PORTS.last}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
