import { billingWebhookRoute } from '@/lib/server/http/webhook-route';

// postgres.js, PGlite and the provider's signature check need Node.js; the raw body is read once, never cached.
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

// POST /api/webhooks/stripe - see docs/payments.md
export const { POST, GET, PUT, PATCH, DELETE, HEAD, OPTIONS } = billingWebhookRoute('stripe');
