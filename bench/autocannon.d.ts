// autocannon ships no types; only what bench/api.ts uses.
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  type Options = {
    url: string;
    method?: 'GET' | 'POST';
    headers?: Record<string, string>;
    body?: string;
    connections?: number;
    /** Seconds. */
    duration?: number;
    /** A run before the measured one whose figures are discarded. */
    warmup?: { connections?: number; duration?: number };
    /** A response whose body this refuses counts as a mismatch. */
    verifyBody?: (body: string) => boolean;
  };

  type Result = {
    /** Responses per second, sampled once a second. */
    requests: { average: number; total: number };
    /** Connection errors, timeouts included. */
    errors: number;
    timeouts: number;
    non2xx: number;
    /** Responses refused by `verifyBody`. */
    mismatches: number;
  };

  type Instance = EventEmitter<{
    /** `responseTime` in milliseconds. */
    response: [client: unknown, statusCode: number, bytes: number, responseTime: number];
    /** A connection error or timeout. */
    reqError: [error: Error];
  }> &
    PromiseLike<Result>;

  function autocannon(options: Options): Instance;
  export default autocannon;
}
