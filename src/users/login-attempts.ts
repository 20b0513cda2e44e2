import type { EntityManager } from '@mikro-orm/postgresql';
import { LoginAttempt, type LoginOutcome } from './login-attempt.entity.ts';

export type FailureCounts = { byEmail: number; byIp: number; oldestByEmail: Date | null; oldestByIp: Date | null };

/** The named queries of the failed-login limits. */
export class LoginAttempts {
  readonly #em: EntityManager;

  constructor(em: EntityManager) {
    this.#em = em;
  }

  /** Failures (and attempts not yet known) since `since` for this email and from this address, and the oldest of each. */
  async failures(email: string, ip: string | null, since: Date): Promise<FailureCounts> {
    const [row] = await this.#em.execute<{ by_email: string; by_ip: string; oldest_email: Date | null; oldest_ip: Date | null }[]>(
      `select count(*) filter (where email = ?) as by_email, count(*) filter (where ip = ?) as by_ip,
              min(at) filter (where email = ?) as oldest_email, min(at) filter (where ip = ?) as oldest_ip
         from login_attempts where outcome in ('PENDING', 'FAILED') and at > ? and (email = ? or ip = ?)`,
      [email, ip, email, ip, since, email, ip],
    );
    return {
      byEmail: Number(row?.by_email ?? 0),
      byIp: ip ? Number(row?.by_ip ?? 0) : 0,
      oldestByEmail: row?.oldest_email ? new Date(row.oldest_email) : null,
      oldestByIp: row?.oldest_ip ? new Date(row.oldest_ip) : null,
    };
  }

  /** Whether a lockout of this email (or of this address) began since `since`: one record per lockout is enough. */
  async lockedOutSince(key: { email: string } | { ip: string | null }, since: Date): Promise<boolean> {
    const [column, value] = 'email' in key ? ['email', key.email] : ['ip', key.ip];
    const rows = await this.#em.execute<unknown[]>(
      `select 1 from login_attempts where outcome = 'LOCKED_OUT' and ${column} is not distinct from ? and at > ? limit 1`,
      [value, since],
    );
    return rows.length > 0;
  }

  /** Writes an attempt down; `PENDING` counts as a failure until `settle` says otherwise. */
  record(email: string, ip: string | null, at: Date, outcome: LoginOutcome): Promise<string> {
    return this.#em.insert(LoginAttempt, { email, ip, at, outcome });
  }

  async settle(id: string, outcome: 'FAILED' | 'SUCCEEDED'): Promise<void> {
    await this.#em.nativeUpdate(LoginAttempt, { id }, { outcome });
  }

  /** Drops what no window can count any more, for this email and address. */
  async forget(email: string, ip: string | null, before: Date): Promise<void> {
    await this.#em.execute('delete from login_attempts where at < ? and (email = ? or ip = ?)', [before, email, ip]);
  }
}
