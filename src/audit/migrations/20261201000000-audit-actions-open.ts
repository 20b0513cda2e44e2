import { Migration } from '@mikro-orm/migrations';

/**
 * Audit actions are named by the code that writes them (each area its own):
 * the log only appends, and a new kind of entry should not need a schema
 * change. The check constraint that listed them goes.
 */
export class AuditActionsOpen extends Migration {
  override up(): void {
    this.addSql(`alter table "audit_events" drop constraint if exists "audit_events_action_check";`);
  }

  override down(): void {
    this.addSql(`delete from "audit_events" where "action" = 'SCAN_REFUSED';`);
    this.addSql(`alter table "audit_events" add constraint "audit_events_action_check" check ("action" in (
      'LOGIN_SUCCEEDED', 'LOGIN_FAILED', 'LOGIN_RATE_LIMITED', 'LOGOUT', 'REFRESH_TOKEN_REUSED',
      'API_TOKEN_CREATED', 'API_TOKEN_REVOKED', 'USER_CREATED', 'USER_UPDATED', 'SCOPE_CREATED', 'SCOPE_DELETED',
      'SCAN_CREATED', 'SCAN_STARTED', 'SCAN_CANCELLED', 'SCAN_DELETED'));`);
  }
}
