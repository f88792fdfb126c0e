import { getDb } from '@/lib/server/db';
import { withCronAuth } from '@/lib/server/http/cron-auth';
import { classifyError, json, methodNotAllowed } from '@/lib/server/http/responses';
import { getJobsHealth } from '@/lib/server/usecases/get-jobs-health';

// Node.js is Next's default runtime; said here because postgres.js and PGlite need it. (If Cache
// Components is ever enabled, delete this line: that mode refuses the `runtime` export.)
export const runtime = 'nodejs';
export const maxDuration = 10;

// GET|POST /api/cron/health - for uptime monitors: 200 when the daily jobs run, 503 when one stopped.
// Anyone may ask for the status; the detail (run times, overdue schedules) needs cron auth.
const health = withCronAuth(
  async ({ trigger, jobId }) => {
    try {
      const report = await getJobsHealth(await getDb());
      const status = report.status === 'ok' ? 200 : 503;
      return json(trigger === null ? { status: report.status } : report, { status });
    } catch (error) {
      // A monitor needs a degraded answer, not a generic 500, whatever stopped the check.
      console.error(`[cron ${jobId}] health check failed:`, error);
      const reason = classifyError(error) === 'database_unavailable' ? 'Database unavailable' : 'Internal error';
      return json(trigger === null ? { status: 'degraded' } : { status: 'degraded', error: reason }, { status: 503 });
    }
  },
  { optional: true },
);

export const GET = health;
export const POST = health;
export const PUT = methodNotAllowed;
export const PATCH = methodNotAllowed;
export const DELETE = methodNotAllowed;
export const HEAD = methodNotAllowed;
export const OPTIONS = methodNotAllowed;
