import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScan, download, SAMPLES, uploaded, uploadHeaders, uploadTo } from '../helpers/evidence.ts';
import { generated, rssOf, upload } from '../helpers/multipart.ts';
import { type ServerProcess, startServer, type TestUser } from '../helpers/server.ts';

const MiB = 2 ** 20;
const LIMIT = 10 * MiB;

let server: ServerProcess;
let dir: string;
let analyst: TestUser;
let other: TestUser;
let viewer: TestUser;

/** The blobs the store holds, as `<dir>/aa/bb/<sha256>` (its `tmp` drafts apart). */
const blobs = async (under = dir) =>
  (await readdir(under, { recursive: true }).catch(() => [] as string[]))
    .map((name) => path.basename(name))
    .filter((name) => /^[0-9a-f]{64}$/.test(name));
const drafts = async () => readdir(path.join(dir, 'tmp')).catch(() => [] as string[]);

const evidenceOf = async (scanId: string, user?: TestUser) => {
  const { body } = await server.graphql<{ scan: { evidence: { totalCount: number; edges: { node: { id: string } }[] } } | null }>(
    'query($id: ID!) { scan(id: $id) { evidence(first: 10) { totalCount edges { node { id } } } } }',
    { id: scanId },
    user?.headers,
  );
  return body.data?.scan?.evidence ?? null;
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'scanops-evidence-'));
  server = await startServer({ env: { EVIDENCE_DIR: dir, EVIDENCE_SWEEP_SECONDS: '1' } });
  [analyst, other, viewer] = await Promise.all([server.createUser('ANALYST'), server.createUser('ANALYST'), server.createUser('VIEWER')]);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('uploading evidence over GraphQL multipart', () => {
  it.each([
    ['png', 'image/png', 'shot.png', 'image/png'],
    ['jpeg', 'image/jpeg', 'photo.jpg', 'image/jpeg'],
    ['pdf', 'application/pdf', 'report.pdf', 'application/pdf'],
    ['pcapMicroBig', 'application/vnd.tcpdump.pcap', 'a.pcap', 'application/octet-stream'],
    ['pcapMicroLittle', 'application/vnd.tcpdump.pcap', 'b.pcap', 'application/vnd.tcpdump.pcap'],
    ['pcapNanoBig', 'application/vnd.tcpdump.pcap', 'c.pcap', 'application/octet-stream'],
    ['pcapNanoLittle', 'application/vnd.tcpdump.pcap', 'd.pcap', 'application/octet-stream'],
    ['pcapng', 'application/x-pcapng', 'e.pcapng', 'application/octet-stream'],
  ] as const)('keeps a %s as %s and serves it back byte for byte', async (sample, type, filename, claim) => {
    const scanId = await createScan(server);
    const content = SAMPLES[sample];
    const evidence = await uploaded(server, scanId, { filename, contentType: claim, content });
    expect(evidence).toMatchObject({ filename, contentType: type, size: content.length });
    const response = await download(server, evidence.url);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
    expect(response.headers.get('content-type')).toBe(type);
    expect(response.headers.get('content-length')).toBe(String(content.length));
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('etag')).toBe(`"${evidence.sha256}"`);
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="${filename}"; filename*=UTF-8''${filename}`);
  });

  it.each([
    ['HTML', Buffer.from('<!DOCTYPE html><html><script>alert(1)</script></html>'), 'text/html', 'text/html'],
    ['PHP', Buffer.from('<?php system($_GET["c"]); ?>'), 'application/x-php', 'application/x-php'],
    ['SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), 'image/svg+xml', 'image/svg+xml'],
    ['an empty file', Buffer.alloc(0), 'image/png', 'an empty file'],
    ['a ZIP', Buffer.concat([Buffer.from('504b0304', 'hex'), Buffer.alloc(100)]), 'application/zip', 'application/zip'],
  ])('refuses %s, naming the type found', async (_name, content, claim, found) => {
    const scanId = await createScan(server);
    const before = await blobs();
    const result = await uploadTo(server, scanId, { filename: 'x.png', contentType: claim, content }, uploadHeaders(server.adminToken));
    expect(result.body?.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'file' });
    expect(result.body?.errors?.[0]?.message).toContain(found);
    expect((await evidenceOf(scanId))?.totalCount).toBe(0);
    expect(await blobs()).toEqual(before);
  });

  it('refuses a PDF sent as image/png: the claim disagrees with the content', async () => {
    const scanId = await createScan(server);
    const result = await uploadTo(
      server,
      scanId,
      { filename: 'shot.png', contentType: 'image/png', content: SAMPLES.pdf },
      uploadHeaders(server.adminToken),
    );
    expect(result.body?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.body?.errors?.[0]?.message).toBe('The file was sent as image/png, but its content is application/pdf.');
  });

  it('keeps a PNG signature followed by HTML, and only ever serves it as a PNG attachment', async () => {
    const scanId = await createScan(server);
    const content = Buffer.concat([SAMPLES.png.subarray(0, 33), Buffer.from('<html><script>alert(1)</script></html>')]);
    const evidence = await uploaded(server, scanId, { filename: 'x.html', contentType: 'image/png', content });
    const response = await download(server, evidence.url);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment;/);
  });

  it('accepts exactly EVIDENCE_MAX_BYTES, and refuses one byte more with 413 PAYLOAD_TOO_LARGE, storing nothing', async () => {
    const scanId = await createScan(server);
    const exact = await uploaded(server, scanId, { filename: 'big.png', contentType: 'image/png', content: generated(SAMPLES.png, LIMIT) });
    expect(exact.size).toBe(LIMIT);
    const before = await blobs();
    const over = await uploadTo(
      server,
      scanId,
      { filename: 'big.png', contentType: 'image/png', content: generated(SAMPLES.png, LIMIT + 1, 0x42) },
      uploadHeaders(server.adminToken),
    );
    expect(over.status).toBe(413);
    expect(over.body?.errors?.[0]?.extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', maxBytes: LIMIT });
    expect((await evidenceOf(scanId))?.totalCount).toBe(1);
    expect(await blobs()).toEqual(before);
    expect(await drafts()).toEqual([]);
  });

  it('refuses a 1 GB PNG stream early, reading at most the limit and 64 KiB of it, with flat memory', async () => {
    const scanId = await createScan(server);
    const huge = () => ({ filename: 'huge.png', contentType: 'image/png', content: generated(SAMPLES.png, 2 ** 30) });
    // Once first, so the measures below are of a refusal, not of the process warming up.
    expect((await uploadTo(server, scanId, huge(), uploadHeaders(server.adminToken))).status).toBe(413);
    const growths: number[] = [];
    // Three times: how much the RSS grows depends on when V8 collects the 10 MiB read; the median tells the usual.
    for (let attempt = 0; attempt < 3; attempt++) {
      const lines = server.output.length;
      const baseline = await rssOf(server.pid);
      let peak = baseline;
      const sampling = setInterval(() => {
        void rssOf(server.pid).then((rss) => {
          peak = Math.max(peak, rss);
        });
      }, 5);
      const started = Date.now();
      const result = await uploadTo(server, scanId, huge(), uploadHeaders(server.adminToken));
      clearInterval(sampling);
      peak = Math.max(peak, await rssOf(server.pid));
      const elapsed = Date.now() - started;
      expect(result.status).toBe(413);
      expect(result.body?.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
      // The server's log line may come a moment after its answer.
      const logged = () =>
        server.output
          .slice(lines)
          .map((line) => /"bytesRead":(\d+)/.exec(line)?.[1])
          .find(Boolean);
      await expect.poll(logged).toBeDefined();
      const bytesRead = Number(logged());
      console.log(
        `1 GB refusal: answered in ${elapsed} ms, the server read ${bytesRead} bytes of the request (limit + ${bytesRead - LIMIT}), the client had sent ${result.fileBytesSent} bytes of the file, RSS ${(baseline / MiB).toFixed(1)} → peak ${(peak / MiB).toFixed(1)} MiB (+${((peak - baseline) / MiB).toFixed(1)} MiB)`,
      );
      expect(bytesRead).toBeLessThanOrEqual(LIMIT + 64 * 1024);
      expect(result.fileBytesSent).toBeLessThan(2 ** 30 / 8);
      growths.push(peak - baseline);
    }
    const median = growths.sort((a, b) => a - b)[1] ?? Infinity;
    expect(median).toBeLessThan(20 * MiB);
    expect(await drafts()).toEqual([]);
  }, 60_000);

  it('refuses an anonymous upload, and one without a CSRF header, before reading the file', async () => {
    const scanId = await createScan(server);
    const file = () => ({ filename: 'x.png', contentType: 'image/png', content: generated(SAMPLES.png, 2 ** 30) });
    const anonymous = await uploadTo(server, scanId, file(), { 'x-graphql-yoga-csrf': '1' });
    expect(anonymous.body?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(anonymous.fileBytesSent).toBeLessThan(16 * MiB);
    const csrfless = await uploadTo(server, scanId, file(), { authorization: `Bearer ${server.adminToken}` });
    expect(csrfless.status).toBe(403);
    expect(csrfless.body?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(csrfless.fileBytesSent).toBeLessThan(16 * MiB);
    expect((await evidenceOf(scanId))?.totalCount).toBe(0);
    // Once the connections answered early are closed (after a moment), the server is still there.
    await sleep(2_500);
    expect((await evidenceOf(scanId))?.totalCount).toBe(0);
  }, 30_000);

  it('keeps hostile names as text only: nothing of them reaches the file system or breaks a header', async () => {
    const scanId = await createScan(server);
    const names = [
      '../../etc/passwd',
      '..\\..\\windows\\win.ini',
      `${'A'.repeat(10_000)}.png`,
      'invoice\u202Egnp.exe',
      '$(rm -rf ~); `id` | tee x.png',
      'x"; filename=evil.html; x=".png',
      'résumé 📸.png',
    ];
    for (const name of names) {
      const evidence = await uploaded(server, scanId, { filename: name, contentType: 'image/png', content: SAMPLES.png });
      expect(evidence.filename).not.toMatch(/[\p{Cc}\u202e]/u);
      expect([...evidence.filename].length).toBeLessThanOrEqual(255);
      const response = await download(server, evidence.url);
      expect(response.status).toBe(200);
      const disposition = response.headers.get('content-disposition') ?? '';
      expect(disposition).toMatch(/^attachment; filename="[\x20-\x7e]*"; filename\*=UTF-8''[A-Za-z0-9%._~!-]*$/);
      expect(disposition.match(/"/g)).toHaveLength(2);
    }
    for (const blob of await blobs()) expect(blob).toMatch(/^[0-9a-f]{64}$/);
  });

  it('leaves no partial file and no record when the client drops the connection mid-file', async () => {
    const scanId = await createScan(server);
    const before = await blobs();
    const result = await upload(server.url, {
      query: 'mutation($input: UploadEvidenceInput!) { uploadEvidence(input: $input) { evidence { id } } }',
      variables: { input: { scanId, file: null } },
      file: { filename: 'cut.png', contentType: 'image/png', content: generated(SAMPLES.png, 8 * MiB) },
      headers: uploadHeaders(server.adminToken),
      abortAfter: 2 * MiB,
    });
    expect(result.status).toBe(0);
    await expect.poll(drafts, { timeout: 5_000 }).toEqual([]);
    expect(await blobs()).toEqual(before);
    expect((await evidenceOf(scanId))?.totalCount).toBe(0);
  });
});

describe('duplicates, ranges and deletion', () => {
  it('stores identical content once for two records, and removes it with the last', async () => {
    const scanId = await createScan(server);
    const content = Buffer.concat([SAMPLES.png, Buffer.from(`unique ${Date.now()}`)]);
    const first = await uploaded(server, scanId, { filename: 'one.png', content });
    const second = await uploaded(server, scanId, { filename: 'two.png', content });
    expect(first.id).not.toBe(second.id);
    expect(first.sha256).toBe(second.sha256);
    expect((await blobs()).filter((name) => name === first.sha256)).toHaveLength(1);
    const remove = (id: string) =>
      server.graphql('mutation($input: DeleteEvidenceInput!) { deleteEvidence(input: $input) { deletedEvidenceId } }', { input: { id } });
    expect((await remove(first.id)).body.data).toEqual({ deleteEvidence: { deletedEvidenceId: first.id } });
    expect(await blobs()).toContain(first.sha256);
    expect((await download(server, second.url)).status).toBe(200);
    await remove(second.id);
    expect(await blobs()).not.toContain(first.sha256);
    expect((await download(server, second.url)).status).toBe(404);
  });

  it('answers a byte range with 206, and one past the end with 416', async () => {
    const scanId = await createScan(server);
    const evidence = await uploaded(server, scanId, { filename: 'cap.pcap', content: SAMPLES.pcapNanoLittle });
    const size = SAMPLES.pcapNanoLittle.length;
    const partial = await download(server, evidence.url, { range: 'bytes=4-11' });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe(`bytes 4-11/${size}`);
    expect(partial.headers.get('content-length')).toBe('8');
    expect(Buffer.from(await partial.arrayBuffer()).equals(SAMPLES.pcapNanoLittle.subarray(4, 12))).toBe(true);
    const suffix = await download(server, evidence.url, { range: 'bytes=-4' });
    expect(Buffer.from(await suffix.arrayBuffer()).equals(SAMPLES.pcapNanoLittle.subarray(size - 4))).toBe(true);
    const beyond = await download(server, evidence.url, { range: `bytes=${size}-` });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${size}`);
  });

  it('downloads with a bearer header, refuses no credential with 401, and audits uploads, downloads and deletions', async () => {
    const scanId = await createScan(server);
    const evidence = await uploaded(server, scanId, { filename: 'a.png', content: SAMPLES.png });
    const bare = `/evidence/${evidence.id}`;
    expect((await download(server, bare)).status).toBe(401);
    expect((await download(server, bare, { authorization: `Bearer ${server.adminToken}` })).status).toBe(200);
    expect((await download(server, `${bare}?token=forged`)).status).toBe(401);
    await server.graphql('mutation($input: DeleteEvidenceInput!) { deleteEvidence(input: $input) { deletedEvidenceId } }', {
      input: { id: evidence.id },
    });
    const { body } = await server.graphql<{ auditEvents: { edges: { node: { action: string; targetId: string | null } }[] } }>(
      '{ auditEvents(first: 50) { edges { node { action targetId } } } }',
    );
    const actions = body.data?.auditEvents.edges.filter((edge) => edge.node.targetId === evidence.id).map((edge) => edge.node.action);
    expect(actions).toEqual(expect.arrayContaining(['EVIDENCE_UPLOADED', 'EVIDENCE_DOWNLOADED', 'EVIDENCE_DELETED']));
  });

  it("deletes a scan's evidence with the scan, and then the blobs nobody references", async () => {
    const scanId = await createScan(server);
    const content = Buffer.concat([SAMPLES.pdf, Buffer.from(`%% only here ${Date.now()}\n`)]);
    const evidence = await uploaded(server, scanId, { filename: 'gone.pdf', content });
    expect(await blobs()).toContain(evidence.sha256);
    await server.graphql('mutation($input: DeleteScanInput!) { deleteScan(input: $input) { deletedScanId } }', { input: { id: scanId } });
    expect((await download(server, evidence.url)).status).toBe(404);
    await expect.poll(() => blobs(), { timeout: 10_000 }).not.toContain(evidence.sha256);
  });
});

describe('who may touch evidence', () => {
  it("treats another analyst's scan and evidence as missing: upload, list, node, download and delete", async () => {
    const scanId = await createScan(server, analyst);
    const evidence = await uploaded(server, scanId, { filename: 'mine.png', content: SAMPLES.png }, analyst);
    const refused = await uploadTo(server, scanId, { filename: 'x.png', content: SAMPLES.png }, uploadHeaders(other.token));
    expect(refused.body?.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await evidenceOf(scanId, other)).toBeNull();
    const node = await server.graphql('query($id: ID!) { node(id: $id) { id } }', { id: evidence.id }, other.headers);
    expect(node.body.data).toEqual({ node: null });
    const own = await server.graphql(
      'query($id: ID!) { node(id: $id) { __typename ... on Evidence { filename scan { id } } } }',
      { id: evidence.id },
      analyst.headers,
    );
    expect(own.body.data).toEqual({ node: { __typename: 'Evidence', filename: 'mine.png', scan: { id: scanId } } });
    const missing = await download(server, `/evidence/${evidence.id}`, other.headers);
    const unknown = await download(server, '/evidence/RXZpZGVuY2U6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw', other.headers);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe(await unknown.text());
    const deleted = await server.graphql(
      'mutation($input: DeleteEvidenceInput!) { deleteEvidence(input: $input) { deletedEvidenceId } }',
      { input: { id: evidence.id } },
      other.headers,
    );
    expect(deleted.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    // A VIEWER reads and downloads every scan's evidence, and changes none.
    expect((await evidenceOf(scanId, viewer))?.totalCount).toBe(1);
    expect((await download(server, `/evidence/${evidence.id}`, viewer.headers)).status).toBe(200);
    const byViewer = await uploadTo(server, scanId, { filename: 'v.png', content: SAMPLES.png }, uploadHeaders(viewer.token));
    expect(byViewer.body?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // The owner's link works without a header, for the owner only while they are active.
    expect((await download(server, evidence.url)).status).toBe(200);
    await server.graphql('mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { id } } }', {
      input: { id: analystIdOf(analyst), active: false },
    });
    expect([401, 403, 404]).toContain((await download(server, evidence.url)).status);
  });

  it("lists each scan's evidence in a page of scans", async () => {
    const ids = await Promise.all([1, 2, 3].map(() => createScan(server)));
    for (const id of ids) await uploaded(server, id, { filename: 'p.png', content: SAMPLES.png });
    const { body } = await server.graphql<{ scans: { edges: { node: { evidence: { totalCount: number; edges: unknown[] } } }[] } }>(
      '{ scans(first: 3) { edges { node { id evidence(first: 2) { totalCount edges { node { id filename } } } } } } }',
    );
    expect(body.data?.scans.edges.map((edge) => edge.node.evidence.totalCount)).toEqual([1, 1, 1]);
  });
});

describe('limits by type, and the storage quota', () => {
  let small: ServerProcess;
  let smallDir: string;

  beforeAll(async () => {
    smallDir = await mkdtemp(path.join(tmpdir(), 'scanops-quota-'));
    small = await startServer({
      env: { EVIDENCE_DIR: smallDir, EVIDENCE_MAX_BYTES: '1000', EVIDENCE_MAX_CAPTURE_BYTES: '5000', EVIDENCE_QUOTA_BYTES: '6000' },
    });
  }, 60_000);

  afterAll(async () => {
    await small?.stop();
    await rm(smallDir, { recursive: true, force: true });
  });

  const sized = (sample: Buffer, size: number, fill: number) => Buffer.concat([sample, Buffer.alloc(size - sample.length, fill)]);

  it('gives captures their larger limit, and refuses with QUOTA_EXCEEDED a file that would take the user past the quota', async () => {
    const scanId = await createScan(small);
    await uploaded(small, scanId, { filename: 'a.png', content: sized(SAMPLES.png, 900, 1) });
    const tooLarge = await uploadTo(
      small,
      scanId,
      { filename: 'b.png', content: sized(SAMPLES.png, 1001, 2) },
      uploadHeaders(small.adminToken),
    );
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body?.errors?.[0]?.extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', maxBytes: 1000 });
    const capture = await uploaded(small, scanId, { filename: 'c.pcap', content: sized(SAMPLES.pcapMicroBig, 4000, 3) });
    expect(capture.size).toBe(4000);
    const stored = await blobs(smallDir);
    // 4,900 bytes used of 6,000: a 2,000-byte capture, within its own limit, would pass the quota.
    const over = await uploadTo(
      small,
      scanId,
      { filename: 'd.pcap', content: sized(SAMPLES.pcapMicroBig, 2000, 4) },
      uploadHeaders(small.adminToken),
    );
    expect(over.body?.errors?.[0]?.extensions?.code).toBe('QUOTA_EXCEEDED');
    expect(await blobs(smallDir)).toEqual(stored);
  });
});

describe('the multipart request', () => {
  const OPERATIONS = (scanId: string) =>
    JSON.stringify({
      query: 'mutation($input: UploadEvidenceInput!) { uploadEvidence(input: $input) { evidence { id } } }',
      variables: { input: { scanId, file: null } },
    });

  it('refuses a file sent before `operations`, and an `operations` part over MAX_BODY_BYTES', async () => {
    const scanId = await createScan(server);
    const early = new FormData();
    early.set('0', new Blob([SAMPLES.png]), 'x.png');
    early.set('operations', OPERATIONS(scanId));
    early.set('map', JSON.stringify({ 0: ['variables.input.file'] }));
    const first = await fetch(server.url, { method: 'POST', body: early, headers: uploadHeaders(server.adminToken) });
    expect(first.status).toBe(400);
    expect(((await first.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('BAD_USER_INPUT');
    const huge = new FormData();
    huge.set('operations', JSON.stringify({ query: `# ${'x'.repeat(200_000)}\n{ viewer { id } }` }));
    const big = await fetch(server.url, { method: 'POST', body: huge, headers: uploadHeaders(server.adminToken) });
    expect(big.status).toBe(413);
  });

  it('refuses a file given as a JSON variable instead of a part', async () => {
    const scanId = await createScan(server);
    const { body } = await server.graphql('mutation($input: UploadEvidenceInput!) { uploadEvidence(input: $input) { evidence { id } } }', {
      input: { scanId, file: 'not a file' },
    });
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'file' });
  });
});

function analystIdOf(user: TestUser): string {
  return user.id;
}
