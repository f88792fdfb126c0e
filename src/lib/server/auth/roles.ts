import 'server-only';

/** The role Better Auth's admin plugin treats as an admin (its default `adminRoles`). */
export const ADMIN_ROLE = 'admin';

export const userRoles = ['user', ADMIN_ROLE] as const;
export type UserRole = (typeof userRoles)[number];

/** The admin plugin stores roles as a comma-separated list; a user with none is a `user`. */
export function hasAdminRole(role: string | null | undefined): boolean {
  return (role ?? '')
    .split(',')
    .map((r) => r.trim())
    .includes(ADMIN_ROLE);
}
