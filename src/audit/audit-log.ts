import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../platform/clock.ts';
import { findPageById } from '../platform/keyset.ts';
import { type Connection, type PageArgs, parsePage } from '../platform/pagination.ts';
import type { Viewer } from '../users/viewer.ts';
import { type AuditAction, AuditEvent } from './audit-event.entity.ts';

export type AuditEntry = {
  action: AuditAction;
  targetId?: string | null;
  details?: Record<string, unknown>;
  /** Who acted, when not the request's viewer (a failed login, the CLI). */
  actor?: { id: string | null; email: string | null };
};

export type AuditFilter = { action?: readonly AuditAction[] | null; actorId?: string | null };

export type AuditLogDeps = { em: EntityManager; viewer: Viewer; ip: string | null; clock: Clock };

/**
 * The audit trail: every login, credential, user, scope and scan change, with
 * actor, time and client address. Each entry is written at once, outside the
 * request's unit of work, so a request that fails afterwards still leaves it.
 */
export class AuditLog {
  readonly #em: EntityManager;
  readonly #viewer: Viewer;
  readonly #ip: string | null;
  readonly #clock: Clock;

  constructor({ em, viewer, ip, clock }: AuditLogDeps) {
    this.#em = em;
    this.#viewer = viewer;
    this.#ip = ip;
    this.#clock = clock;
  }

  /** The client address of this request, as the audit trail records it. */
  get ip(): string | null {
    return this.#ip;
  }

  /** Writes one entry at once; `em` is a transaction to write it in, when it must commit (or not) with other work. */
  async record({ action, targetId = null, details = {}, actor }: AuditEntry, em: EntityManager = this.#em): Promise<string> {
    const identity = this.#viewer.isAuthenticated ? this.#viewer.identity : null;
    return em.insert(AuditEvent, {
      at: this.#clock.now(),
      action,
      actorId: actor ? actor.id : identity?.userId ?? null,
      actorEmail: actor ? actor.email : identity?.email ?? null,
      ip: this.#ip,
      targetId,
      details: identity && !actor ? { via: identity.via, ...details } : details,
    });
  }

  /** Failed logins since `since` for this email and from this address, and the oldest of each. */
  async failedLogins(email: string, since: Date, em: EntityManager = this.#em): Promise<{ byEmail: number; byIp: number; oldestByEmail: Date | null; oldestByIp: Date | null }> {
    const [row] = await em.execute<{ by_email: string; by_ip: string; oldest_email: Date | null; oldest_ip: Date | null }[]>(
      `select count(*) filter (where actor_email = ?) as by_email, count(*) filter (where ip = ?) as by_ip,
              min(at) filter (where actor_email = ?) as oldest_email, min(at) filter (where ip = ?) as oldest_ip
         from audit_events where action = 'LOGIN_FAILED' and at > ? and (actor_email = ? or ip = ?)`,
      [email, this.#ip, email, this.#ip, since, email, this.#ip],
    );
    return {
      byEmail: Number(row?.by_email ?? 0),
      byIp: this.#ip ? Number(row?.by_ip ?? 0) : 0,
      oldestByEmail: row?.oldest_email ? new Date(row.oldest_email) : null,
      oldestByIp: row?.oldest_ip ? new Date(row.oldest_ip) : null,
    };
  }

  /** Whether a lockout of this email (or of this address) was recorded since `since`: one entry per lockout is enough. */
  async rateLimitedSince(key: { email: string } | { ip: string | null }, since: Date, em: EntityManager = this.#em): Promise<boolean> {
    const [column, value] = 'email' in key ? ['actor_email', key.email] : ['ip', key.ip];
    const rows = await em.execute<unknown[]>(
      `select 1 from audit_events where action = 'LOGIN_RATE_LIMITED' and ${column} is not distinct from ? and at > ? limit 1`,
      [value, since],
    );
    return rows.length > 0;
  }

  /**
   * Takes back a login attempt written down as failed before its password was
   * checked (see AuthService): it succeeded. The one kind of entry ever removed.
   */
  async withdraw(attemptId: string): Promise<void> {
    await this.#em.nativeDelete(AuditEvent, { id: attemptId, action: 'LOGIN_FAILED' });
  }

  /** Names the user a failed attempt was for, once the check found them. */
  async attribute(attemptId: string, userId: string): Promise<void> {
    await this.#em.nativeUpdate(AuditEvent, { id: attemptId }, { actorId: userId });
  }

  /** One entry, for `node`: `null` for anyone but ADMIN, as if it did not exist. */
  async get(id: string): Promise<AuditEvent | null> {
    if (!this.#viewer.mayAccess('audit:read', null)) return null;
    return this.#em.findOne(AuditEvent, { id });
  }

  /** The log, newest first; ADMIN only. */
  list({ filter, ...pageArgs }: PageArgs & { filter?: AuditFilter | null }): Promise<Connection<AuditEvent>> {
    this.#viewer.assert('audit:read');
    const where = () => ({
      ...(filter?.action?.length ? { action: { $in: [...filter.action] } } : {}),
      ...(filter?.actorId ? { actorId: filter.actorId } : {}),
    });
    return findPageById(this.#em, AuditEvent, where, parsePage(pageArgs), { newestFirst: true });
  }
}
