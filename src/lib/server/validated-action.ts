import 'server-only';
import type { z } from 'zod';

/**
 * A form action for `useActionState` whose fields are parsed with `schema` before `action` runs, so
 * the action only ever sees valid data. A form that does not parse gets `invalid(message, formData)`
 * with the first issue's message: the forms show one error at a time.
 */
export function validatedAction<Schema extends z.ZodType, State>(
  schema: Schema,
  action: (data: z.output<Schema>, formData: FormData) => Promise<State>,
  invalid: (message: string, formData: FormData) => State,
) {
  return async (_previous: State, formData: FormData): Promise<State> => {
    const parsed = schema.safeParse(Object.fromEntries(formData));
    if (!parsed.success) return invalid(parsed.error.issues[0]!.message, formData);
    return action(parsed.data, formData);
  };
}
