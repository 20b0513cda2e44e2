import { setTimeout as sleep } from 'node:timers/promises';
import type { OnProgress, PortState, ProbeResult, Scanner, ScanOptions, ScanPlan } from './scanner.ts';

/** One call of a fake engine: what its caller (the scan job) handed it. */
export type FakeScan = { plan: ScanPlan; options: ScanOptions; signal?: AbortSignal; onProgress: OnProgress };

/** A Scanner that keeps every call it was given, for tests to look at. */
export type FakeScanner = Scanner & { readonly scans: readonly FakeScan[] };

/** What a scripted engine yields for one call. */
export type FakeScript = (call: FakeScan) => AsyncIterable<ProbeResult[]>;

/**
 * An engine that runs `script`: what it yields is what the caller gets, and,
 * as the caller pulls each batch once it has written the one before, the
 * script resumes only then. For tests of the scan job's own logic (counts,
 * cancels, retries, estimates) without sockets. The scanner contract does not
 * apply to it: it finds whatever its script says.
 */
export function scriptedScanner(script: FakeScript): FakeScanner {
  const scans: FakeScan[] = [];
  return {
    scans,
    scan(plan, options, signal, onProgress = () => {}) {
      const call = { plan, options, signal, onProgress };
      scans.push(call);
      return script(call);
    },
  };
}

/**
 * Ports as a fake engine finds them: OPEN, FILTERED (silent) or, as on a host
 * where nothing listens, CLOSED unless said otherwise.
 */
export class FakeNetwork {
  readonly #states = new Map<string, PortState>();
  /** Fresh port numbers, as a listener bound to port 0 would get. */
  #next = 40_000;

  /** A port that accepts connections on `address`: a fresh one unless `port` is given. */
  open(address: string, port = this.#next++): number {
    return this.set(address, port, 'OPEN');
  }

  /** A port of `address` that never answers. */
  silent(address: string, port = this.#next++): number {
    return this.set(address, port, 'FILTERED');
  }

  /** A port of `address` nothing listens on. */
  closed(address: string, port = this.#next++): number {
    return this.set(address, port, 'CLOSED');
  }

  stateOf(address: string, port: number): PortState {
    return this.#states.get(`${address} ${port}`) ?? 'CLOSED';
  }

  private set(address: string, port: number, state: PortState): number {
    this.#states.set(`${address} ${port}`, state);
    return port;
  }
}

/**
 * An engine that probes a `FakeNetwork` instead of sockets, and keeps the
 * scanner contract as the real engines do (see scanner.contract.ts): every
 * probe of the plan once, host by host, in batches of `batchSize`; probes
 * started no faster than `maxRate`; a batch holding a silent port handed
 * over only once its probes timed out `retries + 1` times (its probes wait
 * together, as concurrent ones would); stopped at once by its signal. All
 * TCP; it never reports progress estimates.
 */
export function fakeScanner(network: FakeNetwork, { batchSize = 100 } = {}): FakeScanner {
  return scriptedScanner(({ plan, options, signal }) => probe(network, plan, options, batchSize, signal));
}

async function* probe(
  network: FakeNetwork,
  plan: ScanPlan,
  options: ScanOptions,
  batchSize: number,
  signal?: AbortSignal,
): AsyncGenerator<ProbeResult[]> {
  const started = performance.now();
  let probed = 0;
  let batch: ProbeResult[] = [];
  const handOver = async () => {
    // The last probe of the batch starts `(probed - 1) / maxRate` s after the first.
    const paced = options.maxRate > 0 ? started + ((probed - 1) * 1_000) / options.maxRate - performance.now() : 0;
    const timedOut = batch.some((result) => result.state === 'FILTERED') ? options.timeoutMs * (options.retries + 1) : 0;
    const wait = Math.max(paced, 0) + timedOut;
    if (wait >= 1) await sleep(wait, undefined, { signal }).catch(() => {});
    const ready = batch;
    batch = [];
    return ready;
  };
  for (const host of plan.hosts) {
    for (const port of plan.ports.ports()) {
      if (signal?.aborted) return;
      batch.push({ address: host.address, port, protocol: 'TCP', state: network.stateOf(host.address, port) });
      probed++;
      if (batch.length < batchSize) continue;
      const ready = await handOver();
      if (signal?.aborted) return;
      yield ready;
    }
  }
  if (batch.length === 0) return;
  const ready = await handOver();
  if (!signal?.aborted) yield ready;
}
