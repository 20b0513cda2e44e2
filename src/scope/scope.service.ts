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
import type { Reads } from '../platform/reads.ts';
import { User } from '../users/user.entity.ts';
import { ScopeNetwork } from './scope-network.entity.ts';

/** A network as the API shows it: a plain row, or the entity a command just wrote. */
export type ScopeView = { id: string; cidr: string; description: string | null; createdById: string | null; createdAt: Date };

/** Networks oldest first; a cursor is `[ISO time, id]`. */
const BY_CREATION = new Keyset<ScopeView>({
  keys: [
    ['createdAt', 'time'],
    ['id', 'uuid'],
  ],
});

const COLUMNS = 'id, cidr, description, created_by_id, created_at';
type Row = { id: string; cidr: string; description: string | null; created_by_id: string | null; created_at: Date };
const viewOfRow = (row: Row): ScopeView => ({
  id: row.id,
  cidr: row.cidr,
  description: row.description,
  createdById: row.created_by_id,
  createdAt: row.created_at,
});
const viewOf = (scope: ScopeNetwork): ScopeView => ({
  id: scope.id,
  cidr: scope.cidr,
  description: scope.description ?? null,
  createdById: scope.createdBy?.id ?? null,
  createdAt: scope.createdAt,
});

/** Tells a network among the other nodes, for `Node.__resolveType`. */
export const isScopeView = (value: unknown): value is ScopeView =>
  typeof value === 'object' && value !== null && 'cidr' in value && 'createdById' in value;

/** The scope in force: the configured baseline plus every network an admin added. */
export async function currentScope(em: EntityManager, baseline: Scope): Promise<Scope> {
  const added = await em.fork().find(ScopeNetwork, {}, { fields: ['cidr'] });
  return new Scope([...baseline.networks, ...added.map((row) => Network.parse(row.cidr))]);
}

export type ScopeServiceDeps = { em: EntityManager; reads: Reads; viewer: Viewer; audit: AuditLog; baseline: Scope; clock: Clock };

/** Networks scans may target. Everyone signed in reads them; only ADMIN changes them. */
export class ScopeService {
  readonly #em: EntityManager;
  readonly #reads: Reads;
  readonly #viewer: Viewer;
  readonly #audit: AuditLog;
  readonly #baseline: Scope;
  readonly #clock: Clock;

  constructor({ em, reads, viewer, audit, baseline, clock }: ScopeServiceDeps) {
    this.#em = em;
    this.#reads = reads;
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

  list(pageArgs: PageArgs): Promise<Connection<ScopeView>> {
    this.#viewer.assert('scope:read');
    return BY_CREATION.select(this.#reads, { table: 'scopes', columns: COLUMNS }, parsePage(pageArgs), viewOfRow);
  }

  async get(id: string): Promise<ScopeView | null> {
    this.#viewer.assert('scope:read');
    const [row] = await this.#reads.rows<Row>({ sql: `select ${COLUMNS} from scopes where id = ?::uuid`, params: [id] });
    return row ? viewOfRow(row) : null;
  }

  /** Scans may target `cidr` from now on. Only networks in CIDR form: a name or a bare address is refused. */
  async create({ cidr, description }: { cidr: string; description?: string | null }): Promise<ScopeView> {
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
    return viewOf(scope);
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
