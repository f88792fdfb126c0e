import 'server-only';
import { z } from 'zod';

// A repeated key (`?limit=5&limit=500`) reaches the schema as an array and is refused: which of the
// two a proxy or a framework would keep is not something a job should guess.
const single = (what: string) => z.string({ error: (issue) => (Array.isArray(issue.input) ? 'given more than once' : `must be ${what}`) });

/**
 * A whole number, clamped into [min, max]: a value out of range is a mistake worth forgiving,
 * a value that is not a whole number (`abc`, `1.5`, empty) is refused.
 */
export const clampedInt = (min: number, max: number) =>
  single('a whole number')
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform((value) => Math.min(max, Math.max(min, Number(value))));

/** `1`/`true` or `0`/`false`, any case. */
export const flag = single('1, true, 0 or false')
  .regex(/^(1|0|true|false)$/i, 'must be 1, true, 0 or false')
  .transform((value) => value === '1' || value.toLowerCase() === 'true');

export type QueryResult<T> = { ok: true; data: T } | { ok: false; details: { param: string; message: string }[] };

/**
 * Parses a request's query string. Schemas are strict: an unknown key is refused, so a typo such as
 * `?dryrun=1` cannot turn a dry run into a real one.
 */
export function parseQuery<S extends z.ZodObject>(req: Request, schema: S): QueryResult<z.infer<S>> {
  const raw: Record<string, string | string[]> = {};
  for (const [key, value] of new URL(req.url).searchParams) {
    const seen = raw[key];
    raw[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  const result = schema.strict().safeParse(raw);
  if (result.success) return { ok: true, data: result.data as z.infer<S> };
  return {
    ok: false,
    details: result.error.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ param: key, message: 'unknown parameter' }))
        : [{ param: issue.path.join('.'), message: issue.message }],
    ),
  };
}
