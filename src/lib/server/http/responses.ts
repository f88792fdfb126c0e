import 'server-only';
import { JobFailedError } from '@/lib/server/credits/job-runner';
import { isConnectionError } from '@/lib/server/db/sql';

// Cron answers are about one run: a CDN or proxy that kept one would hide every later run.
const NO_STORE = { 'Cache-Control': 'no-store' } as const;

/** JSON that is never cached. */
export function json(body: unknown, init: { status?: number; headers?: Record<string, string> } = {}): Response {
  return Response.json(body, { status: init.status ?? 200, headers: { ...NO_STORE, ...init.headers } });
}

export const ALLOWED_METHODS = 'GET, POST';

/** For every method a cron route does not serve; Next's own 405 has no body and no `Allow`. */
export function methodNotAllowed(): Response {
  return json({ error: 'Method not allowed' }, { status: 405, headers: { Allow: ALLOWED_METHODS } });
}

export function invalidQuery(details: unknown): Response {
  return json({ error: 'Invalid query', details }, { status: 400 });
}

type ErrorKind = 'database_unavailable' | 'internal';

// The one table from failure to answer: the caller learns which of the two it was and the job id
// to look up; the detail (SQL, stack) stays in the log.
const ERROR_RESPONSES: Record<ErrorKind, { status: number; error: string }> = {
  database_unavailable: { status: 503, error: 'Database unavailable' },
  internal: { status: 500, error: 'Internal error' },
};

export function classifyError(error: unknown): ErrorKind {
  if (error instanceof JobFailedError) return error.databaseUnavailable ? 'database_unavailable' : 'internal';
  return isConnectionError(error) ? 'database_unavailable' : 'internal';
}

/** Turns a thrown error into the generic JSON answer; `jobId` is the id the route chose for this call. */
export function errorResponse(error: unknown, jobId: string): Response {
  const { status, error: message } = ERROR_RESPONSES[classifyError(error)];
  const id = error instanceof JobFailedError ? error.jobId : jobId;
  return json({ error: message, jobId: id }, { status });
}
