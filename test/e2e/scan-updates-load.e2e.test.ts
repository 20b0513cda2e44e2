import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unusedPort } from '../helpers/ports.ts';
import { bearer, type ServerProcess, startServer, type TestUser } from '../helpers/server.ts';

/**
 * `scanUpdated` under load: hundreds of sockets, scans created and run at
 * once. Each event carries its own change, so every socket sees every
 * transition of each scan it may see once and in order, and nothing of the
 * scans it may not see, however quickly they change.
 */
const SOCKETS_PER_ANALYST = 150;
const ADMIN_SOCKETS = 50;
const SCANS_PER_ANALYST = 6;
const LIFE = ['PENDING', 'QUEUED', 'RUNNING', 'COMPLETED'];
const UPDATES = 'subscription { scanUpdated { id status updatedAt } }';

type Socket = { client: Client; seen: Map<string, string[]>; errors: unknown[]; dispose: () => void };

let server: ServerProcess;
let analysts: TestUser[];
const sockets = new Map<string, Socket[]>();

async function open(token: string): Promise<Socket> {
  const client = server.wsClient({ token });
  const seen = new Map<string, string[]>();
  const errors: unknown[] = [];
  const connected = new Promise<void>((resolve, reject) => {
    const off = client.on('connected', () => {
      off();
      resolve();
    });
    client.on('error', reject);
  });
  const dispose = client.subscribe<{ scanUpdated: { id: string; status: string } }>(
    { query: UPDATES },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        const update = result.data?.scanUpdated;
        if (update) seen.set(update.id, [...(seen.get(update.id) ?? []), update.status]);
      },
      error: (error) => errors.push(error),
      complete: () => {},
    },
  );
  // The client connects for its first operation.
  await connected;
  return { client, seen, errors, dispose };
}

beforeAll(async () => {
  server = await startServer();
  analysts = [await server.createUser('ANALYST'), await server.createUser('ANALYST')];
  for (const [name, token, count] of [
    ...analysts.map((analyst) => [analyst.id, analyst.token, SOCKETS_PER_ANALYST] as const),
    ['admin', server.adminToken, ADMIN_SOCKETS] as const,
  ]) {
    const opened: Socket[] = [];
    for (let at = 0; at < count; at += 50)
      opened.push(...(await Promise.all(Array.from({ length: Math.min(50, count - at) }, () => open(token)))));
    sockets.set(name, opened);
  }
  // Subscribed: graphql-ws acknowledges no subscribe, so give the server a moment to run them all.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
}, 120_000);

afterAll(async () => {
  for (const socket of [...sockets.values()].flat()) {
    socket.dispose();
    await socket.client.dispose();
  }
  await server?.stop();
});

describe('scanUpdated with hundreds of subscribers', () => {
  it('gives every socket every transition of the scans it may see, once and in order, and no other scan', async () => {
    const closed = await unusedPort();
    const create = (analyst: TestUser) =>
      server.graphql<{ createScan: { scan: { id: string } } }>(
        'mutation($input: CreateScanInput!) { createScan(input: $input) { scan { id } } }',
        { input: { targets: ['127.0.0.1'], ports: String(closed), start: true } },
        bearer(analyst.token),
      );
    // Every analyst's scans at once: transitions of different scans interleave on the bus.
    const created = await Promise.all(analysts.flatMap((analyst) => Array.from({ length: SCANS_PER_ANALYST }, () => create(analyst))));
    for (const response of created) expect(response.body.errors).toBeUndefined();
    const ids = created.map((response) => response.body.data!.createScan.scan.id);
    const own = new Map(analysts.map((analyst, n) => [analyst.id, ids.slice(n * SCANS_PER_ANALYST, (n + 1) * SCANS_PER_ANALYST)]));

    const everyone = [...sockets.values()].flat();
    const expected = (name: string) => (name === 'admin' ? ids : (own.get(name) ?? []));
    const deadline = Date.now() + 60_000;
    const complete = () =>
      [...sockets].every(([name, list]) =>
        list.every((socket) => expected(name).every((id) => socket.seen.get(id)?.at(-1) === 'COMPLETED')),
      );
    while (!complete() && Date.now() < deadline && everyone.every((socket) => socket.errors.length === 0)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Anything late or doubled would land now.
    await new Promise((resolve) => setTimeout(resolve, 500));

    for (const [name, list] of sockets) {
      for (const socket of list) {
        expect(socket.errors).toEqual([]);
        expect([...socket.seen.keys()].sort()).toEqual([...expected(name)].sort());
        for (const id of expected(name)) expect(socket.seen.get(id), `${name} ${id}`).toEqual(LIFE);
      }
    }
  });
});
