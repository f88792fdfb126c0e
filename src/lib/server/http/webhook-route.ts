import 'server-only';
import { getDb } from '@/lib/server/db';
import type { PaymentProviderId } from '@/lib/server/db/schema';
import { paymentProvider } from '@/lib/server/payments';
import { WebhookSignatureError } from '@/lib/server/payments/provider';
import { applyBillingWebhook } from '@/lib/server/usecases/apply-billing-webhook';
import { json } from './responses';

/** A webhook body larger than this is refused unread (413): no provider sends events anywhere near it. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

function webhookMethodNotAllowed(): Response {
  return json({ error: 'Method not allowed' }, { status: 405, headers: { Allow: 'POST' } });
}

/** Reads the raw body once, stopping at the limit: undefined when it is larger. */
async function readBody(req: Request): Promise<string | undefined> {
  const declared = Number(req.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > MAX_WEBHOOK_BODY_BYTES) return undefined;
  if (!req.body) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_WEBHOOK_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * `POST /api/webhooks/{provider}` as docs/payments.md says: 503 when the provider has no keys, 413 over
 * 1 MB, 400 for a bad signature (nothing written), 200 once the event is applied in one transaction
 * (or was already), 500 when applying it failed (nothing written, so the provider retries).
 */
export function billingWebhookRoute(providerId: Exclude<PaymentProviderId, 'test'>) {
  async function POST(req: Request): Promise<Response> {
    const provider = paymentProvider(providerId);
    if (provider.missingConfiguration().length > 0) return json({ error: 'Payments not configured' }, { status: 503 });
    const body = await readBody(req);
    if (body === undefined) return json({ error: 'Payload too large' }, { status: 413 });
    let webhook;
    try {
      webhook = await provider.verifyWebhook(body, req.headers);
    } catch (error) {
      if (error instanceof WebhookSignatureError) return json({ error: 'Invalid signature' }, { status: 400 });
      console.error(`[webhook ${providerId}] could not read the event:`, error);
      return json({ error: 'Internal error' }, { status: 500 });
    }
    try {
      const applied = await applyBillingWebhook(await getDb(), webhook);
      return json(applied.duplicate ? { received: true, duplicate: true } : { received: true });
    } catch (error) {
      console.error(`[webhook ${providerId}] event ${webhook.eventId} (${webhook.eventType}) failed; nothing was written:`, error);
      return json({ error: 'Internal error' }, { status: 500 });
    }
  }
  return {
    POST,
    GET: webhookMethodNotAllowed,
    PUT: webhookMethodNotAllowed,
    PATCH: webhookMethodNotAllowed,
    DELETE: webhookMethodNotAllowed,
    HEAD: webhookMethodNotAllowed,
    OPTIONS: webhookMethodNotAllowed,
  };
}
