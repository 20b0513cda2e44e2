import { createServer } from 'node:net';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type ServerProcess, startServer, subscribe, TEST_PASSWORD } from '../helpers/server.ts';

/** What an operator reads: JSON lines, one per event worth knowing, each request's lines under its request id. */
let server: ServerProcess;

type Line = Record<string, unknown> & { msg: string };
const lines = (): Line[] =>
  server.output.flatMap((text) => {
    try {
      return [JSON.parse(text) as Line];
    } catch {
      return [];
    }
  });
const find = (msg: string, where: (line: Line) => boolean = () => true) => lines().filter((line) => line.msg === msg && where(line));

async function waitFor(msg: string, where?: (line: Line) => boolean): Promise<Line> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const [line] = find(msg, where);
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no "${msg}" line in:\n${server.output.join('\n')}`);
}

beforeAll(async () => {
  server = await startServer({ env: { NMAP_PATH: '/nonexistent/nmap', LOGIN_MAX_FAILURES_PER_EMAIL: '2' } });
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

const CREATE = 'mutation($input: CreateScanInput!) { createScan(input: $input) { scan { id status } } }';
const WAIT = 'subscription($id: ID!) { scanProgress(scanId: $id) { probesDone } }';

async function runScan(input: Record<string, unknown>): Promise<string> {
  const { body, headers } = await server.graphql<{ createScan: { scan: { id: string } } }>(
    CREATE,
    { input },
    { 'x-request-id': `create-${input.scanType ?? 'CONNECT'}` },
  );
  expect(body.errors).toBeUndefined();
  expect(headers.get('x-request-id')).toBe(`create-${input.scanType ?? 'CONNECT'}`);
  const id = body.data!.createScan.scan.id;
  const progress = subscribe(server.wsClient(), WAIT, { id });
  await progress.completed;
  return Buffer.from(id, 'base64url').toString().split(':')[1]!;
}

describe('logs', () => {
  it("tell a scan's life: queued (under the request id), started, finished with counts and duration", async () => {
    const listener = createServer((socket) => socket.on('error', () => {}).end());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const { port } = listener.address() as { port: number };
    try {
      const scanId = await runScan({ targets: ['127.0.0.1'], ports: `${port},1`, start: true });
      const queued = await waitFor('scan queued', (line) => line.scanId === scanId);
      expect(queued).toMatchObject({ level: 30, requestId: 'create-CONNECT', scanType: 'CONNECT' });
      expect(await waitFor('scan started', (line) => line.scanId === scanId)).toMatchObject({ hosts: 1, probesTotal: 2 });
      const finished = await waitFor('scan finished', (line) => line.scanId === scanId);
      expect(finished).toMatchObject({ status: 'COMPLETED', probesDone: 2, probesTotal: 2, openPorts: 1 });
      expect(finished.durationMs).toEqual(expect.any(Number));
    } finally {
      listener.close();
    }
  });

  it('say why a scan failed', async () => {
    const scanId = await runScan({ targets: ['127.0.0.1'], ports: '1', scanType: 'SYN', start: true });
    const failed = await waitFor('scan failed', (line) => line.scanId === scanId);
    expect(failed).toMatchObject({ level: 40, status: 'FAILED', reason: expect.stringContaining('nmap') });
  });

  it('record failed logins and the lockout, never the password', async () => {
    const email = 'admin@scanops.test';
    for (let i = 0; i < 3; i++) {
      await server.graphql(
        'mutation($input: LoginInput!) { login(input: $input) { accessToken } }',
        { input: { email, password: 'wrong horse battery staple' } },
        { authorization: '', 'x-request-id': `login-${i}` },
      );
    }
    expect(await waitFor('login failed', (line) => line.requestId === 'login-0')).toMatchObject({ level: 40, email, ip: '127.0.0.1' });
    expect(await waitFor('login locked out', (line) => line.requestId === 'login-2')).toMatchObject({
      email,
      by: 'email',
      retryAfterSeconds: expect.any(Number),
    });
    expect(server.output.join('\n')).not.toContain('wrong horse');
    expect(server.output.join('\n')).not.toContain(TEST_PASSWORD);
  });

  it('say when a socket is closed for its credentials', async () => {
    const client = createClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      connectionParams: { authorization: 'Bearer nonsense' },
    });
    const closed = new Promise<number>((resolve) => client.on('closed', (event) => resolve((event as { code: number }).code)));
    client.subscribe({ query: 'subscription { scanUpdated { id } }' }, { next: () => {}, error: () => {}, complete: () => {} });
    expect(await closed).toBe(4401);
    expect(await waitFor('socket closed: credentials refused')).toMatchObject({
      code: 4401,
      socketId: expect.any(String),
      ip: '127.0.0.1',
    });
    await client.dispose();
  });

  it('are JSON lines without terminal colour codes', () => {
    expect(lines().length).toBe(server.output.filter((text) => text.trim()).length);
    expect(server.output.join('\n')).not.toContain(`${String.fromCharCode(27)}[`);
  });
});
