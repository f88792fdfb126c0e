import 'server-only';
import { getTranslations } from 'next-intl/server';
import type { z } from 'zod';
import type { FormErrorKey } from '@/i18n/form-errors';

/**
 * A form action for `useActionState` whose fields are parsed with `schema` before `action` runs, so
 * the action only ever sees valid data. A form that does not parse gets `invalid(message, formData)`
 * with the first issue's message, in the reader's language (schemas name their errors with
 * `formError(key)`): the forms show one error at a time.
 */
export function validatedAction<Schema extends z.ZodType, State>(
  schema: Schema,
  action: (data: z.output<Schema>, formData: FormData) => Promise<State>,
  invalid: (message: string, formData: FormData) => State,
) {
  return async (_previous: State, formData: FormData): Promise<State> => {
    const parsed = schema.safeParse(Object.fromEntries(formData));
    if (!parsed.success) return invalid(await formErrorMessage(parsed.error.issues[0]!.message), formData);
    return action(parsed.data, formData);
  };
}

/** An issue zod wrote itself (a field no schema gave words to) is shown as the generic error, never as English or as a key. */
async function formErrorMessage(key: string): Promise<string> {
  const t = await getTranslations('formErrors');
  return t.has(key as FormErrorKey) ? t(key as FormErrorKey) : t('invalid');
}
