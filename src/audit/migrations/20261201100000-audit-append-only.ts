import { Migration } from '@mikro-orm/migrations';

/**
 * The audit log only appends: failed-login counting, which changed and
 * deleted its entries, gets a table of its own (recent failures and lockouts
 * carried over, so an upgrade does not end a lockout in progress), and the
 * database refuses any update or delete of an entry.
 */
export class AuditAppendOnly extends Migration {
  override up(): void {
    this.addSql(`create table "login_attempts" (
      "id" bigserial primary key,
      "at" timestamptz(3) not null,
      "email" text not null,
      "ip" text null,
      "outcome" text not null
    );`);
    this.addSql(`create index "login_attempts_email_at_index" on "login_attempts" ("email", "at");`);
    this.addSql(`create index "login_attempts_ip_at_index" on "login_attempts" ("ip", "at");`);
    this.addSql(`insert into "login_attempts" ("at", "email", "ip", "outcome")
      select "at", "actor_email", "ip", case "action" when 'LOGIN_FAILED' then 'FAILED' else 'LOCKED_OUT' end
        from "audit_events"
       where "action" in ('LOGIN_FAILED', 'LOGIN_RATE_LIMITED') and "actor_email" is not null and "at" > now() - interval '1 day';`);
    // As MikroORM writes the trigger the entity declares (AuditEvent), so schema and entities agree.
    this.addSql(
      `create or replace function "audit_events_audit_events_append_only_fn"() returns trigger as $$ begin raise exception 'audit_events only appends: % refused', tg_op using errcode = 'insufficient_privilege'; end; $$ language plpgsql;`,
    );
    this.addSql(
      `create trigger "audit_events_append_only" BEFORE UPDATE OR DELETE on "audit_events" for each ROW execute function "audit_events_audit_events_append_only_fn"();`,
    );
  }

  override down(): void {
    this.addSql(`drop trigger if exists "audit_events_append_only" on "audit_events";`);
    this.addSql(`drop function if exists "audit_events_audit_events_append_only_fn"();`);
    this.addSql(`drop table if exists "login_attempts";`);
  }
}
