import { type DocumentNode, type ExecutionResult, GraphQLError, Kind, type OperationDefinitionNode } from 'graphql';
import { isAsyncIterable } from 'graphql-yoga';

/** Results kept for a subscriber that reads slower than they come; beyond, it is cut off with RATE_LIMITED. */
export const MAX_PENDING_RESULTS = 1_000;

type Result = ExecutionResult;
type Started = AsyncIterable<Result> | Result;

/**
 * One execution of a subscription for every subscriber that asks the same
 * thing as the same identity: the same document, operation and variables
 * under the same credential and role, and only for fields whose every event
 * goes to every subscriber as it is (declared by the areas, as
 * `sharedSubscriptions`), with nothing sent at the start. Each event is then
 * authorized, resolved and serialized once for all of them, not once per
 * socket: ten thousand dashboards of eleven users cost eleven executions.
 *
 * The stream is the first subscriber's, under its identity's guard; as all
 * share that identity, all lose it together. It ends when its last
 * subscriber leaves.
 */
export class SharedSubscriptions {
  readonly #fields: ReadonlySet<string>;
  readonly #streams = new Map<string, Stream>();

  constructor(fields: Iterable<string>) {
    this.#fields = new Set(fields);
  }

  /** Subscribers now sharing streams, and the streams: what the server runs. */
  get size(): { streams: number; subscribers: number } {
    let subscribers = 0;
    for (const stream of this.#streams.values()) subscribers += stream.subscribers;
    return { streams: this.#streams.size, subscribers };
  }

  /** Whether the operation may be shared: a subscription whose root fields are all shareable. */
  shareable(document: DocumentNode, operationName: string | null | undefined): boolean {
    if (this.#fields.size === 0) return false;
    const operations = document.definitions.filter(
      (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
    );
    const operation = operationName
      ? operations.find((definition) => definition.name?.value === operationName)
      : operations.length === 1
        ? operations[0]
        : undefined;
    if (operation?.operation !== 'subscription') return false;
    return operation.selectionSet.selections.every(
      (selection) => selection.kind === Kind.FIELD && !selection.directives?.length && this.#fields.has(selection.name.value),
    );
  }

  /**
   * The stream for `key`, started with `start` if nobody runs it yet. A start
   * that fails (an error result) is this subscriber's alone, and is not kept.
   */
  async subscribe(key: string, start: () => Promise<Started> | Started): Promise<Started> {
    let stream = this.#streams.get(key);
    if (!stream) {
      stream = new Stream(start, () => {
        if (this.#streams.get(key) === stream) this.#streams.delete(key);
      });
      this.#streams.set(key, stream);
    }
    return stream.join();
  }
}

/** One running execution and the queues of its subscribers. */
class Stream {
  readonly #started: Promise<AsyncIterator<Result> | Result>;
  readonly #subscribers = new Set<Subscriber>();
  readonly #forget: () => void;
  #ended = false;

  constructor(start: () => Promise<Started> | Started, forget: () => void) {
    this.#forget = forget;
    this.#started = Promise.resolve()
      .then(start)
      .then((started) => {
        if (!isAsyncIterable(started)) {
          this.#end();
          return started;
        }
        const iterator = started[Symbol.asyncIterator]();
        void this.#pump(iterator);
        return iterator;
      })
      .catch((error: unknown) => {
        this.#end();
        throw error;
      });
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  async join(): Promise<Started> {
    const started = await this.#started;
    if (!isIterator(started)) return started;
    const subscriber = new Subscriber(() => {
      this.#subscribers.delete(subscriber);
      // The last one out stops the execution: its source (a bus listener) goes with it.
      if (this.#subscribers.size === 0) {
        this.#end();
        void started.return?.()?.catch(() => {});
      }
    });
    // Ended in the meantime: this subscriber sees it end too.
    if (this.#ended) subscriber.end();
    else this.#subscribers.add(subscriber);
    return subscriber;
  }

  async #pump(iterator: AsyncIterator<Result>): Promise<void> {
    try {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        for (const subscriber of this.#subscribers) subscriber.push(next.value);
      }
    } catch (error) {
      const failure =
        error instanceof GraphQLError ? error : new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      for (const subscriber of this.#subscribers) subscriber.push({ errors: [failure] });
    } finally {
      this.#end();
      for (const subscriber of this.#subscribers) subscriber.end();
    }
  }

  /** No new subscriber joins an ending stream: the next one starts its own. */
  #end(): void {
    this.#ended = true;
    this.#forget();
  }
}

/** One subscriber's results, in order, until the stream ends or the subscriber leaves. */
class Subscriber implements AsyncIterableIterator<Result> {
  readonly #pending: Result[] = [];
  readonly #leave: () => void;
  #wake: ((step: IteratorResult<Result>) => void) | undefined;
  #done = false;

  constructor(leave: () => void) {
    this.#leave = leave;
  }

  push(result: Result): void {
    if (this.#done) return;
    if (this.#wake) {
      const wake = this.#wake;
      this.#wake = undefined;
      wake({ done: false, value: result });
      return;
    }
    if (this.#pending.length >= MAX_PENDING_RESULTS) {
      // Too slow to keep up: one last word, then it is cut off, rather than growing the server's memory.
      this.#pending.length = 0;
      this.#pending.push({
        errors: [
          new GraphQLError(`This subscriber fell ${MAX_PENDING_RESULTS} events behind; subscribe again.`, {
            extensions: { code: 'RATE_LIMITED' },
          }),
        ],
      });
      this.end();
      return;
    }
    this.#pending.push(result);
  }

  end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#leave();
    this.#wake?.({ done: true, value: undefined });
    this.#wake = undefined;
  }

  next(): Promise<IteratorResult<Result>> {
    const value = this.#pending.shift();
    if (value !== undefined) return Promise.resolve({ done: false, value });
    if (this.#done) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  return(): Promise<IteratorResult<Result>> {
    this.#pending.length = 0;
    this.end();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Result> {
    return this;
  }
}

const isIterator = (value: AsyncIterator<Result> | Result): value is AsyncIterator<Result> =>
  typeof (value as AsyncIterator<Result>).next === 'function';
