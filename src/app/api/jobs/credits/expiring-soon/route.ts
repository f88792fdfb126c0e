import { cronJobRoute } from '@/lib/server/http/cron-job-route';
import { jobs } from '@/lib/server/jobs/registry';

// Node.js is Next's default runtime; said here because postgres.js and PGlite need it. (If Cache
// Components is ever enabled, delete this line: that mode refuses the `runtime` export.)
export const runtime = 'nodejs';
// Seconds; the job itself stops starting chunks after CRON_TIME_BUDGET_MS and answers `hasMore`.
// A call that continues itself waits up to the rest of this for the next link's answer.
export const maxDuration = 60;

// GET|POST /api/jobs/credits/expiring-soon - see the job's entry in src/lib/server/jobs/registry.ts
export const { GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS } = cronJobRoute(jobs['expiring-soon'], { maxDuration });
