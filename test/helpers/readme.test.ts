import { describe, expect, it } from 'vitest';
import { shapeMismatch, shellSteps } from './readme.ts';

const id = (uuid: string) => Buffer.from(`Scan:${uuid}`).toString('base64url');

describe('the README session reader', () => {
  it('takes commands with their continuation lines, and the output under each', () => {
    const steps = shellSteps(
      ['text', '```sh', '$ curl a \\', '  -d b', '{"x":1}', '$ A=$(b)', '```', '```sh', 'npm start', '```'].join('\n'),
    );
    expect(steps).toEqual([
      { command: 'curl a \\\n  -d b', expected: '{"x":1}', line: 3 },
      { command: 'A=$(b)', expected: '', line: 6 },
    ]);
  });

  it('matches what varies from run to run: ids, cursors, times, numbers, text cut with …', () => {
    const shown = `{"data":{"scan":{"id":"${id('a38fb549-3bc6-401e-a0ac-83c3923b32d7')}","at":"2026-12-01T09:32:13.206Z","rate":4.5,"token":"eyJ…","nodes":[{"port":1}]}}}`;
    const got = `{"data":{"scan":{"id":"${id('0b1e1c2a-0000-4000-8000-000000000000')}","at":"2027-01-02T00:00:00.000Z","rate":99,"token":"eyJhbGci","nodes":[{"port":2},{"port":3}]}}}`;
    expect(shapeMismatch(shown, got)).toBeUndefined();
  });

  it.each([
    ['a changed message', '{"errors":[{"message":"Scan not found."}]}', '{"errors":[{"message":"Not found."}]}'],
    ['a missing key', '{"data":{"a":1,"b":2}}', '{"data":{"a":1}}'],
    ['an empty list for a full one', '{"nodes":[{"a":1}]}', '{"nodes":[]}'],
    [
      'another kind of ID',
      `{"id":"${id('a38fb549-3bc6-401e-a0ac-83c3923b32d7')}"}`,
      `{"id":"${Buffer.from('User:a38fb549-3bc6-401e-a0ac-83c3923b32d7').toString('base64url')}"}`,
    ],
    ['another status code', '{"errors":[]} HTTP 400', '{"errors":[]} HTTP 200'],
    ['null for a value', '{"scan":null}', '{"scan":{"id":"x"}}'],
    ['other plain text', 'hello', 'goodbye'],
  ])('tells %s', (_, shown, got) => {
    expect(shapeMismatch(shown, got)).toBeDefined();
  });
});
