import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.ts';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError, RateLimitedError, UnauthenticatedError } from '../errors.ts';
import { internalError, toCodedError } from './errors.ts';
import { createGraphQLServer, type GraphQLServer } from './server.ts';

const logs: Record<string, unknown>[] = [];
let app: TestApp;
let server: GraphQLServer;
let url: string;
let token: string;

beforeAll(async () => {
  const sink = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      logs.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  app = await createTestApp({}, { logger: pino({ level: 'error' }, sink) });
  token = await app.tokenFor();
  server = createGraphQLServer(app.server);
  url = `http://127.0.0.1:${(await server.listen(0, '127.0.0.1')).port}/graphql`;
});

afterAll(async () => {
  await server.close();
  await app.dispose();
});

describe('unexpected errors', () => {
  it('are masked as INTERNAL_SERVER_ERROR with the request id, and logged with their stack', async () => {
    // Break the database under the running server: the next query fails in the driver.
    await app.orm.em.getConnection().execute('alter table scans rename to scans_gone');
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-broken-1', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ scans { totalCount } }' }),
      });
      const body = (await response.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
      expect(body.errors).toEqual([
        expect.objectContaining({
          message: 'Unexpected error.',
          path: ['scans'],
          extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-broken-1' },
        }),
      ]);
      expect(JSON.stringify(body)).not.toMatch(/scans_gone|relation|select/i);
      const logged = logs.find((entry) => entry.requestId === 'req-broken-1');
      expect(logged).toMatchObject({ msg: 'unexpected error', err: { stack: expect.stringMatching(/relation "scans" does not exist/) } });
    } finally {
      await app.orm.em.getConnection().execute('alter table scans_gone rename to scans');
    }
    const healthy = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ scans { totalCount } }' }),
    });
    expect(await healthy.json()).toEqual({ data: { scans: { totalCount: 0 } } });
  });
});

describe('toCodedError', () => {
  it.each([
    [new InvalidInputError('targets', 'No targets.'), { code: 'BAD_USER_INPUT', field: 'targets' }],
    [new NotFoundError('Scan not found.'), { code: 'NOT_FOUND' }],
    [new UnauthenticatedError('Log in first.'), { code: 'UNAUTHENTICATED' }],
    [new ForbiddenError('No.'), { code: 'FORBIDDEN' }],
    [new ConflictError('Already running.'), { code: 'CONFLICT' }],
    [new RateLimitedError('Slow down.', 7), { code: 'RATE_LIMITED', retryAfterSeconds: 7 }],
  ])('gives %s its code from the one table', (error, extensions) => {
    const coded = toCodedError(error);
    expect(coded.message).toBe(error.message);
    expect(coded.extensions).toEqual(extensions);
  });

  it('masks an unexpected error down to its request id', () => {
    expect(internalError('req-1').toJSON()).toEqual({
      message: 'Unexpected error.',
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-1' },
    });
    expect(internalError(undefined).extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
  });
});
