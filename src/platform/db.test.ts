import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.ts';
import { entities, migrations } from '../app.ts';
import { type Orm, openDatabase } from './db.ts';
import { createLogger } from './logger.ts';

let database: TestDatabase;
let orm: Orm;

beforeAll(async () => {
  database = await createTestDatabase();
  orm = await openDatabase({ url: database.url, logger: createLogger('silent', false), entities, migrations });
});

afterAll(async () => {
  await orm.close();
  await database.drop();
});

const columns = async (table: string) => {
  const rows = await orm.em
    .getConnection()
    .execute<{ column_name: string }[]>(
      'select column_name from information_schema.columns where table_name = ? order by ordinal_position',
      [table],
    );
  return rows.map((row) => row.column_name);
};

describe('migrations', () => {
  it('apply to an empty database on open, and match the entities', async () => {
    expect(await columns('scans')).toEqual([
      'id',
      'targets',
      'ports',
      'scan_type',
      'status',
      'created_at',
      'updated_at',
      'started_at',
      'finished_at',
      'error',
      'options',
      'probes_total',
      'probes_done',
      'open_ports',
      'owner_id',
      'closed_ports',
      'filtered_ports',
      'probes_estimate',
    ]);
    const diff = await orm.schema.getUpdateSchemaSQL({ wrap: false });
    expect(diff.trim()).toBe('');
  });

  it('are recorded, so opening again applies nothing', async () => {
    const executed = await orm.migrator.getExecuted();
    expect(executed.map((m) => m.name)).toEqual(migrations.map((m) => m.name).sort());
    expect(await orm.migrator.getPending()).toEqual([]);
  });

  it('roll back and forward cleanly', async () => {
    await orm.migrator.down({ to: 0 });
    expect(await columns('scans')).toEqual([]);
    await orm.migrator.up();
    expect(await columns('scans')).toHaveLength(18);
    expect(await columns('users')).toEqual([
      'id',
      'email',
      'name',
      'role',
      'active',
      'password_hash',
      'created_at',
      'updated_at',
      'last_login_at',
    ]);
    expect(await columns('audit_events')).toHaveLength(8);
    expect(await columns('scan_results')).toHaveLength(10);
    expect(await columns('scan_hosts')).toEqual(['id', 'scan_id', 'address', 'hostname', 'state', 'changed_at']);
  });

  it('let the audit log only append', async () => {
    const connection = orm.em.getConnection();
    await connection.execute(`insert into audit_events (at, action, details) values (now(), 'LOGOUT', '{}')`);
    await expect(connection.execute(`update audit_events set action = 'LOGIN_SUCCEEDED'`)).rejects.toThrow(
      /audit_events only appends: UPDATE refused/,
    );
    await expect(connection.execute('delete from audit_events')).rejects.toThrow(/audit_events only appends: DELETE refused/);
    expect(await connection.execute(`select action from audit_events`)).toEqual([{ action: 'LOGOUT' }]);
  });

  const insertScan = (targets: string, counts: { done: number; open: number; closed: number; estimate: number }) =>
    orm.em.getConnection().execute(
      `insert into scans (id, targets, ports, scan_type, status, created_at, updated_at, options, probes_total, probes_done, open_ports, closed_ports, filtered_ports, probes_estimate)
     values (gen_random_uuid(), ?, '80', 'CONNECT', 'PENDING', now(), now(), '{}', 10, ?, ?, ?, 0, ?)`,
      [targets, counts.done, counts.open, counts.closed, counts.estimate],
    );

  it('let the database refuse a scan without targets', async () => {
    await expect(insertScan('{}', { done: 0, open: 0, closed: 0, estimate: 0 })).rejects.toThrow(/scans_targets_check/);
  });

  it('let the database refuse counts that disagree, or an estimate behind them', async () => {
    await expect(insertScan('{127.0.0.1}', { done: 2, open: 1, closed: 0, estimate: 2 })).rejects.toThrow(/scans_counts_check/);
    await expect(insertScan('{127.0.0.1}', { done: 2, open: 1, closed: 1, estimate: 1 })).rejects.toThrow(/scans_probes_estimate_check/);
    await expect(insertScan('{127.0.0.1}', { done: 2, open: 1, closed: 1, estimate: 5 })).resolves.toBeDefined();
  });
});
