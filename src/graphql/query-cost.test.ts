import { buildSchema, type GraphQLObjectType, parse } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { MAX_QUERY_COST, queryCost, useQueryCost } from './query-cost.ts';
import { loadTypeDefs } from './schema.ts';

const schema = buildSchema(loadTypeDefs().join('\n'));
const costOf = (query: string, variables?: Record<string, unknown>, operationName?: string) =>
  queryCost(schema, parse(query), operationName, variables);

const DASHBOARD = `{ scans(first: 100) { nodes { id status createdAt summary { open closed filtered total }
  results(first: 10) { totalCount nodes { port state address protocol service } } } } }`;
const BOMB = 'query($n: Int) { scans(first: $n) { nodes { hosts(first: $n) { nodes { results(first: $n) { nodes { port } } } } } } }';

describe('queryCost', () => {
  it("lets the dashboard's page of 100 scans with their first 10 results through, with room to spare", () => {
    const cost = costOf(DASHBOARD);
    // 100 × (scans + nodes + 3 scalars + summary and its 4 + 10 × (results + totalCount + nodes and its 5)).
    expect(cost).toBe(100 * (1 + 1 + 3 + 5 + 10 * (1 + 1 + 6)));
    expect(cost).toBeLessThan(MAX_QUERY_COST / 2);
  });

  it('multiplies a list by its page, written in the query or passed as a variable', () => {
    const literal = costOf(BOMB.replace('query($n: Int) ', '').replaceAll('$n', '100'));
    expect(costOf(BOMB, { n: 100 })).toBe(literal);
    expect(literal).toBeGreaterThan(1_000_000);
  });

  it('counts a list without first or last as the default page of 20, and a variable left out at its default', () => {
    expect(costOf('{ scans { nodes { id } } }')).toBe(20 * (1 + 1 + 1));
    expect(costOf('{ scans { nodes { id } } }')).toBe(costOf('{ scans(first: 20) { nodes { id } } }'));
    expect(costOf('query($n: Int) { scans(first: $n) { nodes { id } } }', {})).toBe(costOf('{ scans(first: 20) { nodes { id } } }'));
    expect(costOf('query($n: Int = 5) { scans(first: $n) { nodes { id } } }', {})).toBe(costOf('{ scans(first: 5) { nodes { id } } }'));
  });

  it('counts what fragments select, inline or named, as if written out', () => {
    const written = costOf('{ scans(first: 50) { nodes { id results(first: 10) { nodes { port } } } } }');
    expect(costOf('{ scans(first: 50) { nodes { ...F } } } fragment F on Scan { id results(first: 10) { nodes { port } } }')).toBe(written);
    expect(costOf('{ scans(first: 50) { nodes { ... on Scan { id results(first: 10) { nodes { port } } } } } }')).toBe(written);
  });

  it('costs the operation named, not the others of the document', () => {
    const document = 'query Small { viewer { id } } query Big { scans(first: 100) { nodes { id } } }';
    expect(costOf(document, {}, 'Small')).toBe(2);
    expect(costOf(document, {}, 'Big')).toBe(100 * 3);
  });
});

describe('queryCost on a wide, shallow document of fragments', () => {
  // Walked naively, this document is 300³ spreads: the test's timeout is what would catch that.
  it('costs each fragment once, not once per path to it', () => {
    const level = (n: number, next: string) => `fragment F${n} on Query { ${`...${next} `.repeat(300)}}`;
    const document = `query { ...F0 } ${level(0, 'F1')} ${level(1, 'F2')} ${level(2, 'F3')} fragment F3 on Query { viewer { id } }`;
    // Each repeated spread counts once, as execution runs it once.
    expect(costOf(document)).toBe(2);
  });
});

describe('useQueryCost', () => {
  const post = async (yoga: ReturnType<typeof createYoga>, query: string, variables: Record<string, unknown>) => {
    const response = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { errors?: { extensions: { code: string } }[] };
  };

  it('walks a query once, however many requests send it, and weighs each request by its own variables', async () => {
    const schema = createSchema({ typeDefs: loadTypeDefs(), resolvers: { Query: { scans: () => ({ nodes: [] }) } } });
    // Execution never reaches a Scan (the page is empty): after the first request's validation, only a cost walk reads Scan's fields.
    const scan = schema.getType('Scan') as GraphQLObjectType;
    const fields = scan.getFields.bind(scan);
    let reads = 0;
    scan.getFields = () => {
      reads += 1;
      return fields();
    };
    const yoga = createYoga({ schema, plugins: [useQueryCost(1_000)], logging: false });
    const query = 'query($n: Int) { scans(first: $n) { nodes { id } } }';
    expect((await post(yoga, query, { n: 10 })).errors).toBeUndefined();
    const firstRequest = reads;

    const codes = [];
    for (const n of [100, 1_000, 5]) codes.push((await post(yoga, query, { n })).errors?.[0]?.extensions.code);

    expect(codes).toEqual([undefined, 'QUERY_TOO_COMPLEX', undefined]);
    expect(reads).toBe(firstRequest);
    await post(yoga, query.replace('id', 'id status'), { n: 10 });
    expect(reads).toBeGreaterThan(firstRequest);
  });
});
