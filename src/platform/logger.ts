import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * JSON logs on stdout; pretty ones only when asked (development at a
 * terminal), as pino-pretty is a dev dependency that production lacks.
 */
export function createLogger(level: string, pretty = false): Logger {
  return pino({
    level,
    base: { service: 'scanops' },
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } } }
      : {}),
  });
}

/** `url` fit for a log line: its password, if any, replaced by `***`. */
export function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
