import { createServer, type IncomingMessage, type Server } from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkTarget,
  createScheduler,
  cronAuthorization,
  httpCaller,
  loadCronEntries,
  type CallResult,
  type Clock,
  type CronEntry,
} from '../../scripts/lib/scheduler';
import { runCli } from './helpers';

/** A clock that only moves when the test says so; due timers fire in time order. */
class FakeClock implements Clock {
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  constructor(private t: number) {}
  now = () => new Date(this.t);
  setTimer = (at: Date, fn: () => void) => {
    const id = ++this.ids;
    this.timers.push({ at: at.getTime(), fn, id });
    return () => {
      this.timers = this.timers.filter((timer) => timer.id !== id);
    };
  };
  async advanceTo(iso: string) {
    const target = Date.parse(iso);
    for (;;) {
      await settle();
      const due = this.timers.filter((timer) => timer.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
      await settle();
    }
    this.t = target;
    await settle();
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A caller whose answers the test decides; it records which job was called at what (fake) time. */
function fakeCaller(clock: FakeClock, answer: (entry: CronEntry, n: number) => CallResult | Promise<CallResult>) {
  const calls: { job: string; at: string }[] = [];
  const call = async (entry: CronEntry) => {
    calls.push({ job: entry.name, at: clock.now().toISOString() });
    return answer(entry, calls.filter((c) => c.job === entry.name).length);
  };
  return { calls, call };
}

const done: CallResult = { ok: true, status: 200, hasMore: false, summary: 'processed=1' };
const vercelEntries = loadCronEntries(path.resolve(import.meta.dirname, '../../vercel.json'));

describe('the scheduler', () => {
  it('reads the schedules of vercel.json', () => {
    expect(vercelEntries).toEqual([
      { name: 'grant', path: '/api/jobs/credits/grant', schedule: '0 1 * * *' },
      { name: 'subscription-grants', path: '/api/cron/subscription-grants', schedule: '0 2 * * *' },
      { name: 'expire', path: '/api/jobs/credits/expire', schedule: '0 4 * * *' },
      { name: 'expiring-soon', path: '/api/jobs/credits/expiring-soon', schedule: '0 9 * * *' },
    ]);
  });

  it('fires each job at its time in UTC, every day', async () => {
    const clock = new FakeClock(Date.parse('2026-03-10T00:30:00Z'));
    const { calls, call } = fakeCaller(clock, () => done);
    const scheduler = createScheduler({ entries: vercelEntries, clock, call, log: () => {} });
    scheduler.start();

    await clock.advanceTo('2026-03-11T04:30:00Z');

    expect(calls).toEqual([
      { job: 'grant', at: '2026-03-10T01:00:00.000Z' },
      { job: 'subscription-grants', at: '2026-03-10T02:00:00.000Z' },
      { job: 'expire', at: '2026-03-10T04:00:00.000Z' },
      { job: 'expiring-soon', at: '2026-03-10T09:00:00.000Z' },
      { job: 'grant', at: '2026-03-11T01:00:00.000Z' },
      { job: 'subscription-grants', at: '2026-03-11T02:00:00.000Z' },
      { job: 'expire', at: '2026-03-11T04:00:00.000Z' },
    ]);
    expect(scheduler.upcoming().map((u) => u.next?.toISOString())).toEqual([
      '2026-03-12T01:00:00.000Z',
      '2026-03-12T02:00:00.000Z',
      '2026-03-12T04:00:00.000Z',
      '2026-03-11T09:00:00.000Z',
    ]);
    await scheduler.stop();
  });

  it('calls again at once while the route answers hasMore, and logs each call', async () => {
    const clock = new FakeClock(Date.parse('2026-03-10T00:30:00Z'));
    const { calls, call } = fakeCaller(clock, (_entry, n) => ({ ...done, hasMore: n < 3 }));
    const lines: string[] = [];
    const scheduler = createScheduler({ entries: [vercelEntries[0]!], clock, call, log: (line) => lines.push(line) });
    scheduler.start();

    await clock.advanceTo('2026-03-10T01:00:00Z');

    expect(calls).toHaveLength(3);
    expect(lines.filter((line) => line.includes('hasMore: calling again'))).toHaveLength(2);
    expect(lines.at(-1)).toMatch(/grant: run finished in \d+ms after 3 call\(s\)/);
    await scheduler.stop();
  });

  it('never overlaps a run of a job with itself: a slot that comes while it runs is skipped and logged', async () => {
    const clock = new FakeClock(Date.parse('2026-03-10T00:00:30Z'));
    let release: (result: CallResult) => void = () => {};
    const { calls, call } = fakeCaller(clock, (entry, n) =>
      entry.name === 'slow' && n === 1 ? new Promise<CallResult>((resolve) => (release = resolve)) : done,
    );
    const lines: string[] = [];
    const entries = [
      { name: 'slow', path: '/slow', schedule: '* * * * *' },
      { name: 'other', path: '/other', schedule: '* * * * *' },
    ];
    const scheduler = createScheduler({ entries, clock, call, log: (line) => lines.push(line) });
    scheduler.start();

    await clock.advanceTo('2026-03-10T00:03:30Z');

    expect(calls.filter((c) => c.job === 'slow').map((c) => c.at)).toEqual(['2026-03-10T00:01:00.000Z']);
    expect(calls.filter((c) => c.job === 'other')).toHaveLength(3); // one job's slow run does not hold back another
    expect(scheduler.isRunning('slow')).toBe(true);
    const skips = lines.filter((line) => line.includes('slow: skipped'));
    expect(skips).toHaveLength(2);
    expect(skips[0]).toContain('skipped the 2026-03-10T00:02:00.000Z run: the run started at 2026-03-10T00:01:00.000Z is still going');
    expect(scheduler.runNow('slow')).toBeNull();

    release(done);
    await clock.advanceTo('2026-03-10T00:04:00Z');

    expect(scheduler.isRunning('slow')).toBe(false);
    expect(calls.filter((c) => c.job === 'slow').map((c) => c.at)).toEqual(['2026-03-10T00:01:00.000Z', '2026-03-10T00:04:00.000Z']);
    await scheduler.stop();
  });

  it('ends a run at a failed call, and tries again at the next time', async () => {
    const clock = new FakeClock(Date.parse('2026-03-10T00:30:00Z'));
    const { calls, call } = fakeCaller(clock, (_entry, n) =>
      n === 1 ? { ok: false, status: 503, hasMore: false, summary: 'Database unavailable' } : done,
    );
    const lines: string[] = [];
    const scheduler = createScheduler({ entries: [vercelEntries[0]!], clock, call, log: (line) => lines.push(line) });
    scheduler.start();

    await clock.advanceTo('2026-03-11T01:00:00Z');

    expect(calls.map((c) => c.at)).toEqual(['2026-03-10T01:00:00.000Z', '2026-03-11T01:00:00.000Z']);
    expect(lines.some((line) => line.includes('call 1 → 503 Database unavailable'))).toBe(true);
    expect(lines.some((line) => line.includes('grant: run FAILED'))).toBe(true);
    await scheduler.stop();
  });

  it('gives up after maxCalls when a route keeps answering hasMore', async () => {
    const clock = new FakeClock(Date.parse('2026-03-10T00:30:00Z'));
    const { calls, call } = fakeCaller(clock, () => ({ ...done, hasMore: true }));
    const scheduler = createScheduler({ entries: [vercelEntries[0]!], clock, call, log: () => {}, maxCalls: 5 });
    scheduler.start();
    await clock.advanceTo('2026-03-10T01:00:00Z');
    expect(calls).toHaveLength(5);
    await scheduler.stop();
  });

  it('refuses an invalid cron expression at start-up', () => {
    expect(() =>
      createScheduler({ entries: [{ name: 'x', path: '/x', schedule: '0 25 * * *' }], clock: new FakeClock(0), call: async () => done }),
    ).toThrow(/Invalid schedule "0 25 \* \* \*"/);
  });
});

describe('the scheduler over HTTP', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  /** A stand-in for the app on a port in 3300-3399, answering `respond` for each request. */
  async function fakeApp(respond: (req: IncomingMessage, n: number) => { status: number; body: unknown }) {
    const requests: { url: string; authorization?: string }[] = [];
    server = createServer((req, res) => {
      requests.push({ url: req.url!, authorization: req.headers.authorization });
      const { status, body } = respond(req, requests.length);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    for (let attempt = 0; ; attempt++) {
      const port = 3300 + Math.floor(Math.random() * 100);
      try {
        await new Promise<void>((resolve, reject) => {
          server!.once('error', reject);
          server!.listen(port, '127.0.0.1', () => resolve());
        });
        return { url: `http://127.0.0.1:${port}`, requests };
      } catch (error) {
        if (attempt > 20) throw error;
      }
    }
  }

  it('sends the bearer secret, or Basic credentials, and reads hasMore from the answer', async () => {
    const app = await fakeApp((_req, n) =>
      n === 1
        ? { status: 200, body: { success: true, jobId: 'j1', duration: 5, results: { processed: 2, failed: 0 }, hasMore: true } }
        : { status: 401, body: { error: 'Unauthorized' } },
    );
    const bearer = cronAuthorization({ CRON_SECRET: 's'.repeat(20) })!;
    const basic = cronAuthorization({ CRON_JOBS_USERNAME: 'cron', CRON_JOBS_PASSWORD: 'pa:ss'.repeat(4) })!;
    const entry = vercelEntries[0]!;

    const first = await httpCaller({ baseUrl: app.url, authorization: bearer, timeoutMs: 5_000 })(entry);
    const second = await httpCaller({ baseUrl: app.url, authorization: basic, timeoutMs: 5_000 })(entry);

    expect(first).toEqual({ ok: true, status: 200, hasMore: true, summary: 'jobId=j1 processed=2 failed=0 duration=5ms' });
    expect(second).toMatchObject({ ok: false, status: 401, hasMore: false });
    expect(second.summary).toMatch(/Unauthorized \(check CRON_SECRET/);
    expect(app.requests).toEqual([
      { url: '/api/jobs/credits/grant', authorization: `Bearer ${'s'.repeat(20)}` },
      { url: '/api/jobs/credits/grant', authorization: `Basic ${Buffer.from(`cron:${'pa:ss'.repeat(4)}`).toString('base64')}` },
    ]);
    expect(cronAuthorization({})).toBeNull();
  });

  const healthReport = { status: 'degraded', jobs: { grant: { lastSuccessAt: null } } };

  it('npm run scheduler -- --run-now checks the app first, then calls the route until hasMore is false and exits 0', async () => {
    let jobCalls = 0;
    const app = await fakeApp((req) => {
      if (req.url === '/api/cron/health') return { status: 503, body: healthReport };
      jobCalls += 1;
      return {
        status: 200,
        body: { processed: 1, schedulesTouched: 1, jobId: `j${jobCalls}`, duration: 3, hasMore: jobCalls < 2, grants: [] },
      };
    });
    const secret = 'x'.repeat(24);

    const result = await runCli(['scheduler', '--run-now', 'subscription-grants'], { APP_URL: app.url, CRON_SECRET: secret });

    expect(result.code, result.stderr).toBe(0);
    expect(app.requests).toEqual([
      { url: '/api/cron/health', authorization: `Bearer ${secret}` },
      { url: '/api/cron/subscription-grants', authorization: `Bearer ${secret}` },
      { url: '/api/cron/subscription-grants', authorization: `Bearer ${secret}` },
    ]);
    expect(result.stderr).toMatch(/answers the health check with the scheduler's credentials: degraded/);
    expect(result.stderr).toMatch(/subscription-grants: call 2 → 200 jobId=j2 processed=1 schedulesTouched=1 duration=3ms/);
    expect(result.stderr).toMatch(/run finished in \d+ms after 2 call\(s\)/);
  });

  it('stops at start-up with exit 3 when the secret is wrong, and calls no job', async () => {
    const app = await fakeApp(() => ({ status: 401, body: { error: 'Unauthorized' } }));

    const result = await runCli(['scheduler'], { APP_URL: app.url, CRON_SECRET: 'w'.repeat(24) });

    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/refused the scheduler's credentials \(401\): set CRON_SECRET/);
    expect(app.requests.map((r) => r.url)).toEqual(['/api/cron/health']);
  });

  it.each([
    ['an app that is not running', null, 'unreachable', /unreachable at APP_URL=/],
    [
      'an app with no cron credentials',
      { status: 500, body: { error: 'Cron auth not configured' } },
      'not_configured',
      /no cron credentials configured/,
    ],
    ['another service at APP_URL', { status: 200, body: { hello: 'world' } }, 'not_the_app', /is APP_URL this app's address/],
    ['the app, healthy', { status: 200, body: { ...healthReport, status: 'ok' } }, null, null],
  ] as const)('the start-up check names %s', async (_name, answer, reason, message) => {
    const app = answer ? await fakeApp(() => answer) : { url: 'http://127.0.0.1:9' };
    const check = await checkTarget({ baseUrl: app.url, authorization: 'Bearer x', timeoutMs: 5_000 });
    if (reason === null) expect(check).toEqual({ ok: true, status: 'ok' });
    else {
      expect(check).toMatchObject({ ok: false, reason });
      expect(!check.ok && check.message).toMatch(message!);
    }
  });
});
