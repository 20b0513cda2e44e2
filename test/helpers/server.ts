import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createClient, type Client } from 'graphql-ws';
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
  /** POSTs a GraphQL request as curl would. */
  graphql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResponse<T>>;
  /** POSTs a raw body. */
  post(body: string, headers?: Record<string, string>): Promise<{ status: number; body: unknown }>;
  wsClient(): Client;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
};

export type StartOptions = {
  env?: Record<string, string>;
  /** Use this database instead of a fresh one (which is dropped on stop). `null`: no DATABASE_URL, so the embedded server. */
  databaseUrl?: string | null;
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
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'info',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...options.env,
  };
  const child = spawn(NODE, ['src/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
    throw error;
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return serverProcess(child, url, output, exited, database);
}

function serverProcess(child: ChildProcess, url: string, output: string[], exited: Promise<number | null>, database?: TestDatabase): ServerProcess {
  const wsUrl = url.replace(/^http/, 'ws');
  const clients: Client[] = [];
  return {
    url,
    wsUrl,
    pid: child.pid ?? 0,
    output,
    async graphql<T>(query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, headers: response.headers, body: await response.json() as GraphQLResponse<T>['body'] };
    },
    async post(body, headers = {}) {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      return { status: response.status, body: await response.json() };
    },
    wsClient() {
      const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.map((client) => client.dispose()));
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      await database?.drop();
      return code;
    },
  };
}

/** Collects the next `count` results of a subscription, failing after `timeoutMs`. */
export function subscribe<T>(client: Client, query: string, variables?: Record<string, unknown>) {
  const results: T[] = [];
  const errors: unknown[] = [];
  let wake: (() => void) | undefined;
  let complete!: () => void;
  const completed = new Promise<void>((resolve) => (complete = resolve));
  const dispose = client.subscribe<T>({ query, variables }, {
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
  });
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

export type WorkerProcess = { pid: number; output: string[]; stop(): Promise<number | null> };

/** Starts `node src/worker.ts` (as `npm run worker` does) on a database, and waits until it takes jobs. */
export async function startWorkerProcess(databaseUrl: string, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const child = spawn(NODE, ['src/worker.ts'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', DATABASE_URL: databaseUrl, ...env },
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
