import { getLocale, getTranslations } from 'next-intl/server';
import { z } from 'zod';
import { getDb } from '@/lib/server/db';
import { escapeHtml } from '@/lib/server/mail/render';
import { unsubscribeFromExpiryNotices } from '@/lib/server/usecases/unsubscribe-expiry-notices';

// The unsubscribe link of the "credits expiring soon" mail, usable without signing in: the signed
// token in the query names the user. GET shows a button and changes nothing, because mail scanners
// and link previews open every link of a mail; POST turns the mail off. Mail clients that show their
// own unsubscribe button POST here themselves (`List-Unsubscribe-Post`, RFC 8058).
export const runtime = 'nodejs';

const querySchema = z.object({ token: z.string().min(1).max(500) });

// GET /unsubscribe?token=… - asks to confirm
export async function GET(req: Request) {
  const query = querySchema.safeParse(Object.fromEntries(new URL(req.url).searchParams));
  if (!query.success) return page(req, 400, 'invalid');
  return page(req, 200, 'confirm');
}

// POST /unsubscribe?token=… - turns the mail off (the button above, or the mail client's one-click)
export async function POST(req: Request) {
  const query = querySchema.safeParse(Object.fromEntries(new URL(req.url).searchParams));
  const result = query.success ? await unsubscribeFromExpiryNotices(await getDb(), { token: query.data.token }) : null;
  if (!result?.ok) return page(req, 400, 'invalid');
  return page(req, 200, 'done');
}

/**
 * One of the unsubscribe page's three states, in the reader's language (docs/i18n.md); only `confirm`
 * has the button. Its styles are one <style> carrying the nonce src/proxy.ts gave this request: the
 * Content-Security-Policy refuses `style` attributes.
 */
async function page(req: Request, status: number, state: 'invalid' | 'confirm' | 'done'): Promise<Response> {
  const [t, locale] = await Promise.all([getTranslations('unsubscribe'), getLocale()]);
  const nonce = req.headers.get('x-nonce');
  const heading = escapeHtml(t(`${state}.title`));
  const button = state === 'confirm' ? `<form method="post"><button type="submit">${escapeHtml(t('button'))}</button></form>` : '';
  const body = `<!doctype html><html lang="${escapeHtml(locale)}"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${heading}</title>
<style${nonce ? ` nonce="${escapeHtml(nonce)}"` : ''}>body{font-family:system-ui,sans-serif;max-width:560px;margin:48px auto;padding:0 24px;line-height:1.5}h1{font-size:22px}button{padding:10px 16px;font:inherit}</style></head>
<body><h1>${heading}</h1><p>${escapeHtml(t(`${state}.text`))}</p>${button}<p><a href="/credits">${escapeHtml(t('credits'))}</a></p></body></html>`;
  return new Response(body, { status, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' } });
}
