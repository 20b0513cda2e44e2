import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import { encodeCursor, parsePage, toConnection } from './pagination.ts';

describe('parsePage', () => {
  it('defaults to 20 forward', () => {
    expect(parsePage({})).toEqual({ direction: 'forward', size: 20, cursor: undefined });
  });

  it('reads cursors and directions', () => {
    const cursor = encodeCursor(['createdAt', '2026-11-23T10:00:00.000Z', 'x']);
    expect(parsePage({ first: 5, after: cursor })).toEqual({
      direction: 'forward',
      size: 5,
      cursor: ['createdAt', '2026-11-23T10:00:00.000Z', 'x'],
    });
    expect(parsePage({ last: 0, before: cursor }).direction).toBe('backward');
    expect(parsePage({ before: cursor })).toMatchObject({ direction: 'backward', size: 20 });
  });

  it('encodes cursors as base64url of a JSON array, so those the README shows still read', () => {
    const values = ['createdAt', '2026-12-01T09:32:13.507Z', '24b7b0a3-844b-4043-8fc9-fd082eb0d404'];
    const readme = 'WyJjcmVhdGVkQXQiLCIyMDI2LTEyLTAxVDA5OjMyOjEzLjUwN1oiLCIyNGI3YjBhMy04NDRiLTQwNDMtOGZjOS1mZDA4MmViMGQ0MDQiXQ';
    expect(encodeCursor(values)).toBe(readme);
    expect(parsePage({ first: 1, after: readme }).cursor).toEqual(values);
  });

  it.each([
    [{ first: 101 }, 'first'],
    [{ first: -1 }, 'first'],
    [{ last: 101 }, 'last'],
    [{ first: 1, last: 1 }, 'last'],
    [{ after: 'a', before: 'b' }, 'before'],
    [{ last: 1, after: encodeCursor([]) }, 'after'],
    [{ first: 1, before: encodeCursor([]) }, 'before'],
    [{ after: '!!!' }, 'after'],
    [{ after: encodeCursor({ not: 'an array' } as never) }, 'after'],
  ])('refuses %j naming %s', (args, field) => {
    try {
      parsePage(args);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).field).toBe(field);
    }
  });
});

describe('toConnection', () => {
  const cursorOf = (n: number) => [n];
  const count = async () => 42;

  it('uses the extra row only to tell that a next page exists', async () => {
    const connection = toConnection([1, 2, 3], { direction: 'forward', size: 2, cursor: undefined }, cursorOf, count);
    expect(connection.edges.map((e) => e.node)).toEqual([1, 2]);
    expect(connection.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: encodeCursor([1]),
      endCursor: encodeCursor([2]),
    });
    expect(await connection.totalCount()).toBe(42);
  });

  it('puts a backward page back in list order', () => {
    const connection = toConnection([9, 8, 7], { direction: 'backward', size: 2, cursor: [10] }, cursorOf, count);
    expect(connection.edges.map((e) => e.node)).toEqual([8, 9]);
    expect(connection.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
  });

  it('has null cursors on an empty page', () => {
    const connection = toConnection([], { direction: 'forward', size: 0, cursor: undefined }, cursorOf, count);
    expect(connection.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null });
  });
});
