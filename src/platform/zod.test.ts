import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InvalidInputError } from '../errors.ts';
import { fieldOf, parseWith } from './zod.ts';

const refusal = (run: () => unknown): InvalidInputError => {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error('nothing was refused');
};

const limits = z.object({
  size: z.int({ error: 'size must be an integer' }).min(1, { error: 'size must be at least 1' }),
  name: z.string({ error: 'name must be text' }),
  tags: z.array(z.string({ error: 'each tag must be text' })).optional(),
  inner: z.object({ depth: z.int({ error: 'depth must be an integer' }) }).optional(),
});

describe('parseWith', () => {
  it('returns what the schema outputs, transforms and defaults applied', () => {
    const schema = z.object({ n: z.int().default(3), s: z.string().transform((text) => text.trim()) });
    expect(parseWith(schema, { s: '  x ' })).toEqual({ n: 3, s: 'x' });
  });

  it('drops keys the schema does not know, as zod objects do', () => {
    expect(parseWith(limits, { size: 2, name: 'a', extra: true })).toEqual({ size: 2, name: 'a' });
  });

  it('throws InvalidInputError naming the field under the prefix, with the schema message', () => {
    const error = refusal(() => parseWith(limits, { size: 0, name: 'a' }, 'options'));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({ field: 'options.size', message: 'size must be at least 1' });
  });

  it('reports a value of the wrong type with the same message', () => {
    expect(refusal(() => parseWith(limits, { size: 'big', name: 'a' }, 'options'))).toMatchObject({
      field: 'options.size',
      message: 'size must be an integer',
    });
    expect(refusal(() => parseWith(limits, { size: 1.5, name: 'a' }, 'options'))).toMatchObject({
      field: 'options.size',
      message: 'size must be an integer',
    });
  });

  it('reports only the first issue, in the order of the shape', () => {
    expect(refusal(() => parseWith(limits, { name: 7, size: 0 }, 'options')).field).toBe('options.size');
    expect(refusal(() => parseWith(limits, { size: 1, name: 7 }, 'options')).field).toBe('options.name');
  });

  it('names nested fields and array items by their path', () => {
    expect(refusal(() => parseWith(limits, { size: 1, name: 'a', inner: { depth: 'x' } }, 'input'))).toMatchObject({
      field: 'input.inner.depth',
      message: 'depth must be an integer',
    });
    expect(refusal(() => parseWith(limits, { size: 1, name: 'a', tags: ['a', 'b', 3] }, 'input'))).toMatchObject({
      field: 'input.tags.2',
      message: 'each tag must be text',
    });
  });

  it('names the path alone without a prefix', () => {
    expect(refusal(() => parseWith(limits, { size: 0, name: 'a' })).field).toBe('size');
  });

  it('names the prefix itself when the input as a whole is refused', () => {
    expect(refusal(() => parseWith(limits, null, 'options')).field).toBe('options');
    expect(refusal(() => parseWith(z.email({ error: 'Give an email address.' }), 'nope', 'email'))).toMatchObject({
      field: 'email',
      message: 'Give an email address.',
    });
  });

  it("keeps zod's own message where the schema gives none", () => {
    expect(refusal(() => parseWith(z.object({ n: z.number() }), { n: 'x' }, 'input')).message).toMatch(/expected number/);
  });
});

describe('fieldOf', () => {
  it('joins a prefix and a path with dots', () => {
    expect(fieldOf('options', ['concurrency'])).toBe('options.concurrency');
    expect(fieldOf('', ['a', 0, 'b'])).toBe('a.0.b');
    expect(fieldOf('targets', [])).toBe('targets');
    expect(fieldOf('', [])).toBe('');
  });
});
