import type { Messages } from 'next-intl';

/** A key of `formErrors` in the messages: what a zod schema gives as an issue's message. */
export type FormErrorKey = keyof Messages['formErrors'];

/**
 * A form field's error, named by its message key: schemas are built once, at import, when no request
 * (and so no language) is known; `validatedAction` puts the words in the reader's language. The type
 * check refuses a key that messages/en.json does not have.
 */
export const formError = (key: FormErrorKey) => key;
