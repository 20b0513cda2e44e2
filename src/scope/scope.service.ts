import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from '../access/viewer.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.ts';
import { Network } from '../net/network.ts';
import { Scope } from '../net/scope.ts';
import type { Clock } from '../platform/clock.ts';
import { Keyset } from '../platform/keyset.ts';
import { type Connection, type PageArgs, parsePage } from '../platform/pagination.ts';
import { User } from '../users/user.entity.ts';
import { ScopeNetwork } from './scope-network.entity.ts';

/** Networks oldest first; a cursor is `[ISO time, id]`. */
const BY_CREATION = new Keyset({
  entity: ScopeNetwork,
  keys: [
    ['createdAt', 'time'],
    ['id', 'uuid'],
  ],
});

/** The scope in force: the configured baseline plus every network an admin added. */
export async function currentScope(em: EntityManager, baseline: Scope): Promise<Scope> {
  const added = await em.fork().find(ScopeNetwork, {}, { fields: ['cidr'] });
  return new Scope([...baseline.networks, ...added.map((row) => Network.parse(row.cidr))]);
}

export type ScopeServiceDeps = { em: EntityManager; viewer: Viewer; audit: AuditLog; baseline: Scope; clock: Clock };

/** Networks scans may target. Everyone signed in reads them; only ADMIN changes them. */
export class ScopeService {
  readonly #em: EntityManager;
  readonly #viewer: Viewer;
  readonly #audit: AuditLog;
  readonly #baseline: Scope;
  readonly #clock: Clock;

  constructor({ em, viewer, audit, baseline, clock }: ScopeServiceDeps) {
    this.#em = em;
    this.#viewer = viewer;
    this.#audit = audit;
    this.#baseline = baseline;
    this.#clock = clock;
  }

  /** The configured networks (`SCAN_ALLOWED_TARGETS`), which no admin can remove. */
  baseline(): string[] {
    this.#viewer.assert('scope:read');
    return this.#baseline.networks.map(String);
  }

  list(pageArgs: PageArgs): Promise<Connection<ScopeNetwork>> {
    this.#viewer.assert('scope:read');
    return BY_CREATION.entities(this.#em, {}, parsePage(pageArgs));
  }

  async get(id: string): Promise<ScopeNetwork | null> {
    this.#viewer.assert('scope:read');
    return this.#em.findOne(ScopeNetwork, { id });
  }

  /** Scans may target `cidr` from now on. Only networks in CIDR form: a name or a bare address is refused. */
  async create({ cidr, description }: { cidr: string; description?: string | null }): Promise<ScopeNetwork> {
    this.#viewer.assert('scope:manage');
    if (!cidr.includes('/')) throw new InvalidInputError('cidr', `"${cidr}" is not in CIDR form (e.g. 10.0.0.0/24).`);
    const network = Network.parse(cidr.trim(), 'cidr');
    const text = description?.trim() || null;
    if (text && text.length > 500) throw new InvalidInputError('description', 'The description must have at most 500 characters.');
    const scope = ScopeNetwork.create(network.toString(), text, this.#em.getReference(User, this.#viewer.userId), this.#clock.now());
    try {
      await this.#em.persist(scope).flush();
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw new ConflictError(`${network} is already in scope.`);
      throw error;
    }
    await this.#audit.record({ action: 'SCOPE_CREATED', target: { type: 'Scope', id: scope.id }, details: { cidr: scope.cidr } });
    return scope;
  }

  /** Scans not yet started that target only this network will be refused when a worker picks them up. */
  async delete(id: string): Promise<string> {
    this.#viewer.assert('scope:manage');
    const scope = await this.#em.findOne(ScopeNetwork, { id });
    if (!scope) throw new NotFoundError('Scope not found.');
    await this.#em.remove(scope).flush();
    await this.#audit.record({ action: 'SCOPE_DELETED', target: { type: 'Scope', id: scope.id }, details: { cidr: scope.cidr } });
    return id;
  }
}
