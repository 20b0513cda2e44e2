import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Logger } from './logger.ts';

/** What a listener's users see of it: its notifications, and whether none can be missed right now. */
export type ChangeChannel = {
  /**
   * `true` while LISTEN holds on a live connection: every notification sent
   * from now on reaches `onNotification`. `false` before the first LISTEN,
   * after the connection is lost, and once closed; whatever was sent meanwhile
   * is gone.
   */
  readonly healthy: boolean;
  /** Calls `handler` with each notification's payload (`''` when it has none). Returns the unsubscribe. */
  onNotification(handler: (payload: string) => void): () => void;
  /** Calls `handler` each time `healthy` changes. Returns the unsubscribe. */
  onHealthChange(handler: (healthy: boolean) => void): () => void;
};

export type PgListenerOptions = {
  /** The database's URL: the one the ORM connects to (the embedded server's included). */
  url: string;
  /** Lower case letters, digits and underscores, at most 40: the name needs no quoting beyond its quotes. */
  channel: string;
  logger: Logger;
  /**
   * How often the connection proves it still hears notifications, and how
   * long each proof may take: a connection that died without a word is
   * noticed within twice this.
   * @default 5_000
   */
  heartbeatMs?: number;
};

const CHANNEL = /^[a-z_][a-z0-9_]{0,39}$/;

/**
 * PostgreSQL LISTEN on one channel, over a connection of its own: LISTEN
 * belongs to a session, so a pooled connection, handed to others between
 * queries, cannot hold it. Every process on the database hears every NOTIFY
 * sent after its LISTEN, whichever process sent it.
 *
 * Healthy means proven: after LISTEN, and then every `heartbeatMs`, the
 * connection sends a notification to a channel of its own and must hear it
 * back in time. That catches a connection that died silently, and a proxy
 * that pools by transaction (where LISTEN seems to work and hears nothing).
 * A lost connection (an error, its end, a heartbeat unanswered) makes the
 * channel unhealthy at once, and it is connected again with backoff (100 ms
 * doubling, at most 5 s); notifications sent meanwhile are lost, which is why
 * users watch `healthy`.
 */
export class PgListener implements ChangeChannel {
  readonly #url: string;
  readonly #channel: string;
  /** Heartbeats go here: this process's alone, so no other process's answer can prove this connection. */
  readonly #beats: string;
  readonly #logger: Logger;
  readonly #heartbeatMs: number;
  readonly #notified = new Set<(payload: string) => void>();
  readonly #healthChanged = new Set<(healthy: boolean) => void>();
  #healthy = false;
  #client: pg.Client | undefined;
  #retry: NodeJS.Timeout | undefined;
  #attempts = 0;
  /** An outage is reported once, when it begins; `false` again once the channel is healthy. */
  #reported = false;
  #closed = false;

  constructor({ url, channel, logger, heartbeatMs = 5_000 }: PgListenerOptions) {
    if (!CHANNEL.test(channel)) throw new Error(`Not a simple channel name: ${channel}`);
    this.#url = url;
    this.#channel = channel;
    this.#beats = `${channel}_beat_${randomBytes(8).toString('hex')}`;
    this.#logger = logger.child({ channel });
    this.#heartbeatMs = heartbeatMs;
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  onNotification(handler: (payload: string) => void): () => void {
    this.#notified.add(handler);
    return () => this.#notified.delete(handler);
  }

  onHealthChange(handler: (healthy: boolean) => void): () => void {
    this.#healthChanged.add(handler);
    return () => this.#healthChanged.delete(handler);
  }

  /** Connects and LISTENs; resolves once the first attempt has succeeded or failed (later ones go on in the background). */
  start(): Promise<void> {
    return this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    this.#setHealthy(false);
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({
      connectionString: this.#url,
      application_name: `scanops listen ${this.#channel}`,
      keepAlive: true,
      connectionTimeoutMillis: this.#heartbeatMs,
      query_timeout: this.#heartbeatMs,
    });
    this.#client = client;
    let timer: NodeJS.Timeout | undefined;
    let beats = 0;
    let answer: ((beat: string) => void) | undefined;
    let lost = false;
    const lose = (error?: Error) => {
      if (lost) return;
      lost = true;
      clearTimeout(timer);
      if (this.#client === client) this.#client = undefined;
      // Not awaited: on a connection that died silently, the goodbye may never be answered.
      client.end().catch(() => {});
      if (this.#closed) return;
      this.#report(error);
      this.#setHealthy(false);
      this.#retry = setTimeout(() => void this.#connect(), Math.min(100 * 2 ** this.#attempts++, 5_000));
      this.#retry.unref();
    };
    /** Resolves once this connection heard its own notification back; rejects when it did not in time. */
    const beat = async () => {
      const expected = String(++beats);
      const heard = new Promise<void>((resolve, reject) => {
        const late = setTimeout(() => reject(new Error('a heartbeat went unanswered')), this.#heartbeatMs);
        answer = (payload) => {
          if (payload !== expected) return;
          clearTimeout(late);
          resolve();
        };
      });
      heard.catch(() => {});
      await client.query('select pg_notify($1, $2)', [this.#beats, expected]);
      await heard;
    };
    client.on('error', lose);
    client.on('end', () => lose(new Error('the connection ended')));
    client.on('notification', ({ channel, payload = '' }) => {
      if (channel === this.#beats) answer?.(payload);
      else if (channel === this.#channel) this.#deliver(payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.#channel}"`);
      await client.query(`LISTEN "${this.#beats}"`);
      await beat();
    } catch (error) {
      lose(error as Error);
      return;
    }
    if (lost) return;
    if (this.#closed) return void client.end().catch(() => {});
    const next = () => {
      timer = setTimeout(() => beat().then(next, lose), this.#heartbeatMs);
      timer.unref();
    };
    next();
    this.#attempts = 0;
    if (this.#reported) this.#logger.info(`LISTEN ${this.#channel} holds again`);
    this.#reported = false;
    this.#setHealthy(true);
  }

  #deliver(payload: string): void {
    for (const handler of this.#notified) {
      // Thrown inside pg's socket handler, an error would end the process.
      try {
        handler(payload);
      } catch (error) {
        this.#logger.error({ err: error }, 'a notification handler failed');
      }
    }
  }

  #report(error: Error | undefined): void {
    if (this.#reported) return;
    this.#reported = true;
    this.#logger.warn(
      { reason: error?.message },
      `LISTEN ${this.#channel} lost or refused (${error?.message ?? 'no reason given'}); connecting again with backoff`,
    );
  }

  #setHealthy(healthy: boolean): void {
    if (this.#healthy === healthy) return;
    this.#healthy = healthy;
    for (const handler of this.#healthChanged) {
      try {
        handler(healthy);
      } catch (error) {
        this.#logger.error({ err: error }, 'a health handler failed');
      }
    }
  }
}
