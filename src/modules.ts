import { auditModule } from './audit/audit.module.ts';
import { evidenceModule } from './evidence/evidence.module.ts';
import type { AreaModule } from './module.ts';
import { scansModule } from './scans/scans.module.ts';
import { scopeModule } from './scope/scope.module.ts';
import { trafficModule } from './traffic/traffic.module.ts';
import { usersModule } from './users/users.module.ts';

/**
 * The areas, in the order they start (and, reversed, stop): a lower area
 * before those that use it. Adding an area is writing its folder and its
 * `schema/<area>.graphql`, and one line here.
 */
export const modules: readonly AreaModule[] = [auditModule, usersModule, scopeModule, scansModule, evidenceModule, trafficModule];
