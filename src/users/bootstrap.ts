import type { EntityManager } from '@mikro-orm/postgresql';
import { Viewer } from '../access/viewer.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { ConflictError } from '../errors.ts';
import type { Clock } from '../platform/clock.ts';
import { User } from './user.entity.ts';
import { createUserRecord } from './user.service.ts';

export type Bootstrap = { state: 'created'; email: string } | { state: 'ready'; users: number } | { state: 'empty' };

/**
 * On a database with no user, creates the admin named by `ADMIN_EMAIL` /
 * `ADMIN_PASSWORD`. Never touches an existing user: changing those variables
 * later changes nothing, so they cannot be used to take over an install.
 */
export async function bootstrapAdmin(
  em: EntityManager,
  admin: { email: string; password: string } | undefined,
  clock: Clock,
): Promise<Bootstrap> {
  const users = await em.count(User, {});
  if (users > 0) return { state: 'ready', users };
  if (!admin) return { state: 'empty' };
  try {
    const user = await createUserRecord(
      em,
      { email: admin.email, name: 'Administrator', role: 'ADMIN', password: admin.password },
      clock.now(),
    );
    const audit = new AuditLog({ em, viewer: Viewer.anonymous(), ip: null, clock });
    await audit.record({
      action: 'USER_CREATED',
      target: { type: 'User', id: user.id },
      actor: { id: null, email: null },
      details: { email: user.email, role: user.role, via: 'ADMIN_EMAIL' },
    });
    return { state: 'created', email: user.email };
  } catch (error) {
    // Another API process started at the same moment and created it.
    if (error instanceof ConflictError) return { state: 'ready', users: 1 };
    throw error;
  }
}
