import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from '../access/viewer.ts';
import type { Clock } from '../platform/clock.ts';
import { type AuditAction, AuditEvent } from './audit-event.entity.ts';

/** What an entry is about: a node of the API, by type and local ID; shown to clients as its global ID. */
export type AuditTarget = { type: string; id: string };

export type AuditEntry = {
  action: AuditAction;
  target?: AuditTarget | null;
  details?: Record<string, unknown>;
  /** Who acted, when not the request's viewer (a failed login, the CLI). */
  actor?: { id: string | null; email: string | null };
};

export type AuditLogDeps = { em: EntityManager; viewer: Viewer; ip: string | null; clock: Clock };

/**
 * The audit trail: every login, credential, user, scope and scan change, with
 * actor, time and client address. Each entry is written at once, outside the
 * request's unit of work, so a request that fails afterwards still leaves it.
 * It only appends: nothing here updates or deletes an entry. Reading it is
 * `AuditQueries`'.
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
  async record({ action, target = null, details = {}, actor }: AuditEntry, em: EntityManager = this.#em): Promise<string> {
    const identity = this.#viewer.isAuthenticated ? this.#viewer.identity : null;
    return em.insert(AuditEvent, {
      at: this.#clock.now(),
      action,
      actorId: actor ? actor.id : (identity?.userId ?? null),
      actorEmail: actor ? actor.email : (identity?.email ?? null),
      ip: this.#ip,
      targetId: target && `${target.type}:${target.id}`,
      details: identity && !actor ? { via: identity.via, ...details } : details,
    });
  }
}
