// The printed table: one line per job, the same figures the JSON file holds.
import { benchJobs, type BenchReport } from './core';
import { describeConsumptions } from './consume';

const n = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined
    ? '-'
    : value.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}

export function formatReport(report: BenchReport): string {
  const lines: string[] = [];
  const { machine, seed } = report;
  lines.push(
    `\n${n(report.users)} users (${Object.entries(report.mix)
      .map(([k, v]) => `${n(v)} ${k}`)
      .join(', ')}), chunk ${report.options.chunkSize}, ` +
      `${machine.cpus} CPUs (${machine.cpuModel}), Postgres ${machine.postgres}, Node ${machine.node}`,
  );
  lines.push(
    `Seed: ${n(seed.ms / 1000, 1)} s (${n(seed.usersPerSec)} users/s, ${n(seed.batches)} batches, ${n(seed.ledger)} ledger entries, ${n(seed.schedules)} schedules); ` +
      `invariants after seeding: ${report.invariants.afterSeed.ok ? 'ok' : 'VIOLATED'}, after the jobs: ${report.invariants.afterJobs.ok ? 'ok' : 'VIOLATED'} ` +
      `(${report.invariants.afterJobs.mode}, ${n(report.invariants.afterJobs.usersChecked)} users)\n`,
  );
  const rows: string[][] = [
    [
      'job (usecase)',
      'rows',
      'total ms',
      'rows/s',
      'chunks',
      'calls',
      'peak RSS MB',
      'ceiling rows/s',
      '% of ceiling',
      'route rows/s',
      'route calls',
      'overhead ms/call',
      'server RSS MB',
    ],
  ];
  for (const job of benchJobs) {
    const f = report.jobs[job];
    rows.push([
      `${job} (${f.unit})`,
      n(f.rows),
      n(f.ms),
      n(f.rowsPerSec),
      n(f.chunks),
      n(f.calls),
      n(f.peakRssMb, 1),
      n(f.ceiling?.rowsPerSec),
      f.pctOfCeiling === null ? '-' : `${f.pctOfCeiling}%`,
      n(f.route?.rowsPerSec),
      n(f.route?.calls),
      n(f.route?.overheadMsAvg, 1),
      n(f.route?.serverPeakRssMb, 1),
    ]);
  }
  lines.push(table(rows));
  const o = report.routeOverhead;
  if (o) {
    lines.push(
      `\nroute overhead: ours ${n(o.oursMs, 1)} ms, Next ${n(o.nextMs, 1)} ms per call ` +
        `(medians of ${o.rounds} one-item calls per route: wall time minus the reported duration minus a 405 answer of the same route; ` +
        Object.entries(o.perJob)
          .map(([job, f]) => `${job} ${n(f.oursMsP50, 1)}`)
          .join(', ') +
        ')',
    );
  }
  const c = report.consume;
  lines.push(`\nconsumption (process peak RSS ${n(c.maxRssMb, 1)} MB):`, ...describeConsumptions(c));
  return lines.join('\n');
}
