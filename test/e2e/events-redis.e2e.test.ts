import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ethernet, ipv4, pcap, udp } from '../helpers/captures.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createScan as createEvidenceScan, uploaded } from '../helpers/evidence.ts';
import { unusedPort } from '../helpers/ports.ts';
import { type RedisDoor, redisDoor, redisSuite, type TestRedis, useRedis } from '../helpers/redis.ts';
import { allStarted, type ServerProcess, startServer, startWorkerProcess, subscribe, type WorkerProcess } from '../helpers/server.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until some line of `output` contains `text`. */
async function logged(output: string[], text: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!output.some((line) => line.includes(text))) {
    if (Date.now() > deadline) throw new Error(`no "${text}" within ${timeoutMs} ms:\n${output.join('\n')}`);
    await sleep(100);
  }
}

const across = redisSuite('events across processes over Redis');

describe.skipIf(across.skipped)(across.title, () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let publisher: ServerProcess;
  let listener: ServerProcess;

  beforeAll(async () => {
    await allStarted(
      createTestDatabase().then((d) => (database = d)),
      useRedis().then((r) => (redis = r)),
    );
    const env = { REDIS_URL: redis.url };
    await allStarted(
      startServer({ databaseUrl: database.url, env }).then((s) => (publisher = s)),
      startServer({ databaseUrl: database.url, env }).then((s) => (listener = s)),
    );
  });

  afterAll(async () => {
    const codes = await Promise.all([publisher?.stop(), listener?.stop()]);
    await Promise.all([database?.drop(), redis?.stop()]);
    expect(codes).toEqual([0, 0]);
  });

  it('delivers scanUpdated on one API instance for a scan created on another', async () => {
    const subscription = subscribe<{ scanUpdated: { id: string; ports: string } }>(
      listener.wsClient(),
      'subscription { scanUpdated { id ports } }',
    );
    await sleep(500);
    const { body } = await publisher.graphql<{ createScan: { scan: { id: string } } }>(
      'mutation { createScan(input: { targets: ["127.0.0.1"], ports: "6379" }) { scan { id } } }',
    );
    const [event] = await subscription.next(1);
    expect(event?.scanUpdated).toEqual({ id: body.data?.createScan.scan.id, ports: '6379' });
    expect(listener.output.join('\n')).toContain(redis.url);
    subscription.dispose();
  });
});

const outage = redisSuite('an API and a worker whose Redis is down when they start');

describe.skipIf(outage.skipped)(outage.title, () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let door: RedisDoor;
  let api: ServerProcess;
  let worker: WorkerProcess;

  beforeAll(async () => {
    await allStarted(
      createTestDatabase().then((d) => (database = d)),
      useRedis().then((r) => (redis = r)),
    );
    door = await redisDoor(redis);
    const env = { REDIS_URL: door.url };
    await allStarted(
      startServer({ databaseUrl: database.url, env: { RUN_WORKER: 'false', ...env } }).then((s) => (api = s)),
      startWorkerProcess(database.url, env).then((w) => (worker = w)),
    );
  });

  afterAll(async () => {
    const codes = await Promise.all([api?.stop(), worker?.stop()]);
    await door?.shut();
    await Promise.all([database?.drop(), redis?.stop()]);
    expect(codes).toEqual([0, 0]);
  });

  it('start, each say once that Redis is unreachable and why, and keep serving', async () => {
    // Long enough for several reconnection attempts, each of them refused.
    await sleep(3_000);
    for (const output of [api.output, worker.output]) {
      const said = output.filter((line) => line.includes('Redis unreachable'));
      expect(said, output.join('\n')).toHaveLength(1);
      expect(JSON.parse(said[0]!)).toMatchObject({ level: 50, redis: door.url, reason: 'ECONNREFUSED' });
    }
    expect(() => process.kill(worker.pid, 0)).not.toThrow();
    const { body } = await api.graphql<{ scans: { totalCount: number } }>('{ scans(first: 1) { totalCount } }');
    expect(body).toEqual({ data: { scans: { totalCount: 0 } } });
  });

  it("carry the worker's events to the API once Redis answers", async () => {
    await door.open();
    await Promise.all([logged(api.output, 'Redis reachable again'), logged(worker.output, 'Redis reachable again')]);
    const { body } = await api.graphql<{ createScan: { scan: { id: string } } }>(
      'mutation($input: CreateScanInput!) { createScan(input: $input) { scan { id } } }',
      { input: { targets: ['127.0.0.1'], ports: String(await unusedPort()) } },
    );
    const id = body.data?.createScan.scan.id;
    const events = subscribe<{ scanEvents: { __typename: string; status?: string } }>(
      api.wsClient(),
      'subscription($id: ID!) { scanEvents(scanId: $id) { __typename ... on ScanStatusChanged { status } } }',
      { id },
    );
    await events.next(1);
    await api.graphql('mutation($id: ID!) { startScan(input: { id: $id }) { scan { id } } }', { id });
    // The feed ends on the worker's COMPLETED, which only Redis could have carried here.
    await events.completed;
    const statuses = events.results
      .map((r) => r.scanEvents)
      .filter((e) => e.__typename === 'ScanStatusChanged')
      .map((e) => e.status);
    expect(statuses).toEqual(['PENDING', 'QUEUED', 'RUNNING', 'COMPLETED']);
  });
});

const traffic = redisSuite('a capture on a worker, watched through another API process over Redis');

describe.skipIf(traffic.skipped)(traffic.title, () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let api: ServerProcess;
  let worker: WorkerProcess;
  let evidenceDir: string;

  beforeAll(async () => {
    await allStarted(
      createTestDatabase().then((d) => (database = d)),
      useRedis().then((r) => (redis = r)),
    );
    // One evidence store for both: the worker reads the file the API took in.
    evidenceDir = await mkdtemp(path.join(tmpdir(), 'scanops-evidence-'));
    const env = { REDIS_URL: redis.url, EVIDENCE_DIR: evidenceDir };
    // The API runs no worker: every packet and count it passes on came from the worker, through Redis.
    await allStarted(
      startServer({ databaseUrl: database.url, env: { RUN_WORKER: 'false', ...env } }).then((s) => (api = s)),
      startWorkerProcess(database.url, env).then((w) => (worker = w)),
    );
  });

  afterAll(async () => {
    const codes = await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all([database?.drop(), redis?.stop(), rm(evidenceDir, { recursive: true, force: true })]);
    expect(codes).toEqual([0, 0]);
  });

  it('streams every packet of a replay and its stats to the other process', async () => {
    const frames = Array.from({ length: 300 }, (_, i) => ({
      frame: ethernet({
        type: 0x0800,
        payload: ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 17, payload: udp(40000, 1000 + i, new Uint8Array(i)) }),
      }),
      seconds: 1_700_000_000,
      fraction: i * 1000,
    }));
    const scanId = await createEvidenceScan(api);
    const evidence = await uploaded(api, scanId, {
      filename: 'r.pcap',
      contentType: 'application/vnd.tcpdump.pcap',
      content: Buffer.from(pcap(frames)),
    });
    const { body } = await api.graphql<{ startCapture: { capture: { id: string } } }>(
      // 0.3 s of capture time at half speed: the subscriptions are open well before the first packet.
      'mutation($id: ID!) { startCapture(input: { evidenceId: $id, speed: 0.5 }) { capture { id } } }',
      { id: evidence.id },
    );
    const id = body.data?.startCapture.capture.id;
    const packets = subscribe<{ trafficEvents: { dropped: number; packets: { dstPort: number; length: number }[] } }>(
      api.wsClient(),
      'subscription($id: ID!) { trafficEvents(captureId: $id) { dropped packets { dstPort length } } }',
      { id },
    );
    const stats = subscribe<{ trafficStats: { packets: number } }>(
      api.wsClient(),
      'subscription($id: ID!) { trafficStats(captureId: $id) { packets } }',
      { id },
    );
    await Promise.all([packets.completed, stats.completed]);
    const ended = await api.graphql<{ capture: { status: string; error: string | null } }>(
      'query($id: ID!) { capture(id: $id) { status error } }',
      { id },
    );
    expect(ended.body.data?.capture).toEqual({ status: 'COMPLETED', error: null });
    const received = packets.results.flatMap((r) => r.trafficEvents.packets);
    expect(received.map((p) => p.dstPort)).toEqual(frames.map((_, i) => 1000 + i));
    expect(packets.results.reduce((sum, r) => sum + r.trafficEvents.dropped, 0)).toBe(0);
    expect(stats.results.at(-1)?.trafficStats.packets).toBe(300);
    expect(worker.output.join('\n')).toContain('capture ended');
  });
});
