import 'server-only';
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { env } from '@/env';

/**
 * Where mail goes in development when no SMTP server is configured: one JSON file per message in
 * `DEV_MAIL_DIR` (git-ignored `.data/dev-mail`), the newest `DEV_OUTBOX_SIZE` kept, plus a line on the
 * console. Files rather than memory because the CLI and the jobs run in other processes than
 * `next dev`, and a link should still be there after a restart. Never used in production.
 */
export const DEV_OUTBOX_SIZE = 50;

export const devMailSchema = z.object({
  id: z.string(),
  sentAt: z.iso.datetime(),
  kind: z.string(),
  from: z.string(),
  to: z.string(),
  subject: z.string(),
  text: z.string(),
  html: z.string().optional(),
});

export type DevMail = z.infer<typeof devMailSchema>;

let sequence = 0;

export async function keepInDevOutbox(message: Omit<DevMail, 'id' | 'sentAt'>): Promise<DevMail> {
  const { DEV_MAIL_DIR, NODE_ENV } = env();
  const sentAt = new Date().toISOString();
  const mail: DevMail = { id: randomUUID(), sentAt, ...message };
  await mkdir(DEV_MAIL_DIR, { recursive: true });
  // The time first, so the names sort by age; then this process's sequence number, so messages of one
  // millisecond keep the order they were sent in; the id keeps two processes' messages apart.
  sequence += 1;
  const name = `${sentAt.replace(/[:.]/g, '-')}-${String(sequence).padStart(9, '0')}-${mail.id}.json`;
  await writeFile(path.join(DEV_MAIL_DIR, name), JSON.stringify(mail));
  await pruneDevOutbox(DEV_MAIL_DIR);
  if (NODE_ENV !== 'test') {
    const links = message.text.match(/https?:\/\/\S+/g) ?? [];
    console.log(`[mail] ${message.kind} to ${message.to}: ${message.subject}${links.map((link) => `\n[mail]   ${link}`).join('')}`);
  }
  return mail;
}

/** The dev outbox, newest first (at most DEV_OUTBOX_SIZE messages). */
export async function readDevOutbox(): Promise<DevMail[]> {
  const { DEV_MAIL_DIR } = env();
  const names = await messageFiles(DEV_MAIL_DIR);
  const mails = await Promise.all(
    names.reverse().map(async (name) => {
      try {
        return devMailSchema.parse(JSON.parse(await readFile(path.join(DEV_MAIL_DIR, name), 'utf8')));
      } catch {
        return null; // removed by a concurrent prune, or not ours
      }
    }),
  );
  return mails.filter((mail) => mail !== null);
}

async function messageFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function pruneDevOutbox(dir: string) {
  const names = await messageFiles(dir);
  await Promise.all(names.slice(0, Math.max(0, names.length - DEV_OUTBOX_SIZE)).map((name) => rm(path.join(dir, name), { force: true })));
}
