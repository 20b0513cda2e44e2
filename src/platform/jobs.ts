import { PgBoss } from 'pg-boss';
import type { Logger } from './logger.ts';

/** Every job and its payload (plain JSON). */
export type JobPayloads = {
  'scan.run': { scanId: string };
};
export type JobName = keyof JobPayloads;

/** The port services use to queue work; pg-boss on the same PostgreSQL behind it. */
export type JobQueue = {
  send<N extends JobName>(name: N, data: JobPayloads[N]): Promise<void>;
  /** Whether a job of `name` with this payload waits, or runs, now. */
  isPending<N extends JobName>(name: N, data: JobPayloads[N]): Promise<boolean>;
};

/** Why a job was given up: its last error, and how many times it was tried. */
export type JobFailure = { reason: string; attempts: number };

export type JobRunner = JobQueue & {
  /**
   * Runs `handler` for each job of `name`, `concurrency` at a time; a throw
   * retries the job. `signal` aborts when this process stops: the handler
   * should stop and throw, leaving the job to be retried elsewhere.
   */
  work<N extends JobName>(name: N, concurrency: number, handler: JobHandler<N>): Promise<void>;
  /**
   * Runs `handler` once for each job of `name` given up for good: every
   * attempt failed, or the worker of the last one died. pg-boss moves such a
   * job to a dead-letter queue, so this holds even when no handler got to run.
   */
  onGivenUp<N extends JobName>(name: N, handler: (data: JobPayloads[N], failure: JobFailure) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
};

export type JobHandler<N extends JobName> = (data: JobPayloads[N], context: { attempt: number; lastAttempt: boolean; signal: AbortSignal }) => Promise<void>;

export type JobQueueOptions = {
  url: string;
  logger: Logger;
  /** Attempts after the first before a job fails for good. @default 2 */
  retryLimit?: number;
  /**
   * A job whose worker stops sending heartbeats for this long (a crash, a
   * `kill -9`) is handed to another worker. pg-boss's minimum is 10. @default 10
   */
  heartbeatSeconds?: number;
};

/**
 * pg-boss: durable, retried jobs in PostgreSQL, so any number of workers on
 * any machines sharing the database take part, and a job survives its worker.
 */
export async function createJobRunner({ url, logger, retryLimit = 2, heartbeatSeconds = 10 }: JobQueueOptions): Promise<JobRunner> {
  // Supervision every few seconds: a job whose heartbeat stopped is retried soon, not minutes later.
  const boss = new PgBoss({ connectionString: url, max: 4, schema: 'pgboss', superviseIntervalSeconds: 5, monitorIntervalSeconds: 5 });
  boss.on('error', (error) => logger.error({ err: error }, 'job queue error'));
  await boss.start();
  const queueOptions = { retryLimit, retryDelay: 1, heartbeatSeconds, expireInSeconds: 6 * 60 * 60 };
  const ensured = new Map<string, Promise<void>>();
  const stopping = new AbortController();
  const createQueue = async (name: string, options: typeof queueOptions & { deadLetter?: string }) => {
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
      ready = createQueue(deadLetterOf(name), queueOptions).then(() => createQueue(name, { ...queueOptions, deadLetter: deadLetterOf(name) }));
      ready.catch(() => ensured.delete(name));
      ensured.set(name, ready);
    }
    return ready;
  };
  return {
    async send(name, data) {
      await ensureQueue(name);
      await boss.send(name, data);
    },
    async isPending(name, data) {
      await ensureQueue(name);
      const jobs = await boss.findJobs(name, { data });
      return jobs.some((job) => job.state === 'created' || job.state === 'retry' || job.state === 'active');
    },
    async onGivenUp(name, handler) {
      await ensureQueue(name);
      await boss.work(deadLetterOf(name), { batchSize: 1, pollingIntervalSeconds: 1, includeMetadata: true }, async ([job]) => {
        if (!job) return;
        await handler(job.data as JobPayloads[typeof name], { reason: reasonOf(job.sourceOutput), attempts: (job.sourceRetryCount ?? retryLimit) + 1 });
      });
    },
    async work(name, concurrency, handler) {
      await ensureQueue(name);
      await boss.work<JobPayloads[typeof name]>(name, { batchSize: 1, localConcurrency: concurrency, pollingIntervalSeconds: 1, includeMetadata: true }, async ([job]) => {
        if (!job) return;
        const attempt = job.retryCount;
        await handler(job.data, { attempt, lastAttempt: attempt >= retryLimit, signal: stopping.signal });
      });
    },
    async stop() {
      stopping.abort();
      await boss.stop({ graceful: true, timeout: 10_000 });
    },
  };
}

const deadLetterOf = (name: string) => `${name}.given-up`;

/** pg-boss keeps a thrown error's fields, or its own `{ value: { message } }` for a timeout. */
function reasonOf(output: object | null): string {
  const record = (output ?? {}) as { message?: unknown; value?: { message?: unknown } };
  const message = record.message ?? record.value?.message;
  return typeof message === 'string' && message ? message : 'unknown error';
}
