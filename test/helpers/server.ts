import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createTestDatabase, type TestDatabase } from './database.ts';

export type GraphQLResponse<T = Record<string, unknown>> = {
  status: number;
  headers: Headers;
  body: { data?: T | null; errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[] };
};

export type ServerProcess = {
  url: string;
  wsUrl: string;
  pid: number;
  /** Every line the process printed, for asserting on logs. */
  output: string[];
  /** The bootstrap admin's access token, which `graphql` and `wsClient` send unless told otherwise. */
  adminToken: string;
  /**
   * POSTs a GraphQL request as curl would, as the admin; pass an
   * `authorization` header to act as someone else (`''`: anonymous).
   */
  graphql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<T>>;
  /** POSTs a raw body (as the admin unless `headers.authorization` says otherwise). */
  post(body: string, headers?: Record<string, string>): Promise<{ status: number; body: unknown }>;
  /** A graphql-ws client; `token` goes in `connectionParams` (the admin's by default, `null` for none). */
  wsClient(options?: { token?: string | null }): Client;
  /** Creates a user of `role` (as the admin) and logs them in. */
  createUser(role: 'ADMIN' | 'ANALYST' | 'VIEWER'): Promise<TestUser>;
  /** Logs in; throws with the errors if that fails. */
  login(email: string, password?: string): Promise<{ accessToken: string; refreshToken: string }>;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
};

export type TestUser = { id: string; email: string; token: string; refreshToken: string; headers: Record<string, string> };

export const ADMIN_EMAIL = 'admin@scanops.test';
export const TEST_PASSWORD = 'correct horse battery staple';

export type StartOptions = {
  env?: Record<string, string>;
  /** Use this database instead of a fresh one (which is dropped on stop). `null`: no DATABASE_URL, so the embedded server. */
  databaseUrl?: string | null;
  /** `false`: no ADMIN_EMAIL/ADMIN_PASSWORD and no login, for tests of a server nobody can use yet. */
  admin?: boolean;
  /** The project folder to start in, such as a copy elsewhere; `src/main.ts` is run from there. @default this checkout */
  cwd?: string;
};

const NODE = process.execPath;

/** Starts `node src/main.ts` as `npm start` does, on a free port, and waits until it listens. */
export async function startServer(options: StartOptions = {}): Promise<ServerProcess> {
  let database: TestDatabase | undefined;
  let databaseUrl = options.databaseUrl;
  if (databaseUrl === undefined) {
    database = await createTestDatabase();
    databaseUrl = database.url;
  }
  // A store of its own: a server's sweep removes the files its database does not know, so servers must not share one.
  const evidenceDir = options.env?.EVIDENCE_DIR ? undefined : await mkdtemp(path.join(tmpdir(), 'scanops-evidence-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_ENV: 'test',
    PORT: '0',
    ...(evidenceDir ? { EVIDENCE_DIR: evidenceDir } : {}),
    LOG_LEVEL: 'info',
    ...(options.admin === false ? {} : { ADMIN_EMAIL, ADMIN_PASSWORD: TEST_PASSWORD }),
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...options.env,
  };
  const child = spawn(NODE, ['src/main.ts'], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const listening = new Promise<string>((resolve, reject) => {
    const onLine = (line: string) => {
      output.push(line);
      const match = /"graphql":"(http:\/\/[^"]+)"/.exec(line);
      if (match?.[1]) resolve(match[1]);
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening:\n${output.join('\n')}`)));
  });
  const url = await listening.catch(async (error: unknown) => {
    await database?.drop();
    if (evidenceDir) await rm(evidenceDir, { recursive: true, force: true });
    throw error;
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const server = serverProcess(child, url, output, exited, database, evidenceDir);
  if (options.admin === false) return server;
  try {
    server.adminToken = (
      await server.login(options.env?.ADMIN_EMAIL ?? ADMIN_EMAIL, options.env?.ADMIN_PASSWORD ?? TEST_PASSWORD)
    ).accessToken;
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

const LOGIN = 'mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken user { id } } }';
const CREATE_USER = 'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id email } } }';
let users = 0;

function serverProcess(
  child: ChildProcess,
  url: string,
  output: string[],
  exited: Promise<number | null>,
  database?: TestDatabase,
  evidenceDir?: string,
): ServerProcess {
  const wsUrl = url.replace(/^http/, 'ws');
  const clients: Client[] = [];
  const server: ServerProcess = {
    url,
    wsUrl,
    pid: child.pid ?? 0,
    output,
    adminToken: '',
    async graphql<T>(query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...bearer(server.adminToken), ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResponse<T>['body'] };
    },
    async post(body, headers = {}) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(server.adminToken), ...headers },
        body,
      });
      return { status: response.status, body: await response.json() };
    },
    wsClient({ token = server.adminToken } = {}) {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        connectionParams: token === null ? undefined : { authorization: `Bearer ${token}` },
      });
      clients.push(client);
      return client;
    },
    async login(email, password = TEST_PASSWORD) {
      const { body } = await server.graphql<{ login: { accessToken: string; refreshToken: string } }>(
        LOGIN,
        { input: { email, password } },
        { authorization: '' },
      );
      if (!body.data?.login) throw new Error(`login as ${email} failed: ${JSON.stringify(body.errors)}`);
      return body.data.login;
    },
    async createUser(role) {
      const email = `${role.toLowerCase()}-${process.pid}-${++users}@scanops.test`;
      const { body } = await server.graphql<{ createUser: { user: { id: string } } }>(CREATE_USER, {
        input: { email, role, password: TEST_PASSWORD },
      });
      if (!body.data?.createUser) throw new Error(`createUser failed: ${JSON.stringify(body.errors)}`);
      const { accessToken, refreshToken } = await server.login(email);
      return { id: body.data.createUser.user.id, email, token: accessToken, refreshToken, headers: bearer(accessToken) };
    },
    async stop() {
      await Promise.all(clients.map((client) => client.dispose()));
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      await database?.drop();
      if (evidenceDir) await rm(evidenceDir, { recursive: true, force: true });
      return code;
    },
  };
  return server;
}

export const bearer = (token: string): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

/** Collects the next `count` results of a subscription, failing after `timeoutMs`. */
export function subscribe<T>(client: Client, query: string, variables?: Record<string, unknown>) {
  const results: T[] = [];
  const errors: unknown[] = [];
  let wake: (() => void) | undefined;
  let complete!: () => void;
  const completed = new Promise<void>((resolve) => (complete = resolve));
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        if (result.data) results.push(result.data);
        wake?.();
      },
      error: (error) => {
        errors.push(error);
        wake?.();
      },
      complete: () => {
        complete();
        wake?.();
      },
    },
  );
  return {
    results,
    errors,
    dispose,
    /** Resolves when the server completes the operation. */
    completed,
    async next(count = 1, timeoutMs = 10_000): Promise<T[]> {
      const deadline = Date.now() + timeoutMs;
      while (results.length < count && errors.length === 0) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} subscription results (got ${results.length})`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
      if (errors.length) throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
      return results.slice(0, count);
    },
  };
}

/** What one operation gave: its root field's value, and its errors as message and code. */
export type Outcome = { data: unknown; errors: { message: string; code: unknown }[] };

/**
 * The first thing a subscription yields over graphql-ws: a result, or the
 * error that ends it. `poke` runs every 150 ms until then, for feeds that
 * only speak when something happens: a subscribe message has no
 * acknowledgement, so there is no moment after which one poke is enough.
 */
export function firstOutcome(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
  poke?: () => Promise<unknown>,
): Promise<Outcome> {
  return new Promise<Outcome>((resolve, reject) => {
    let settled = false;
    let dispose: (() => void) | undefined;
    const timer = setTimeout(() => finish(() => reject(new Error(`no result within 5 s for ${query}`))), 5_000);
    const poker = poke && setInterval(() => void poke().catch(reject), 150);
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poker);
      dispose?.();
      settle();
    };
    dispose = client.subscribe<Record<string, unknown>>(
      { query, variables },
      {
        next: (result) =>
          finish(() =>
            resolve({
              data: result.data ? Object.values(result.data)[0] : null,
              errors: (result.errors ?? []).map((error) => ({ message: error.message, code: error.extensions?.code })),
            }),
          ),
        error: (error) => finish(() => resolve({ data: null, errors: subscriptionErrors(error) })),
        complete: () => finish(() => resolve({ data: null, errors: [] })),
      },
    );
    if (settled) dispose();
  });
}

/** graphql-ws reports a refused operation as the server's error list, and a dropped socket as a close event. */
function subscriptionErrors(error: unknown): Outcome['errors'] {
  if (Array.isArray(error))
    return error.map((e: { message: string; extensions?: Record<string, unknown> }) => ({ message: e.message, code: e.extensions?.code }));
  if (error && typeof error === 'object' && 'code' in error && 'reason' in error)
    return [{ message: String(error.reason), code: `socket closed ${String(error.code)}` }];
  return [{ message: String(error), code: undefined }];
}

/**
 * Waits for every start, then throws the first failure. Assign in each
 * start's `then`: with `Promise.all`, one start failing leaves the others
 * unassigned, so `afterAll` cannot stop them and they outlive the test.
 */
export async function allStarted(...starts: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(starts)).find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

export type WorkerProcess = { pid: number; output: string[]; stop(): Promise<number | null> };

/** Starts `node src/worker.ts` (as `npm run worker` does) on a database, and waits until it takes jobs. */
export async function startWorkerProcess(databaseUrl: string, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const child = spawn(NODE, ['src/worker.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATABASE_URL: databaseUrl,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  await new Promise<void>((resolve, reject) => {
    const onLine = (line: string) => {
      output.push(line);
      if (line.includes('ScanOps worker running')) resolve();
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    void exited.then((code) => reject(new Error(`worker exited with ${code}:\n${output.join('\n')}`)));
  });
  return {
    pid: child.pid ?? 0,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
