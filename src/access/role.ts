export const Role = { ADMIN: 'ADMIN', ANALYST: 'ANALYST', VIEWER: 'VIEWER' } as const;
export type Role = (typeof Role)[keyof typeof Role];
export const ROLES = [Role.ADMIN, Role.ANALYST, Role.VIEWER] as const;

const RANK: Record<Role, number> = { VIEWER: 0, ANALYST: 1, ADMIN: 2 };

/** Whether `role` has at least the powers of `other`. */
export const outranksOrEquals = (role: Role, other: Role): boolean => RANK[role] >= RANK[other];

/** The weaker of two roles: what an API token of a since-demoted user may still do. */
export const weakerOf = (a: Role, b: Role): Role => (RANK[a] <= RANK[b] ? a : b);
