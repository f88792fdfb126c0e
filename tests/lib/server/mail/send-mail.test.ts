import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseEnv, resetEnvCache } from '@/env';
import { sendMail, MailNotConfiguredError } from '@/lib/server/mail';
import { DEV_OUTBOX_SIZE, readDevOutbox } from '@/lib/server/mail/dev-outbox';
import { renderMail } from '@/lib/server/mail/render';
import { startMailbox, type Mailbox } from '@tests/helpers/mailbox';

const saved = { ...process.env };
let mailbox: Mailbox;
let outboxDir: string;

beforeAll(async () => {
  mailbox = await startMailbox();
});
afterAll(async () => {
  await mailbox.close();
});
afterEach(() => {
  process.env = { ...saved };
  resetEnvCache();
  if (outboxDir) rmSync(outboxDir, { recursive: true, force: true });
});

function useEnv(vars: Record<string, string | undefined>) {
  process.env = { ...saved, SMTP_URL: '', MAIL_FROM: '', ...vars } as NodeJS.ProcessEnv;
  resetEnvCache();
}

const message = () => ({
  kind: 'test',
  to: 'ada@example.com',
  ...renderMail({
    subject: 'Confirm <your> address',
    heading: 'Hello',
    paragraphs: ['One & two'],
    action: { label: 'Confirm', url: 'http://localhost:3000/verify?token=a&b=c' },
  }),
});

describe('sendMail', () => {
  it('sends over SMTP when SMTP_URL is set: sender, recipient, subject, both parts and the kind arrive', async () => {
    useEnv({ SMTP_URL: mailbox.url, MAIL_FROM: 'Acme <billing@acme.test>' });
    const delivery = await sendMail(message());
    expect(delivery.transport).toBe('smtp');
    const received = await mailbox.waitFor((mail) => mail.to === 'ada@example.com');
    expect(received).toMatchObject({ kind: 'test', subject: 'Confirm <your> address', from: '"Acme" <billing@acme.test>' });
    expect(received.links).toEqual(['http://localhost:3000/verify?token=a&b=c']);
    // The HTML part escapes what it shows; the text part is verbatim.
    expect(received.html).toContain('One &#38; two');
    expect(received.html).toContain('href="http://localhost:3000/verify?token=a&#38;b=c"');
    expect(received.text).toContain('One & two');
  });

  it('throws when the SMTP server refuses the message, so callers can tell', async () => {
    useEnv({ SMTP_URL: mailbox.url });
    mailbox.refuseAll(true);
    try {
      await expect(sendMail(message())).rejects.toThrow(/451|refusing/i);
    } finally {
      mailbox.refuseAll(false);
    }
  });

  it('keeps mail in the dev outbox when no SMTP_URL is set outside production, newest first, at most DEV_OUTBOX_SIZE', async () => {
    outboxDir = mkdtempSync(path.join(tmpdir(), 'dev-mail-'));
    useEnv({ DEV_MAIL_DIR: outboxDir, NODE_ENV: 'test' });
    for (let i = 0; i < DEV_OUTBOX_SIZE + 3; i++) {
      const delivery = await sendMail({ ...message(), subject: `Message ${i}` });
      expect(delivery.transport).toBe('dev-outbox');
    }
    const kept = await readDevOutbox();
    expect(kept).toHaveLength(DEV_OUTBOX_SIZE);
    expect(kept[0]!.subject).toBe(`Message ${DEV_OUTBOX_SIZE + 2}`);
    expect(kept.at(-1)!.subject).toBe('Message 3');
    expect(kept[0]!.text).toContain('http://localhost:3000/verify?token=a&b=c');
  });

  it('keeps the order of messages sent within one millisecond (seen failing: names sorted by a random id)', async () => {
    outboxDir = mkdtempSync(path.join(tmpdir(), 'dev-mail-'));
    useEnv({ DEV_MAIL_DIR: outboxDir, NODE_ENV: 'test' });
    vi.useFakeTimers({ now: new Date('2026-11-23T04:00:00.000Z'), toFake: ['Date'] });
    try {
      for (let i = 0; i < 12; i++) await sendMail({ ...message(), subject: `Same instant ${i}` });
    } finally {
      vi.useRealTimers();
    }
    expect((await readDevOutbox()).map((mail) => mail.subject)).toEqual(Array.from({ length: 12 }, (_, i) => `Same instant ${11 - i}`));
  });

  it('refuses to send in production without SMTP_URL rather than drop the mail', async () => {
    useEnv({ NODE_ENV: 'production', BETTER_AUTH_SECRET: 'x'.repeat(32), NEXT_PHASE: 'phase-production-build' });
    await expect(sendMail(message())).rejects.toBeInstanceOf(MailNotConfiguredError);
  });
});

describe('production mail settings', () => {
  const production = { NODE_ENV: 'production', BETTER_AUTH_SECRET: 'x'.repeat(32), BETTER_AUTH_URL: 'https://app.example.com' };

  it('refuses to serve without SMTP_URL or MAIL_FROM, naming the variable', () => {
    expect(() => parseEnv({ ...production, MAIL_FROM: 'Acme <a@acme.test>' })).toThrow(/SMTP_URL is required in production/);
    expect(() => parseEnv({ ...production, SMTP_URL: 'smtps://u:p@smtp.acme.test:465' })).toThrow(/MAIL_FROM is required/);
    expect(parseEnv({ ...production, SMTP_URL: 'smtps://u:p@smtp.acme.test:465', MAIL_FROM: 'Acme <a@acme.test>' }).SMTP_URL).toBe(
      'smtps://u:p@smtp.acme.test:465',
    );
  });

  it('refuses an SMTP_URL that is not smtp(s)', () => {
    expect(() => parseEnv({ SMTP_URL: 'https://mail.acme.test' })).toThrow(/SMTP_URL must be an smtp/);
  });
});
