import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.ts';
import { IDENTITY_CHANNEL } from './identity-changes.ts';

let app: TestApp;
let listener: pg.Client;
let sql: pg.Client;
const heard: string[] = [];

beforeAll(async () => {
  app = await createTestApp();
  const url = app.config.databaseUrl ?? '';
  listener = new pg.Client({ connectionString: url });
  sql = new pg.Client({ connectionString: url });
  await Promise.all([listener.connect(), sql.connect()]);
  listener.on('notification', ({ channel, payload }) => channel === IDENTITY_CHANNEL && heard.push(payload ?? ''));
  await listener.query(`LISTEN ${IDENTITY_CHANNEL}`);
});

afterAll(async () => {
  await Promise.all([listener.end(), sql.end()]);
  await app.dispose();
});

/** What the channel says about `statement`: a marker NOTIFY sent after it tells when everything before it has arrived. */
async function toldAfter(statement: string, params: unknown[] = []): Promise<string[]> {
  heard.length = 0;
  await sql.query(statement, params);
  await sql.query(`select pg_notify($1, 'marker')`, [IDENTITY_CHANNEL]);
  await expect.poll(() => heard.at(-1)).toBe('marker');
  return heard.slice(0, -1);
}

describe('the identity triggers', () => {
  it("tell the user's ID when a user, a session or an API token changes or goes", async () => {
    const { userId, credentialId } = (await app.seedUser('ANALYST')).identity;
    await sql.query(
      `insert into api_tokens (id, user_id, name, role, prefix, token_hash, created_at) values (gen_random_uuid(), $1, 'ci', 'VIEWER', 'sops_x', md5(random()::text), now())`,
      [userId],
    );
    expect(await toldAfter('update users set role = $2 where id = $1', [userId, 'VIEWER'])).toEqual([userId]);
    expect(await toldAfter('update auth_sessions set revoked_at = now() where id = $1', [credentialId])).toEqual([userId]);
    expect(await toldAfter('update api_tokens set revoked_at = now() where user_id = $1', [userId])).toEqual([userId]);
    expect(await toldAfter('delete from api_tokens where user_id = $1', [userId])).toEqual([userId]);
    // One notification per user and transaction, however many rows: PostgreSQL folds equal ones.
    expect(await toldAfter('delete from users where id = $1', [userId])).toEqual([userId]);
  });

  it('stay silent for the bookkeeping a request writes: a login time, a token used', async () => {
    const { userId } = (await app.seedUser('VIEWER')).identity;
    await sql.query(
      `insert into api_tokens (id, user_id, name, role, prefix, token_hash, created_at) values (gen_random_uuid(), $1, 'ci', 'VIEWER', 'sops_y', md5(random()::text), now())`,
      [userId],
    );
    expect(await toldAfter('update users set last_login_at = now() where id = $1', [userId])).toEqual([]);
    expect(await toldAfter('update api_tokens set last_used_at = now() where user_id = $1', [userId])).toEqual([]);
    expect(await toldAfter('update users set role = role where id = $1', [userId])).toEqual([]);
  });

  it('tell an empty payload (anyone may have changed) when a table is truncated', async () => {
    expect(await toldAfter('truncate api_tokens')).toEqual(['']);
  });
});
