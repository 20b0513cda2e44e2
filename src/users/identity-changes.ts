import type { TriggerDef } from '@mikro-orm/core';

/**
 * The PostgreSQL channel that tells every change to a user, a session or an
 * API token, with the user's ID as payload (empty: anyone's may have
 * changed). Triggers send it, so no code path can forget to; PostgreSQL
 * sends it at commit, to every process listening on the database, whether
 * or not Redis carries events.
 */
export const IDENTITY_CHANNEL = 'scanops_identity';

/**
 * The triggers that tell it for one table: `owner` is the column naming the
 * user (`id` for users themselves). An update counts when anything but
 * `bookkeeping` changed: the columns a request writes as it goes
 * (`last_login_at` at login, `last_used_at` as a token is used), which
 * change no identity and would otherwise drop the cache every minute.
 * Inserts change no identity already verified. The `when` clauses are
 * written as PostgreSQL prints them back, so the schema comparison (and the
 * migration's test) sees no difference.
 */
export function identityTriggers(owner: 'id' | 'user_id', bookkeeping?: string): TriggerDef[] {
  const tell = (row: 'old' | 'new') => `perform pg_notify('${IDENTITY_CHANNEL}', ${row}.${owner}::text);`;
  const moved = owner === 'id' ? '' : ` if new.${owner} is distinct from old.${owner} then ${tell('new')} end if;`;
  return [
    {
      name: 'identity_changed',
      timing: 'after',
      events: ['update'],
      forEach: 'row',
      when: bookkeeping
        ? `((to_jsonb(old.*) - '${bookkeeping}'::text) IS DISTINCT FROM (to_jsonb(new.*) - '${bookkeeping}'::text))`
        : '(old.* IS DISTINCT FROM new.*)',
      body: `${tell('old')}${moved} return null;`,
    },
    { name: 'identity_deleted', timing: 'after', events: ['delete'], forEach: 'row', body: `${tell('old')} return null;` },
  ];
}
