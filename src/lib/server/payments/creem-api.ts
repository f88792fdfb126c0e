import 'server-only';
import type { z } from 'zod';
import { env } from '@/env';
import { PaymentsNotConfiguredError } from './provider';

// Creem's REST API over fetch (no SDK: one header and JSON bodies). Test keys (`creem_test_…`) only
// work against the test API, live keys only against the live one, so the key picks the host.

export const CREEM_LIVE_API = 'https://api.creem.io';
export const CREEM_TEST_API = 'https://test-api.creem.io';
/** A call that takes longer fails instead of holding a server action or a request open. */
const REQUEST_TIMEOUT_MS = 15_000;

/** Creem answered with an error status; the body is kept (it names the problem), the key never is. */
export class CreemApiError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
    body: string,
  ) {
    super(`Creem API ${path} answered ${status}: ${body.slice(0, 500)}`);
  }
}

export function creemApiKey(): string {
  const key = env().CREEM_API_KEY;
  if (!key) throw new PaymentsNotConfiguredError('creem', ['CREEM_API_KEY']);
  return key;
}

/** CREEM_API_URL when set (a local stand-in in tests), else the test or live API as the key says. */
export function creemApiBase(): string {
  const { CREEM_API_URL } = env();
  if (CREEM_API_URL) return CREEM_API_URL.replace(/\/+$/, '');
  return creemApiKey().startsWith('creem_test_') ? CREEM_TEST_API : CREEM_LIVE_API;
}

type CreemRequest = { method: 'GET' | 'POST'; path: string; query?: Record<string, string>; body?: unknown };

/** One API call, its answer checked against `schema`. */
export async function creemRequest<S extends z.ZodType>(schema: S, request: CreemRequest): Promise<z.output<S>> {
  const apiKey = creemApiKey();
  const url = new URL(`${creemApiBase()}${request.path}`);
  for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.set(name, value);
  const response = await fetch(url, {
    method: request.method,
    headers: {
      'x-api-key': apiKey,
      accept: 'application/json',
      ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: request.body === undefined ? undefined : JSON.stringify(request.body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    cache: 'no-store',
  });
  const text = await response.text();
  if (!response.ok) throw new CreemApiError(response.status, request.path, text);
  return schema.parse(JSON.parse(text));
}
