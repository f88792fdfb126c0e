/** What an admin form shows after its action ran, and the key its next submission carries. */
export type AdminActionState = {
  status: 'idle' | 'done' | 'refused';
  message: string | null;
  key: string;
  link?: { href: string; label: string };
};
