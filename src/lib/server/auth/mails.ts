import 'server-only';
import { sendMail } from '@/lib/server/mail';
import { renderMail, type MailContent } from '@/lib/server/mail/render';

/**
 * The account mails Better Auth asks for (auth.ts). Every link comes from Better Auth, built on the
 * app's public URL (`BETTER_AUTH_URL`); a user's name is data here, escaped by renderMail.
 */
type Recipient = { email: string; name: string };

const SIGNATURE = 'If you did not ask for this, you can ignore this mail.';

export function verifyEmailContent(user: Recipient, url: string): MailContent {
  return {
    subject: 'Confirm your email address',
    heading: `Welcome, ${user.name}`,
    paragraphs: [
      'Confirm that this address is yours to finish creating your account.',
      'Your sign-up bonus and this month’s free credits are added as soon as you confirm. The link is valid for one hour.',
    ],
    action: { label: 'Confirm my email address', url },
    footer: SIGNATURE,
  };
}

export function resetPasswordContent(user: Recipient, url: string): MailContent {
  return {
    subject: 'Reset your password',
    heading: `Hello ${user.name}`,
    paragraphs: [
      'Someone (we hope you) asked to reset the password of the account with this address.',
      'Choose a new password with the link below; it is valid for one hour. Setting it signs you out everywhere.',
    ],
    action: { label: 'Choose a new password', url },
    footer: 'If you did not ask for this, ignore this mail: your password stays as it is.',
  };
}

/** Sent instead of a second account: the sign-up answered as for a new address, so only the owner learns of it. */
export function accountExistsContent(user: Recipient, urls: { signIn: string; forgotPassword: string }): MailContent {
  return {
    subject: 'Someone tried to sign up with your address',
    heading: `Hello ${user.name}`,
    paragraphs: [
      'Someone just tried to create an account with this email address, but you already have one.',
      `If it was you, sign in at ${urls.signIn} instead. If you forgot your password, reset it with the link below.`,
    ],
    action: { label: 'Reset my password', url: urls.forgotPassword },
    footer: 'If it was not you, nothing has changed: your account and password stay as they are.',
  };
}

export async function sendVerifyEmail(user: Recipient, url: string) {
  await sendMail({ kind: 'verify-email', to: user.email, ...renderMail(verifyEmailContent(user, url)) });
}

export async function sendResetPassword(user: Recipient, url: string) {
  await sendMail({ kind: 'reset-password', to: user.email, ...renderMail(resetPasswordContent(user, url)) });
}

export async function sendAccountExists(user: Recipient, urls: { signIn: string; forgotPassword: string }) {
  await sendMail({ kind: 'account-exists', to: user.email, ...renderMail(accountExistsContent(user, urls)) });
}
