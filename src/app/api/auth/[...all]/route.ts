import { toNextJsHandler } from 'better-auth/next-js';
import { getAuth } from '@/lib/server/auth/auth';

// /api/auth/* - Better Auth's own endpoints (sign-up, sign-in, session, sign-out).
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export const { GET, POST } = toNextJsHandler(async (request) => (await getAuth()).handler(request));
