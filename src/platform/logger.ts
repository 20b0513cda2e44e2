import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout; pretty ones when a person is watching a terminal in development. */
export function createLogger(level: string, pretty = process.stdout.isTTY): Logger {
  return pino({
    level,
    base: { service: 'scanops' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } } } : {}),
  });
}
