import 'server-only';
import { createTransport, type Transporter } from 'nodemailer';
import { env } from '@/env';
import { keepInDevOutbox } from './dev-outbox';

/**
 * One message. `kind` names what it is (`verify-email`, `receipt`, …) for logs and the dev outbox;
 * `text` is always sent, `html` when given (see render.ts, which builds both from one description).
 */
export type MailMessage = {
  kind: string;
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Extra headers, e.g. `List-Unsubscribe` on a notice; not kept by the dev outbox. */
  headers?: Record<string, string>;
};

export type MailDelivery = { transport: 'smtp' | 'dev-outbox'; messageId: string };

/** The sender outside production when MAIL_FROM is unset (production requires it). */
const DEVELOPMENT_SENDER = 'Credits Starter <no-reply@localhost>';

export class MailNotConfiguredError extends Error {
  readonly code = 'MAIL_NOT_CONFIGURED' as const;
  constructor() {
    super('Mail is not configured: set SMTP_URL and MAIL_FROM (docs/mail.md)');
  }
}

// One SMTP transport per URL: nodemailer keeps no connection open between messages unless pooled, so
// this only saves re-parsing the URL; a test that points SMTP_URL elsewhere gets its own.
const transports = new Map<string, Transporter>();

function smtpTransport(url: string): Transporter {
  let transport = transports.get(url);
  if (!transport) {
    // Short timeouts: a mail is sent while a user waits (sign-up) or a cron call runs (notices).
    transport = createTransport({ url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 });
    transports.set(url, transport);
  }
  return transport;
}

/**
 * Sends one message: over SMTP when `SMTP_URL` is set (any provider: SES, Postmark, Resend, Mailgun,
 * your own server), else – outside production only – into the dev outbox (printed to the console and
 * listed at /dev/mail, so a newcomer can click a verification link). Production without `SMTP_URL` is
 * refused at start-up (src/env.ts); should it get here anyway, this throws rather than drop the mail.
 * Throws when the transport refuses the message: callers decide whether that fails what they were doing.
 */
export async function sendMail(message: MailMessage): Promise<MailDelivery> {
  const { SMTP_URL, NODE_ENV, MAIL_FROM } = env();
  const from = MAIL_FROM ?? DEVELOPMENT_SENDER;
  if (SMTP_URL) {
    const info = await smtpTransport(SMTP_URL).sendMail({
      from,
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
      headers: { ...message.headers, 'X-Mail-Kind': message.kind },
    });
    return { transport: 'smtp', messageId: String(info.messageId) };
  }
  if (NODE_ENV === 'production') throw new MailNotConfiguredError();
  const stored = await keepInDevOutbox({
    kind: message.kind,
    to: message.to,
    subject: message.subject,
    text: message.text,
    html: message.html,
    from,
  });
  return { transport: 'dev-outbox', messageId: stored.id };
}
