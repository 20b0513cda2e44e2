import { type ExecutionResult, parse } from 'graphql';
import { Repeater } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { MAX_PENDING_RESULTS, SharedSubscriptions } from './shared-subscriptions.ts';

/** An upstream execution whose results the test pushes, and which says when it was ended. */
function upstream() {
  let push!: (result: ExecutionResult) => Promise<unknown>;
  let finish!: () => void;
  let returned = false;
  const stream = new Repeater<ExecutionResult>(async (p, stop) => {
    push = p;
    finish = stop;
    await stop;
    returned = true;
  });
  return {
    stream,
    push: (n: number) => push({ data: { n } }),
    finish: () => finish(),
    get returned() {
      return returned;
    },
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

async function take(iterable: unknown, count: number): Promise<unknown[]> {
  const iterator = (iterable as AsyncIterable<ExecutionResult>)[Symbol.asyncIterator]();
  const taken = [];
  for (let at = 0; at < count; at++) taken.push((await iterator.next()).value);
  return taken;
}

describe('SharedSubscriptions', () => {
  it('runs one execution for every subscriber of a key, and one per key', async () => {
    const shared = new SharedSubscriptions(['scanUpdated']);
    const upstreams: ReturnType<typeof upstream>[] = [];
    const start = () => {
      const made = upstream();
      upstreams.push(made);
      return made.stream;
    };
    const [a, b, c] = await Promise.all([shared.subscribe('k1', start), shared.subscribe('k1', start), shared.subscribe('k2', start)]);
    expect(upstreams).toHaveLength(2);
    expect(shared.size).toEqual({ streams: 2, subscribers: 3 });
    const [reading, readingToo] = [take(a, 2), take(b, 2)];
    await tick();
    await upstreams[0]!.push(1);
    await upstreams[0]!.push(2);
    expect(await reading).toEqual([{ data: { n: 1 } }, { data: { n: 2 } }]);
    expect(await readingToo).toEqual([{ data: { n: 1 } }, { data: { n: 2 } }]);
    // The other key's stream got none of it.
    const other = take(c, 1);
    await upstreams[1]!.push(3);
    expect(await other).toEqual([{ data: { n: 3 } }]);
  });

  it('ends the execution when its last subscriber leaves, and starts afresh for the next', async () => {
    const shared = new SharedSubscriptions(['scanUpdated']);
    const made = upstream();
    let starts = 0;
    const start = () => {
      starts++;
      return starts === 1 ? made.stream : upstream().stream;
    };
    const a = (await shared.subscribe('k', start)) as AsyncIterableIterator<ExecutionResult>;
    const b = (await shared.subscribe('k', start)) as AsyncIterableIterator<ExecutionResult>;
    await a.return?.();
    await tick();
    expect(made.returned).toBe(false);
    await b.return?.();
    await tick();
    expect(made.returned).toBe(true);
    expect(shared.size).toEqual({ streams: 0, subscribers: 0 });
    await shared.subscribe('k', start);
    expect(starts).toBe(2);
  });

  it('ends every subscriber when the execution ends (an identity lost, say)', async () => {
    const shared = new SharedSubscriptions(['scanUpdated']);
    const made = upstream();
    const a = (await shared.subscribe('k', () => made.stream)) as AsyncIterableIterator<ExecutionResult>;
    const b = (await shared.subscribe('k', () => made.stream)) as AsyncIterableIterator<ExecutionResult>;
    const ends = [a.next(), b.next()];
    await tick();
    made.finish();
    expect(await Promise.all(ends)).toEqual([
      { done: true, value: undefined },
      { done: true, value: undefined },
    ]);
  });

  it('keeps no refusal: an error result is the subscriber’s own, and the next one starts again', async () => {
    const shared = new SharedSubscriptions(['scanUpdated']);
    let starts = 0;
    const refused = { errors: [] } as ExecutionResult;
    const refuse = () => {
      starts++;
      return refused;
    };
    expect(await shared.subscribe('k', refuse)).toBe(refused);
    expect(await shared.subscribe('k', refuse)).toBe(refused);
    expect(starts).toBe(2);
  });

  it('cuts off a subscriber that falls too far behind, and only that one', async () => {
    const shared = new SharedSubscriptions(['scanUpdated']);
    const made = upstream();
    const slow = (await shared.subscribe('k', () => made.stream)) as AsyncIterableIterator<ExecutionResult>;
    const fast = (await shared.subscribe('k', () => made.stream)) as AsyncIterableIterator<ExecutionResult>;
    const fastSeen: unknown[] = [];
    void (async () => {
      for await (const result of fast) fastSeen.push(result);
    })();
    await tick();
    for (let n = 0; n <= MAX_PENDING_RESULTS; n++) await made.push(n);
    await tick();
    const first = await slow.next();
    expect(first.value?.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect((await slow.next()).done).toBe(true);
    expect(fastSeen).toHaveLength(MAX_PENDING_RESULTS + 1);
    expect(made.returned).toBe(false);
  });

  it('shares only subscriptions whose every root field is declared shareable', () => {
    const shared = new SharedSubscriptions(['scanUpdated']);
    expect(shared.shareable(parse('subscription { scanUpdated { id } }'), undefined)).toBe(true);
    expect(shared.shareable(parse('subscription Named { a: scanUpdated { id } }'), 'Named')).toBe(true);
    expect(shared.shareable(parse('subscription { scanProgress(scanId: "x") { percent } }'), undefined)).toBe(false);
    expect(shared.shareable(parse('subscription { scanUpdated @include(if: true) { id } }'), undefined)).toBe(false);
    expect(shared.shareable(parse('subscription { ...F } fragment F on Subscription { scanUpdated { id } }'), undefined)).toBe(false);
    expect(shared.shareable(parse('query { scanUpdated { id } }'), undefined)).toBe(false);
    expect(new SharedSubscriptions([]).shareable(parse('subscription { scanUpdated { id } }'), undefined)).toBe(false);
  });
});
