import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { useHardening } from './hardening.ts';
import { loadTypeDefs } from './schema.ts';

const deep = `{ viewer { ${'apiTokens { nodes { user { '.repeat(4)}id${' } } }'.repeat(4)} } }`;
const tooManyTokens = `{ ${'__typename '.repeat(2_100)}}`;

describe("armor's limits", () => {
  it('are checked once per query, however many requests send it: yoga parses (counting tokens) and validates (depth, aliases, directives) it once', async () => {
    const counts = { parses: 0, validations: 0 };
    // After the hardening plugins, so the parse counted is armor's, which counts tokens; yoga's cache runs after every plugin.
    const counting: Plugin = {
      onParse({ parseFn, setParseFn }) {
        setParseFn((source, options) => {
          counts.parses += 1;
          return parseFn(source, options);
        });
      },
      onValidate({ validateFn, setValidationFn }) {
        setValidationFn((...args) => {
          counts.validations += 1;
          return validateFn(...args);
        });
      },
    };
    const yoga = createYoga({
      schema: createSchema({ typeDefs: loadTypeDefs() }),
      plugins: [...useHardening(loadConfig({ NODE_ENV: 'production' })), counting],
      logging: false,
    });
    const codeOf = async (query: string) => {
      const response = await yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query }),
      });
      const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
      return body.errors?.[0]?.extensions?.code;
    };

    const codes = [];
    for (const query of ['{ __typename }', deep, tooManyTokens]) for (let i = 0; i < 3; i++) codes.push(await codeOf(query));

    expect(codes).toEqual([undefined, undefined, undefined, ...Array(3).fill('QUERY_TOO_DEEP'), ...Array(3).fill('TOO_MANY_TOKENS')]);
    // A document refused by the parser is never validated.
    expect(counts).toEqual({ parses: 3, validations: 2 });
  });
});
