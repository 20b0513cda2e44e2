import { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { PortState, type ProbeHost, type ProbeResult, type Scanner, type ScanOptions, type ScanPlan } from './scanner.ts';
import { type Connect, type ConnectOutcome, loadRawConnect, socketConnect } from './tcp-connect.ts';

/** Results are handed over in batches of this size, or whatever is ready every `FLUSH_MS`. */
const BATCH_SIZE = 1_000;
const FLUSH_MS = 100;
/** Back-off when the kernel runs short of sockets or ports; such a probe is tried again, not judged. */
const RESOURCE_BACKOFF_MS = 20;
const MAX_RESOURCE_RETRIES = 50;

/**
 * The native TCP connect engine: a full handshake per probe, no privileges
 * needed; `connect` is the raw libuv path when available (see tcp-connect.ts). OPEN when the handshake completes, CLOSED when refused, FILTERED
 * when it times out on every attempt or the host is unreachable.
 */
export function createConnectScanner(connect: Connect = loadRawConnect() ?? socketConnect): Scanner {
  return { scan: (plan, options, signal) => connectScan(connect, plan, options, signal) };
}

async function* connectScan(connect: Connect, plan: ScanPlan, options: ScanOptions, signal?: AbortSignal): AsyncGenerator<ProbeResult[]> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  // An abort event fires once: a signal aborted before the scan began would otherwise go unheard.
  if (signal?.aborted) stop.abort();
  const inFlight = new Set<() => void>();
  stop.signal.addEventListener(
    'abort',
    () => {
      for (const cancel of inFlight) cancel();
    },
    { once: true },
  );

  const probes = probesOf(plan);
  const throttle = rateLimiter(options.maxRate, stop.signal);
  const buffer: ProbeResult[] = [];
  let wake: (() => void) | undefined;
  const notify = () => wake?.();

  const worker = async () => {
    for (let next = probes.next(); !next.done && !stop.signal.aborted; next = probes.next()) {
      const { host, port } = next.value;
      const found = await probeWithRetries(connect, host, port, options, throttle, inFlight, stop.signal);
      if (!found) continue;
      buffer.push(found);
      if (buffer.length >= BATCH_SIZE) notify();
    }
  };

  let finished = false;
  let failure: unknown;
  const workers = Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker))
    .catch((error: unknown) => {
      failure = error;
    })
    .finally(() => {
      finished = true;
      notify();
    });

  try {
    while (!finished || buffer.length > 0) {
      if (!finished && buffer.length < BATCH_SIZE) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, FLUSH_MS).unref();
        });
      }
      if (stop.signal.aborted) break;
      if (buffer.length > 0) yield buffer.splice(0, buffer.length);
    }
    if (failure) throw failure;
  } finally {
    // Reached on completion, on cancellation, and when the consumer stops early.
    stop.abort();
    signal?.removeEventListener('abort', onAbort);
    await workers;
  }
}

function* probesOf(plan: ScanPlan): Generator<{ host: ProbeHost; port: number }> {
  for (const host of plan.hosts) {
    for (const port of plan.ports.ports()) yield { host, port };
  }
}

async function probeWithRetries(
  connect: Connect,
  host: ProbeHost,
  port: number,
  options: ScanOptions,
  throttle: () => Promise<void>,
  inFlight: Set<() => void>,
  signal: AbortSignal,
): Promise<ProbeResult | undefined> {
  let timeouts = 0;
  let shortages = 0;
  for (;;) {
    await throttle();
    if (signal.aborted) return undefined;
    const outcome = await new Promise<ConnectOutcome>((resolve) => {
      const cancel = connect(host.address, host.family, port, options.timeoutMs, (found) => {
        inFlight.delete(cancel);
        resolve(found);
      });
      inFlight.add(cancel);
    });
    switch (outcome) {
      case 'CANCELLED':
        return undefined;
      case 'RESOURCE':
        if (++shortages > MAX_RESOURCE_RETRIES) return result(host, port, PortState.FILTERED);
        await sleep(RESOURCE_BACKOFF_MS, undefined, { signal }).catch(() => {});
        continue;
      case 'TIMEOUT':
        if (++timeouts <= options.retries) continue;
        return result(host, port, PortState.FILTERED);
      case 'UNREACHABLE':
        return result(host, port, PortState.FILTERED);
      // When the port probed lies in the ephemeral range, the kernel may pick it as our
      // own source port: the socket then "connects" to itself. Nothing listens there.
      case 'SELF':
      case 'REFUSED':
        return result(host, port, PortState.CLOSED);
      case 'CONNECTED': {
        const banner = options.bannerGrab ? await grabBanner(host, port, options) : undefined;
        return { ...result(host, port, PortState.OPEN), ...(banner ? { banner } : {}) };
      }
    }
  }
}

function result(host: ProbeHost, port: number, state: PortState): ProbeResult {
  return { address: host.address, port, protocol: 'TCP', state };
}

/** Reconnects to an open port and keeps what the service says first, within the banner limits. */
function grabBanner(host: ProbeHost, port: number, options: ScanOptions): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(printable(Buffer.concat(chunks).subarray(0, options.bannerMaxBytes)) || undefined);
    };
    const timer = setTimeout(finish, options.timeoutMs + options.bannerTimeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= options.bannerMaxBytes) finish();
    });
    socket.once('end', finish);
    socket.once('error', finish);
    socket.connect({ host: host.address, port, family: host.family });
  });
}

/** Spaces probe starts `1000 / maxRate` ms apart across all workers; a no-op without a limit. */
function rateLimiter(maxRate: number, signal: AbortSignal): () => Promise<void> {
  if (!maxRate || maxRate <= 0) return async () => {};
  const interval = 1_000 / maxRate;
  let next = performance.now();
  return async () => {
    const now = performance.now();
    const at = Math.max(now, next);
    next = at + interval;
    // Abortable: with many workers queued, the last may wait for seconds.
    if (at - now >= 1) await sleep(at - now, undefined, { signal }).catch(() => {});
  };
}

/** Banner text for storage and display: control bytes other than tab and newlines become dots. */
function printable(bytes: Buffer): string {
  // eslint-disable-next-line no-control-regex
  return bytes
    .toString('latin1')
    .replace(/[^\t\n\r\x20-\x7e]/g, '.')
    .trim();
}
