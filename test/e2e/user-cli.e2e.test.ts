import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startServer, TEST_PASSWORD } from '../helpers/server.ts';

let database: TestDatabase;

/** `npm run user -- …` as an operator types it; resolves with the exit code and what it printed. */
function userCli(
  args: string[],
  { env = {}, stdin }: { env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number | null; out: string }> {
  const child = spawn('npm', ['run', '--silent', 'user', '--', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'test', DATABASE_URL: database.url, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  child.stdin.end(stdin ?? '');
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(() => database.drop());

describe('the first user', () => {
  it('warns on start that nobody can log in yet, and how to create the first admin', async () => {
    const server = await startServer({ databaseUrl: database.url, admin: false });
    // Logged just after the line that says it listens.
    await expect.poll(() => server.output.join('\n')).toContain('No user exists yet');
    expect(server.output.join('\n')).toContain('npm run user -- create --email you@example.com --role ADMIN');
    expect(await server.stop()).toBe(0);
  });

  it('refuses to start with a weak ADMIN_PASSWORD, saying why', async () => {
    await expect(
      startServer({ databaseUrl: database.url, admin: false, env: { ADMIN_EMAIL: 'root@scanops.test', ADMIN_PASSWORD: 'hunter2' } }),
    ).rejects.toThrow(/password is too weak/);
  });

  it('creates users from the CLI, password from the environment or stdin, never from the arguments', async () => {
    const fromEnv = await userCli(['create', '--email', 'Ops@Scanops.test', '--role', 'admin'], { env: { USER_PASSWORD: TEST_PASSWORD } });
    expect(fromEnv).toEqual({ code: 0, out: 'Created ADMIN ops@scanops.test.\n' });
    const fromStdin = await userCli(['create', '--email', 'ana@scanops.test', '--role', 'ANALYST', '--name', 'Ana'], {
      stdin: `${TEST_PASSWORD}\n`,
    });
    expect(fromStdin).toEqual({ code: 0, out: 'Created ANALYST ana@scanops.test.\n' });

    const weak = await userCli(['create', '--email', 'weak@scanops.test', '--role', 'VIEWER'], { stdin: 'short\n' });
    expect(weak.code).toBe(1);
    expect(weak.out).toContain('password: The password is too weak');
    const twice = await userCli(['create', '--email', 'ana@scanops.test', '--role', 'VIEWER'], { stdin: `${TEST_PASSWORD}\n` });
    expect(twice).toMatchObject({ code: 1, out: expect.stringContaining('already exists') });
    const usage = await userCli(['create', '--email', 'x@scanops.test']);
    expect(usage).toMatchObject({ code: 2, out: expect.stringContaining('Usage: npm run user -- create') });
  });

  it('lets the CLI-made users log in, and the ADMIN_EMAIL of a later start creates no one', async () => {
    const server = await startServer({
      databaseUrl: database.url,
      env: { ADMIN_EMAIL: 'ops@scanops.test', ADMIN_PASSWORD: TEST_PASSWORD },
    });
    const ana = await server.login('ana@scanops.test');
    const { body } = await server.graphql('{ viewer { email name role } users { totalCount } }');
    expect(body.data).toEqual({ viewer: { email: 'ops@scanops.test', name: 'ops', role: 'ADMIN' }, users: { totalCount: 2 } });
    const self = await server.graphql('{ viewer { name role } }', {}, { authorization: `Bearer ${ana.accessToken}` });
    expect(self.body.data).toEqual({ viewer: { name: 'Ana', role: 'ANALYST' } });
    expect(server.output.join('\n')).not.toContain('Created the first admin');
    expect(await server.stop()).toBe(0);
  });
});
