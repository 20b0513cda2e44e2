import { Migration } from '@mikro-orm/migrations';

const TABLES = { users: 'id', auth_sessions: 'user_id', api_tokens: 'user_id' } as const;

/**
 * Every change that can make a verified identity wrong is told on the
 * channel `scanops_identity` with the user's ID (see `identity-changes.ts`):
 * updates and deletes of users, sessions and API tokens, from any process,
 * any code path, or by hand in psql. The row triggers are written as
 * MikroORM writes the ones the entities declare, so schema and entities
 * agree. A TRUNCATE, which names no user, tells an empty payload (anyone's);
 * MikroORM does not see statement triggers on TRUNCATE (PostgreSQL's
 * `information_schema.triggers` leaves them out), so they live here alone.
 * The channel is written out: a migration must not change with the code.
 */
export class IdentityChanges extends Migration {
  override up(): void {
    for (const [table, owner] of Object.entries(TABLES)) {
      const tell = (row: 'old' | 'new') => `perform pg_notify('scanops_identity', ${row}.${owner}::text);`;
      const moved = owner === 'id' ? '' : ` if new.${owner} is distinct from old.${owner} then ${tell('new')} end if;`;
      const bookkeeping = { users: 'last_login_at', auth_sessions: null, api_tokens: 'last_used_at' }[table];
      const when = bookkeeping
        ? `((to_jsonb(old.*) - '${bookkeeping}'::text) IS DISTINCT FROM (to_jsonb(new.*) - '${bookkeeping}'::text))`
        : '(old.* IS DISTINCT FROM new.*)';
      this.addSql(
        `create or replace function "${table}_identity_changed_fn"() returns trigger as $$ begin ${tell('old')}${moved} return null; end; $$ language plpgsql;`,
      );
      this.addSql(
        `create trigger "identity_changed" AFTER UPDATE on "${table}" for each ROW when (${when}) execute function "${table}_identity_changed_fn"();`,
      );
      this.addSql(
        `create or replace function "${table}_identity_deleted_fn"() returns trigger as $$ begin ${tell('old')} return null; end; $$ language plpgsql;`,
      );
      this.addSql(
        `create trigger "identity_deleted" AFTER DELETE on "${table}" for each ROW execute function "${table}_identity_deleted_fn"();`,
      );
    }
    this.addSql(
      `create or replace function "scanops_identity_truncated_fn"() returns trigger as $$ begin perform pg_notify('scanops_identity', ''); return null; end; $$ language plpgsql;`,
    );
    for (const table of Object.keys(TABLES)) {
      this.addSql(
        `create trigger "identity_truncated" AFTER TRUNCATE on "${table}" for each STATEMENT execute function "scanops_identity_truncated_fn"();`,
      );
    }
  }

  override down(): void {
    for (const table of Object.keys(TABLES)) {
      for (const event of ['changed', 'deleted']) {
        this.addSql(`drop trigger if exists "identity_${event}" on "${table}";`);
        this.addSql(`drop function if exists "${table}_identity_${event}_fn"();`);
      }
      this.addSql(`drop trigger if exists "identity_truncated" on "${table}";`);
    }
    this.addSql(`drop function if exists "scanops_identity_truncated_fn"();`);
  }
}
