// N consumptions from W concurrent workers through the consumeCredits usecase: the path every gated
// request of the app takes. Latency is per call, end to end (idempotency check, locks, burn-down, commit).
import { sql } from 'drizzle-orm';
import { queryRows } from '@/lib/server/db/sql';
import type { Database } from '@/lib/server/db/types';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';

export type ConsumeFigures = {
  ops: number;
  workers: number;
  ms: number;
  opsPerSec: number;
  succeeded: number;
  insufficient: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
};

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function runConsumptions(
  db: Database,
  p: { ops: number; workers: number; now: Date; amount?: number; onProgress?: (done: number) => void },
): Promise<ConsumeFigures> {
  // Random users, as requests would come: a user may be hit more than once (and then waits for their own lock).
  const users = (await queryRows<{ id: string }>(db, sql`select id from users order by random() limit ${p.ops}`)).map((row) => row.id);
  const latencies: number[] = [];
  let next = 0;
  let insufficient = 0;
  const started = performance.now();
  const worker = async (w: number) => {
    for (;;) {
      const i = next++;
      if (i >= p.ops) return;
      const t = performance.now();
      const result = await consumeCredits(db, {
        userId: users[i % users.length]!,
        amount: p.amount ?? 1,
        reason: 'bench',
        idempotencyKey: `bench:consume:${i}`,
        metadata: { worker: w },
        now: p.now,
      });
      latencies.push(performance.now() - t);
      if (!result.ok) insufficient++;
      if ((i + 1) % 1_000 === 0) p.onProgress?.(i + 1);
    }
  };
  await Promise.all(Array.from({ length: p.workers }, (_, w) => worker(w)));
  const ms = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    ops: p.ops,
    workers: p.workers,
    ms,
    opsPerSec: (p.ops / ms) * 1000,
    succeeded: p.ops - insufficient,
    insufficient,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1] ?? 0,
  };
}
