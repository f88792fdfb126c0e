import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { jobRuns } from '@/lib/server/db/schema';
import { jobCatalog, jobForPath, jobNames } from '@/lib/server/jobs/catalog';
import { jobs } from '@/lib/server/jobs/registry';

const root = path.resolve(import.meta.dirname, '../../../..');

describe('the job registry', () => {
  test('names every job the schema knows, in the schema order, and no other', () => {
    expect(jobNames).toEqual(jobRuns.job.enumValues);
    expect(Object.keys(jobs)).toEqual(jobNames);
    for (const name of jobNames) expect(jobs[name]).toMatchObject({ name, path: jobCatalog[name].path, log: jobCatalog[name].log });
  });

  test.each(jobNames)(
    '%s: its route file is a few lines over the registry entry, with the literal runtime and maxDuration',
    async (name) => {
      const file = path.join(root, 'src/app', jobCatalog[name].path, 'route.ts');
      expect(existsSync(file), file).toBe(true);
      const source = readFileSync(file, 'utf8');
      expect(source).toMatch(/^export const runtime = 'nodejs';$/m);
      expect(source).toMatch(/^export const maxDuration = 60;$/m);
      expect(source).toContain('cronJobRoute(');
      const route = await import(`@/app${jobCatalog[name].path}/route`);
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'])
        expect(route[method], method).toBeTypeOf('function');
    },
  );

  test('every job is scheduled in vercel.json, and the scheduler names each cron by its job', () => {
    const crons = (JSON.parse(readFileSync(path.join(root, 'vercel.json'), 'utf8')) as { crons: { path: string }[] }).crons;
    expect(crons.map((cron) => jobForPath(cron.path)).sort()).toEqual([...jobNames].sort());
    expect(jobForPath('/api/jobs/credits/grant?limit=5')).toBe('grant');
    expect(jobForPath('/api/cron/health')).toBeNull();
  });
});
