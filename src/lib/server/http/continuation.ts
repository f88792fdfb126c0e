import 'server-only';
import { eq, sql } from 'drizzle-orm';
import { after } from 'next/server';
import { env, type Env } from '@/env';
import { getDb } from '@/lib/server/db';
import { inlined } from '@/lib/server/credits/job-runner';
import { jobRuns, type JobName } from '@/lib/server/db/schema';
import { json } from './responses';

/**
 * Self-continuation of the cron routes. Vercel Cron (and cron-job.org, and a crontab line) calls a
 * route once and never again when the answer says `hasMore`. So a call that ends with work left,
 * with no `limit` and not a dry run, calls its own route again after answering (Next's `after()`),
 * with the same credentials, as the next link of one chain: the job-run row of every link records
 * the first run's id and its position (`params.chain`). A chain stops when the work is done, at
 * CRON_MAX_CONTINUATIONS links after the first (logged loudly; the last run keeps `hasMore`), or
 * when a link moved nothing forward (another call holds the rest, or it keeps failing). The jobs are idempotent, so a link
 * that overlaps another call of the same job only skips what that call did.
 */

/** Sent by a continuation call: `<first run id>/<position>`, position 1 for the first continuation. */
export const CHAIN_HEADER = 'x-cron-chain';
/** Answered when a call ends with `hasMore`: what happens to the rest of the work. */
export const CONTINUATION_HEADER = 'x-cron-continuation';

export type ChainLink = { firstRunId: string; position: number };

/** How a link ended, as recorded in its job run's `params.chain.outcome`. */
export type ChainOutcome =
  'continued' | 'finished' | 'stopped-at-bound' | 'stopped-no-progress' | 'stopped-no-target' | 'continuation-failed' | 'failed';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Reads the chain header: null for a call that starts a chain (any scheduler's call). */
export function readChainLink(headers: Headers): { ok: true; link: ChainLink | null } | { ok: false; message: string } {
  const value = headers.get(CHAIN_HEADER);
  if (value === null) return { ok: true, link: null };
  const match = /^([0-9a-f-]{36})\/([1-9]\d{0,3})$/.exec(value);
  if (!match || !UUID.test(match[1]!)) return { ok: false, message: `${CHAIN_HEADER} must be <first run id>/<position>` };
  return { ok: true, link: { firstRunId: match[1]!, position: Number(match[2]) } };
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

export type ContinuationTarget = { ok: true; origin: string; source: string } | { ok: false; reason: string };

/**
 * Where the continuation call goes. The bearer secret travels with it, so the address never comes
 * from the caller: a configured URL first, then Vercel's production domain, then this server itself
 * on the loopback interface. The request's own origin is used only when it is that same loopback
 * address (so `localhost` and `[::1]` keep working), which a forged Host header cannot turn into
 * another host or port.
 */
export function continuationTarget(
  config: Pick<Env, 'CRON_CONTINUATION_URL' | 'PORT' | 'VERCEL_ENV' | 'VERCEL_PROJECT_PRODUCTION_URL'>,
  requestUrl: string,
): ContinuationTarget {
  if (config.CRON_CONTINUATION_URL)
    return { ok: true, origin: new URL(config.CRON_CONTINUATION_URL).origin, source: 'CRON_CONTINUATION_URL' };
  if (config.VERCEL_ENV) {
    // The generated deployment URL (VERCEL_URL) sits behind Deployment Protection by default; the
    // production domain does not. A preview would call production's domain, and its database: refuse.
    if (config.VERCEL_ENV === 'production' && config.VERCEL_PROJECT_PRODUCTION_URL) {
      return {
        ok: true,
        origin: new URL(`https://${config.VERCEL_PROJECT_PRODUCTION_URL}`).origin,
        source: 'VERCEL_PROJECT_PRODUCTION_URL',
      };
    }
    return { ok: false, reason: `on Vercel (${config.VERCEL_ENV}) without a production domain: set CRON_CONTINUATION_URL` };
  }
  const own = `http://127.0.0.1:${config.PORT}`;
  let request: URL | null = null;
  try {
    request = new URL(requestUrl);
  } catch {
    // not a URL we can read: the loopback address still is
  }
  const port = request ? Number(request.port || (request.protocol === 'https:' ? 443 : 80)) : null;
  if (request && request.protocol === 'http:' && LOOPBACK.test(request.hostname) && port === config.PORT) {
    return { ok: true, origin: request.origin, source: 'the request (loopback)' };
  }
  return { ok: true, origin: own, source: 'this server (loopback)' };
}

export type ContinuableCall = {
  req: Request;
  jobId: string;
  job: JobName;
  /** False for a call that must not continue itself: an explicit `limit`, a dry run (it rewrites nothing, so it would redo the same part). */
  continuable: boolean;
  /** The route's `maxDuration` in seconds: how long the link may wait for the next one's answer. */
  maxDurationSeconds: number;
};

export type CallOutcome = {
  body: Record<string, unknown>;
  hasMore: boolean;
  /**
   * False when the call moved nothing forward (what is left is held by another call, or failed and
   * would be met first again): the chain stops instead of spinning until its bound. Default true.
   */
  progressed?: boolean;
};

/** How a continuation is sent; the routes use Next's `after()` and `fetch`, tests may pass their own. */
export type ContinuationTransport = {
  schedule: (task: () => Promise<void>) => void;
  fetch: typeof fetch;
};

const nextTransport: ContinuationTransport = { schedule: (task) => after(task), fetch: (...args) => globalThis.fetch(...args) };

/**
 * Runs one call of a cron route as a link of a chain and answers it; when the work says `hasMore`,
 * schedules the next link after the answer has been sent.
 */
export async function runContinuable(
  call: ContinuableCall,
  work: () => Promise<CallOutcome>,
  transport: ContinuationTransport = nextTransport,
): Promise<Response> {
  const startedAt = Date.now();
  const chain = readChainLink(call.req.headers);
  if (!chain.ok)
    return json({ error: 'Invalid continuation header', details: [{ header: CHAIN_HEADER, message: chain.message }] }, { status: 400 });
  const link = chain.link;
  const config = env();
  const label = (first: string) => `[cron chain ${first}] ${call.job}`;

  let outcome: CallOutcome;
  try {
    outcome = await work();
  } catch (error) {
    if (link) {
      console.error(
        `${label(link.firstRunId)}: link ${link.position} (run ${call.jobId}) failed; the chain stops here, the rest waits for the next scheduled call`,
      );
      await recordLink(call.jobId, link, 'failed');
    }
    throw error;
  }

  const here: ChainLink = link ?? { firstRunId: call.jobId, position: 0 };
  const max = config.CRON_MAX_CONTINUATIONS;
  const respond = (state: string | null, recorded: ChainOutcome | null) =>
    (recorded ? recordLink(call.jobId, here, recorded, max) : Promise.resolve()).then(() =>
      json(outcome.body, state ? { headers: { [CONTINUATION_HEADER]: state } } : {}),
    );

  if (!outcome.hasMore) return respond(null, link ? 'finished' : null);
  if (!call.continuable) return respond('none', link ? 'finished' : null);
  if (max === 0) return respond('off', null);
  if (here.position >= max) {
    console.error(
      `${label(here.firstRunId)}: STOPPED at the bound of ${max} continuations with work left (run ${call.jobId} says hasMore). ` +
        'The rest waits for the next scheduled call. Raise CRON_MAX_CONTINUATIONS, CRON_TIME_BUDGET_MS or CREDITS_CHUNK_SIZE, or call the route again.',
    );
    return respond('stopped-at-bound', 'stopped-at-bound');
  }
  if (outcome.progressed === false) {
    console.warn(
      `${label(here.firstRunId)}: link ${here.position} (run ${call.jobId}) moved nothing forward (what is left is held by another call, or failed): not continuing`,
    );
    return respond('stopped-no-progress', 'stopped-no-progress');
  }
  const target = continuationTarget(config, call.req.url);
  if (!target.ok) {
    console.error(
      `${label(here.firstRunId)}: cannot continue (${target.reason}); run ${call.jobId} says hasMore and the rest waits for the next scheduled call`,
    );
    return respond('unavailable', 'stopped-no-target');
  }

  const next: ChainLink = { firstRunId: here.firstRunId, position: here.position + 1 };
  const path = new URL(call.req.url);
  const url = `${target.origin}${path.pathname}${path.search}`;
  try {
    transport.schedule(() => sendContinuation({ call, url, next, startedAt, transport, label: label(here.firstRunId) }));
  } catch (error) {
    // Outside a Next request (a script or a test calling the handler directly) there is no `after()`.
    console.warn(`${label(here.firstRunId)}: cannot schedule the continuation (${error instanceof Error ? error.message : String(error)})`);
    return respond('unavailable', 'stopped-no-target');
  }
  console.log(
    `${label(here.firstRunId)}: link ${here.position} (run ${call.jobId}) left work; continuing as link ${next.position} of at most ${max} via ${target.source}`,
  );
  return respond('scheduled', 'continued');
}

/**
 * Sends the next link and waits for its answer (logged), but no longer than this invocation may live:
 * the next link runs on its own once it has been received.
 */
async function sendContinuation(p: {
  call: ContinuableCall;
  url: string;
  next: ChainLink;
  startedAt: number;
  transport: ContinuationTransport;
  label: string;
}) {
  const { call, next } = p;
  const headers: Record<string, string> = { [CHAIN_HEADER]: `${next.firstRunId}/${next.position}` };
  const authorization = call.req.headers.get('authorization');
  if (authorization) headers.authorization = authorization;
  // The same user agent: the chain keeps the trigger of the call that started it (e.g. `vercel-cron`).
  const userAgent = call.req.headers.get('user-agent');
  if (userAgent) headers['user-agent'] = userAgent;
  const waitMs = Math.max(1_000, call.maxDurationSeconds * 1_000 - (Date.now() - p.startedAt) - 2_000);
  try {
    // Never follow a redirect: it would either drop the secret or hand it to the next host.
    const response = await p.transport.fetch(p.url, { method: 'POST', headers, redirect: 'manual', signal: AbortSignal.timeout(waitMs) });
    const text = await response.text();
    if (response.status >= 200 && response.status < 300) return;
    const where = response.headers.get('location')
      ? ` (redirects to ${response.headers.get('location')}: set CRON_CONTINUATION_URL to the final address)`
      : '';
    console.error(`${p.label}: continuation link ${next.position} answered ${response.status}${where}: ${text.slice(0, 300)}`);
  } catch (error) {
    if (error instanceof Error && error.name === 'TimeoutError') {
      console.log(`${p.label}: link ${next.position} still running after ${waitMs} ms; not waiting for its answer`);
      return;
    }
    console.error(
      `${p.label}: continuation link ${next.position} could not be sent to ${new URL(p.url).origin}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  await recordLink(call.jobId, { firstRunId: next.firstRunId, position: next.position - 1 }, 'continuation-failed');
}

/**
 * Adds the link to its job run's `params` (the run row is written by the job runner; this only
 * merges `chain` into it). Best effort: a database that went away must not turn a finished call into an error.
 */
async function recordLink(jobId: string, link: ChainLink, outcome: ChainOutcome, max = env().CRON_MAX_CONTINUATIONS) {
  const chain = JSON.stringify({ chain: { firstRunId: link.firstRunId, position: link.position, max, outcome } });
  try {
    const db = await getDb();
    // Inlined: one round trip instead of two (see `inlined`), before the answer goes out.
    await db.execute(
      inlined(
        db
          .update(jobRuns)
          .set({ params: sql`${jobRuns.params} || ${chain}::jsonb` })
          .where(eq(jobRuns.id, jobId)),
      ),
    );
  } catch (error) {
    console.error(`[cron chain ${link.firstRunId}] could not record link ${link.position} on run ${jobId}:`, error);
  }
}
