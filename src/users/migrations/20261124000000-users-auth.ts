import { Migration } from '@mikro-orm/migrations';

/** Users and their credentials, scan owners, scopes in the database, and the audit log. */
export class UsersAuth extends Migration {
  override up(): void {
    this.addSql(`create table "users" (
      "id" uuid not null primary key,
      "email" text not null constraint "users_email_unique" unique,
      "name" text not null,
      "role" text not null constraint "users_role_check" check ("role" in ('ADMIN', 'ANALYST', 'VIEWER')),
      "active" boolean not null,
      "password_hash" text not null,
      "created_at" timestamptz(3) not null,
      "updated_at" timestamptz(3) not null,
      "last_login_at" timestamptz(3) null
    );`);
    this.addSql(`create index "users_created_at_id_index" on "users" ("created_at", "id");`);

    this.addSql(`create table "auth_sessions" (
      "id" uuid not null primary key,
      "user_id" uuid not null constraint "auth_sessions_user_id_foreign" references "users" ("id") on delete cascade,
      "created_at" timestamptz(3) not null,
      "expires_at" timestamptz(3) not null,
      "revoked_at" timestamptz(3) null,
      "revoked_reason" text null,
      "ip" text null
    );`);
    this.addSql(`create index "auth_sessions_user_id_index" on "auth_sessions" ("user_id");`);

    this.addSql(`create table "refresh_tokens" (
      "id" uuid not null primary key,
      "session_id" uuid not null constraint "refresh_tokens_session_id_foreign" references "auth_sessions" ("id") on delete cascade,
      "token_hash" text not null constraint "refresh_tokens_token_hash_unique" unique,
      "created_at" timestamptz(3) not null,
      "used_at" timestamptz(3) null
    );`);
    this.addSql(`create index "refresh_tokens_session_id_index" on "refresh_tokens" ("session_id");`);

    this.addSql(`create table "api_tokens" (
      "id" uuid not null primary key,
      "user_id" uuid not null constraint "api_tokens_user_id_foreign" references "users" ("id") on delete cascade,
      "name" text not null,
      "role" text not null constraint "api_tokens_role_check" check ("role" in ('ADMIN', 'ANALYST', 'VIEWER')),
      "prefix" text not null,
      "token_hash" text not null constraint "api_tokens_token_hash_unique" unique,
      "created_at" timestamptz(3) not null,
      "expires_at" timestamptz(3) null,
      "last_used_at" timestamptz(3) null,
      "revoked_at" timestamptz(3) null
    );`);
    this.addSql(`create index "api_tokens_user_id_created_at_id_index" on "api_tokens" ("user_id", "created_at", "id");`);
    this.addSql(`create index "api_tokens_created_at_id_index" on "api_tokens" ("created_at", "id");`);

    this.addSql(`create table "scopes" (
      "id" uuid not null primary key,
      "cidr" text not null constraint "scopes_cidr_unique" unique,
      "description" text null,
      "created_by_id" uuid null constraint "scopes_created_by_id_foreign" references "users" ("id") on delete set null,
      "created_at" timestamptz(3) not null
    );`);
    this.addSql(`create index "scopes_created_at_id_index" on "scopes" ("created_at", "id");`);

    this.addSql(`create table "audit_events" (
      "id" bigserial primary key,
      "at" timestamptz(3) not null,
      "action" text not null constraint "audit_events_action_check" check ("action" in (
        'LOGIN_SUCCEEDED', 'LOGIN_FAILED', 'LOGIN_RATE_LIMITED', 'LOGOUT', 'REFRESH_TOKEN_REUSED',
        'API_TOKEN_CREATED', 'API_TOKEN_REVOKED', 'USER_CREATED', 'USER_UPDATED', 'SCOPE_CREATED', 'SCOPE_DELETED',
        'SCAN_CREATED', 'SCAN_STARTED', 'SCAN_CANCELLED', 'SCAN_DELETED')),
      "actor_id" uuid null,
      "actor_email" text null,
      "ip" text null,
      "target_id" text null,
      "details" jsonb not null
    );`);
    // Failed logins are counted from here (rate limits): by action and time.
    this.addSql(`create index "audit_events_action_at_index" on "audit_events" ("action", "at");`);
    this.addSql(`create index "audit_events_actor_id_index" on "audit_events" ("actor_id");`);
    this.addSql(`create index "audit_events_action_actor_email_at_index" on "audit_events" ("action", "actor_email", "at");`);
    this.addSql(`create index "audit_events_action_ip_at_index" on "audit_events" ("action", "ip", "at");`);

    // Scans from before users existed keep a null owner: ADMIN and VIEWER still see them.
    this.addSql(
      `alter table "scans" add column "owner_id" uuid null constraint "scans_owner_id_foreign" references "users" ("id") on delete set null;`,
    );
    this.addSql(`create index "scans_owner_id_created_at_id_index" on "scans" ("owner_id", "created_at", "id");`);
  }

  override down(): void {
    this.addSql(`alter table "scans" drop column "owner_id";`);
    for (const table of ['audit_events', 'scopes', 'api_tokens', 'refresh_tokens', 'auth_sessions', 'users']) {
      this.addSql(`drop table if exists "${table}";`);
    }
  }
}
