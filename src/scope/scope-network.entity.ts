import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { User } from '../users/user.entity.ts';

const ScopeNetworkSchema = defineEntity({
  name: 'ScopeNetwork',
  tableName: 'scopes',
  properties: {
    id: p.uuid().primary(),
    /** Canonical CIDR text (`Network.toString()`): one row per network. */
    cidr: p.text().unique(),
    description: p.text().nullable(),
    createdBy: () => p.manyToOne(User).nullable().deleteRule('set null'),
    createdAt: p.datetime(3),
  },
  indexes: [{ properties: ['createdAt', 'id'] }],
});

/** A network an admin allowed scans to target, on top of the `SCAN_ALLOWED_TARGETS` baseline. */
export class ScopeNetwork extends ScopeNetworkSchema.class {
  static create(cidr: string, description: string | null, createdBy: User, now: Date): ScopeNetwork {
    const scope = new ScopeNetwork();
    scope.id = randomUUID();
    scope.cidr = cidr;
    scope.description = description;
    scope.createdBy = createdBy;
    scope.createdAt = now;
    return scope;
  }
}

ScopeNetworkSchema.setClass(ScopeNetwork);

export { ScopeNetworkSchema };
