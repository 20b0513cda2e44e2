import { CreateScans } from './20261123000000-create-scans.ts';
import { ScanExecution } from './20261123100000-scan-execution.ts';
import { ScanHosts } from './20261123200000-scan-hosts.ts';
import { UsersAuth } from './20261124000000-users-auth.ts';
import { ScanCounts } from './20261125000000-scan-counts.ts';
import { AuditActionsOpen } from './20261201000000-audit-actions-open.ts';
import { AuditAppendOnly } from './20261201100000-audit-append-only.ts';

/**
 * Every migration, oldest first. Listed explicitly rather than discovered from
 * a folder, so the API and worker apply exactly what was committed.
 */
export const migrations = [
  { name: '20261123000000-create-scans', class: CreateScans },
  { name: '20261123100000-scan-execution', class: ScanExecution },
  { name: '20261123200000-scan-hosts', class: ScanHosts },
  { name: '20261124000000-users-auth', class: UsersAuth },
  { name: '20261125000000-scan-counts', class: ScanCounts },
  { name: '20261201000000-audit-actions-open', class: AuditActionsOpen },
  { name: '20261201100000-audit-append-only', class: AuditAppendOnly },
];
