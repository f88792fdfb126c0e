import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { env } from '@/env';
import { readDevOutbox } from '@/lib/server/mail/dev-outbox';
import styles from './dev-mail.module.css';

export const metadata: Metadata = { title: 'Dev outbox' };
export const dynamic = 'force-dynamic';

// Development only: the mail this app would have sent, newest first, so a verification or reset link
// can be clicked without a mail server. Production answers 404 (and sends over SMTP instead).
export default async function DevMailPage() {
  const { NODE_ENV, SMTP_URL } = env();
  if (NODE_ENV === 'production') notFound();
  const mails = await readDevOutbox();
  return (
    <section className={styles.page}>
      <h1>Dev outbox</h1>
      <p className={styles.muted}>
        {SMTP_URL
          ? 'SMTP_URL is set: mail goes to that server. Messages kept here are from before it was set.'
          : 'No SMTP_URL is set, so mail is kept here (and printed by the server) instead of being sent. Development only.'}
      </p>
      {mails.length === 0 ? (
        <p>No mail yet.</p>
      ) : (
        <ol className={styles.list}>
          {mails.map((mail) => (
            <li key={mail.id} className={styles.mail} data-testid="dev-mail">
              <p className={styles.meta}>
                <strong>{mail.subject}</strong> to {mail.to} · {mail.kind} · {mail.sentAt}
              </p>
              <pre className={styles.body}>{linkify(mail.text)}</pre>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/** The text with its URLs as links (the text part is what every client shows; no HTML is rendered). */
function linkify(text: string) {
  return text.split(/(https?:\/\/\S+)/g).map((part, index) =>
    index % 2 === 1 ? (
      <a key={index} href={part}>
        {part}
      </a>
    ) : (
      part
    ),
  );
}
