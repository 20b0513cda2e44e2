import { PgBoss } from 'pg-boss';
import type { Logger } from './logger.ts';

/** A queue's own settings: how often a job is tried, how long it may run. */
export type JobDef<J, N extends keyof J = keyof J> = {
  name: N & string;
  /** Attempts after the first before a job fails for good. @default 2 */
  retryLimit?: number;
  /** Seconds between attempts. @default 1 */
  retryDelay?: number;
  /**
   * A job whose worker stops sending heartbeats for this long (a crash, a
   * `kill -9`) is handed to another worker. pg-boss's minimum is 10; fixed
   * once the queue exists. @default 10
   */
  heartbeatSeconds?: number;
  /** Longest a job may run before it counts as failed. @default 3600 */
  expireInSeconds?: number;
};

/** The port services use to queue work; pg-boss on the same PostgreSQL behind it. `J`: queue names and their payloads. */
export type JobQueue<J> = {
  send<N extends keyof J & string>(name: N, data: J[N]): Promise<void>;
  /** Whether a job of `name` with this payload waits, or runs, now. */
  isPending<N extends keyof J & string>(name: N, data: J[N]): Promise<boolean>;
};

/** Why a job was given up: its last error, and how many times it was tried. */
export type JobFailure = { reason: string; attempts: number };

export type JobContext = { attempt: number; lastAttempt: boolean; signal: AbortSignal };
export type JobHandler<T> = (data: T, context: JobContext) => Promise<void>;

export type JobRunner<J> = JobQueue<J> & {
  /** Settings for a queue named at run time (one per capture sensor, say); declared ones come with `queues`. */
  declare<N extends keyof J & string>(def: JobDef<J, N>): void;
  /**
   * Runs `handler` for each job of `name`, `concurrency` at a time; a throw
   * retries the job. `signal` aborts when this process stops: the handler
   * should stop and throw, leaving the job to be retried elsewhere.
   */
  work<N extends keyof J & string>(name: N, concurrency: number, handler: JobHandler<J[N]>): Promise<void>;
  /**
   * Runs `handler` once for each job of `name` given up for good: every
   * attempt failed, or the worker of the last one died. pg-boss moves such a
   * job to a dead-letter queue, so this holds even when no handler got to run.
   */
  onGivenUp<N extends keyof J & string>(name: N, handler: (data: J[N], failure: JobFailure) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
};

export type JobQueueOptions<J> = {
  url: string;
  logger: Logger;
  /** Every queue known at start, with its settings; `prefix.*` declares a family of queues named at run time. */
  queues: readonly JobDef<J>[];
};

/**
 * pg-boss: durable, retried jobs in PostgreSQL, so any number of workers on
 * any machines sharing the database take part, and a job survives its worker.
 */
export async function createJobRunner<J>({ url, logger, queues }: JobQueueOptions<J>): Promise<JobRunner<J>> {
  // Supervision every few seconds: a job whose heartbeat stopped is retried soon, not minutes later.
  const boss = new PgBoss({ connectionString: url, max: 4, schema: 'pgboss', superviseIntervalSeconds: 5, monitorIntervalSeconds: 5 });
  boss.on('error', (error) => logger.error({ err: error }, 'job queue error'));
  await boss.start();
  const defs = new Map<string, JobDef<J>>(queues.map((def) => [def.name, def]));
  const optionsOf = (name: string) => {
    const def = defs.get(name) ?? familyOf(defs, name);
    if (!def) throw new Error(`No job queue "${name}" was declared.`);
    return {
      retryLimit: def.retryLimit ?? 2,
      retryDelay: def.retryDelay ?? 1,
      heartbeatSeconds: def.heartbeatSeconds ?? 10,
      expireInSeconds: def.expireInSeconds ?? 3_600,
    };
  };
  const ensured = new Map<string, Promise<void>>();
  const stopping = new AbortController();
  const createQueue = async (name: string, options: ReturnType<typeof optionsOf> & { deadLetter?: string }) => {
    // Several processes may race to create it; the loser finds it there.
    if (!(await boss.getQueue(name))) {
      await boss.createQueue(name, options).catch(async (error: unknown) => {
        if (!(await boss.getQueue(name))) throw error;
      });
    }
    // A queue made by an older version, or under other settings, gets this process's.
    const { heartbeatSeconds: _fixedAtCreation, ...changeable } = options;
    await boss.updateQueue(name, changeable);
  };
  /** Each job queue comes with its dead-letter queue, which must exist first. */
  const ensureQueue = (name: string) => {
    let ready = ensured.get(name);
    if (!ready) {
      const options = optionsOf(name);
      ready = createQueue(deadLetterOf(name), options).then(() => createQueue(name, { ...options, deadLetter: deadLetterOf(name) }));
      ready.catch(() => ensured.delete(name));
      ensured.set(name, ready);
    }
    return ready;
  };
  return {
    declare(def) {
      defs.set(def.name, def as JobDef<J>);
    },
    async send(name, data) {
      await ensureQueue(name);
      await boss.send(name, data as object);
    },
    async isPending(name, data) {
      await ensureQueue(name);
      const jobs = await boss.findJobs(name, { data: data as object });
      return jobs.some((job) => job.state === 'created' || job.state === 'retry' || job.state === 'active');
    },
    async onGivenUp(name, handler) {
      await ensureQueue(name);
      await boss.work(deadLetterOf(name), { batchSize: 1, pollingIntervalSeconds: 1, includeMetadata: true }, async ([job]) => {
        if (!job) return;
        await handler(job.data as J[typeof name], {
          reason: reasonOf(job.sourceOutput),
          attempts: (job.sourceRetryCount ?? optionsOf(name).retryLimit) + 1,
        });
      });
    },
    async work(name, concurrency, handler) {
      await ensureQueue(name);
      const { retryLimit } = optionsOf(name);
      await boss.work<J[typeof name]>(
        name,
        { batchSize: 1, localConcurrency: concurrency, pollingIntervalSeconds: 1, includeMetadata: true },
        async ([job]) => {
          if (!job) return;
          const attempt = job.retryCount;
          await handler(job.data, { attempt, lastAttempt: attempt >= retryLimit, signal: stopping.signal });
        },
      );
    },
    async stop() {
      stopping.abort();
      await boss.stop({ graceful: true, timeout: 10_000 });
    },
  };
}

const deadLetterOf = (name: string) => `${name}.given-up`;

/** A family of queues named at run time (one per capture sensor) is declared once, as `prefix.*`. */
function familyOf<D>(defs: ReadonlyMap<string, D>, name: string): D | undefined {
  for (const [pattern, def] of defs) if (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -1))) return def;
  return undefined;
}

/** pg-boss keeps a thrown error's fields, or its own `{ value: { message } }` for a timeout. */
function reasonOf(output: object | null): string {
  const record = (output ?? {}) as { message?: unknown; value?: { message?: unknown } };
  const message = record.message ?? record.value?.message;
  return typeof message === 'string' && message ? message : 'unknown error';
}
