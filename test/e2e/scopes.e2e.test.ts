import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServer, subscribe, type TestUser } from '../helpers/server.ts';

const CREATE_SCOPE =
  'mutation($input: CreateScopeInput!) { createScope(input: $input) { scope { id cidr description createdBy { email } } } }';
const DELETE_SCOPE = 'mutation($id: ID!) { deleteScope(input: { id: $id }) { deletedScopeId } }';
const CREATE_SCAN = 'mutation($input: CreateScanInput!) { createScan(input: $input) { scan { id status } } }';
const PROGRESS = 'subscription($id: ID!) { scanProgress(scanId: $id) { probesDone } }';

let server: ServerProcess;
let analyst: TestUser;

type Scope = { id: string; cidr: string; description: string | null; createdBy: { email: string } };

async function createScope(input: Record<string, unknown>): Promise<Scope> {
  const { body } = await server.graphql<{ createScope: { scope: Scope } }>(CREATE_SCOPE, { input });
  expect(body.errors).toBeUndefined();
  return body.data!.createScope.scope;
}

beforeAll(async () => {
  // A baseline of ::1 alone, so IPv4 loopback is in scope only while an admin's scope allows it.
  server = await startServer({ env: { SCAN_ALLOWED_TARGETS: '::1/128' } });
  analyst = await server.createUser('ANALYST');
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

describe('scopes in the database', () => {
  it('shows the configured baseline to everyone signed in', async () => {
    const { body } = await server.graphql('{ allowedTargets scopes { totalCount } }', {}, analyst.headers);
    expect(body).toEqual({ data: { allowedTargets: ['::1/128'], scopes: { totalCount: 0 } } });
  });

  it('takes only networks in CIDR form, canonical, once each', async () => {
    for (const cidr of ['127.0.0.1', 'localhost/8', '127.0.0.0/33', 'banana']) {
      const { body } = await server.graphql(CREATE_SCOPE, { input: { cidr } });
      expect(body.errors?.[0]?.extensions, cidr).toEqual({ code: 'BAD_USER_INPUT', field: 'cidr' });
    }
    const scope = await createScope({ cidr: '127.9.9.9/16', description: ' lab ' });
    expect(scope).toMatchObject({ cidr: '127.9.0.0/16', description: 'lab', createdBy: { email: 'admin@scanops.test' } });
    const again = await server.graphql(CREATE_SCOPE, { input: { cidr: '127.9.0.0/16' } });
    expect(again.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect((await server.graphql(DELETE_SCOPE, { id: scope.id })).body.errors).toBeUndefined();
  });

  it('lets a scan target a network only while a scope allows it, and a worker checks again before it sends anything', async () => {
    const refused = await server.graphql(CREATE_SCAN, { input: { targets: ['127.0.0.1'], ports: '1' } }, analyst.headers);
    expect(refused.body.errors?.[0]).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field: 'targets' },
      message: expect.stringContaining('outside the allowed scope'),
    });

    const scope = await createScope({ cidr: '127.0.0.0/8' });
    const { body } = await server.graphql<{ createScan: { scan: { id: string } } }>(
      CREATE_SCAN,
      { input: { targets: ['127.0.0.1'], ports: '1' } },
      analyst.headers,
    );
    expect(body.errors).toBeUndefined();
    const { id } = body.data!.createScan.scan;

    // The scope goes before the scan starts: the worker must refuse it.
    expect((await server.graphql(DELETE_SCOPE, { id: scope.id })).body.errors).toBeUndefined();
    const progress = subscribe<{ scanProgress: { probesDone: number } }>(server.wsClient({ token: analyst.token }), PROGRESS, { id });
    await progress.next(1);
    await server.graphql('mutation($id: ID!) { startScan(input: { id: $id }) { scan { status } } }', { id }, analyst.headers);
    await progress.completed;
    const { body: ended } = await server.graphql<{ scan: { status: string; error: string } }>(
      'query($id: ID!) { scan(id: $id) { status error } }',
      { id },
      analyst.headers,
    );
    expect(ended.data!.scan.status).toBe('FAILED');
    expect(ended.data!.scan.error).toMatch(/127\.0\.0\.1 is outside the allowed scope/);
  });

  it('refuses an IPv4 address in any notation but dotted decimal, naming the address it stands for', async () => {
    for (const [target, address] of [
      ['0x08080808', '8.8.8.8'],
      ['134744072', '8.8.8.8'],
      ['127.1', '127.0.0.1'],
      ['0177.0.0.1', '127.0.0.1'],
    ]) {
      const { body } = await server.graphql(CREATE_SCAN, { input: { targets: [target], ports: '1' } }, analyst.headers);
      expect(body.errors?.[0], target).toMatchObject({
        extensions: { code: 'BAD_USER_INPUT', field: 'targets' },
        message: `"${target}" is the IPv4 address ${address} in another notation; write it in dotted form, as ${address}.`,
      });
    }
  });

  it('resolves a hostname at creation and refuses it when any of its addresses is outside the scope', async () => {
    // localhost is 127.0.0.1 (from /etc/hosts, no DNS query), and this server's baseline is ::1 alone.
    const { body } = await server.graphql(CREATE_SCAN, { input: { targets: ['localhost'], ports: '1' } }, analyst.headers);
    expect(body.errors?.[0]).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field: 'targets' },
      message: expect.stringMatching(/^Hostname localhost resolves to 127\.0\.0\.1, which is outside the allowed scope \(::1\/128\)/),
    });
    // The process prints its log line as it answers: give the pipe a moment.
    const logged = () =>
      server.output.some(
        (line) => line.includes('"msg":"scan target refused"') && line.includes('"target":"localhost"') && line.includes('"requestId"'),
      );
    for (let wait = 0; wait < 50 && !logged(); wait++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(logged()).toBe(true);
  });

  it('records every refused target in the audit log, at creation and at start', async () => {
    const { body } = await server.graphql<{
      auditEvents: { nodes: { actor: { email: string } | null; targetId: string | null; details: string }[] };
    }>('{ auditEvents(first: 100, filter: { action: [SCAN_REFUSED] }) { nodes { actor { email } targetId details } } }');
    const refused = body.data!.auditEvents.nodes.map((event) => ({
      ...JSON.parse(event.details),
      scan: Boolean(event.targetId),
      actor: event.actor?.email ?? null,
    }));
    expect(refused.reverse()).toEqual([
      { via: 'session', target: '127.0.0.1', reason: 'OUT_OF_SCOPE', stage: 'CREATE', scan: false, actor: analyst.email },
      { target: '127.0.0.1', reason: 'OUT_OF_SCOPE', stage: 'START', scan: true, actor: null },
      ...['0x08080808', '134744072', '127.1', '0177.0.0.1'].map((target) => ({
        via: 'session',
        target,
        reason: 'NUMERIC_ADDRESS',
        stage: 'CREATE',
        scan: false,
        actor: analyst.email,
      })),
      { via: 'session', target: 'localhost', reason: 'OUT_OF_SCOPE', stage: 'CREATE', scan: false, actor: analyst.email },
    ]);
  });

  it('leaves scope changes to admins, and records them in the audit log', async () => {
    const denied = await server.graphql(CREATE_SCOPE, { input: { cidr: '127.0.0.0/8' } }, analyst.headers);
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const { body } = await server.graphql<{ auditEvents: { nodes: { action: string; details: string }[] } }>(
      '{ auditEvents(filter: { action: [SCOPE_CREATED, SCOPE_DELETED] }) { nodes { action details } } }',
    );
    expect(body.data!.auditEvents.nodes.map((event) => [event.action, JSON.parse(event.details).cidr])).toEqual([
      ['SCOPE_DELETED', '127.0.0.0/8'],
      ['SCOPE_CREATED', '127.0.0.0/8'],
      ['SCOPE_DELETED', '127.9.0.0/16'],
      ['SCOPE_CREATED', '127.9.0.0/16'],
    ]);
  });
});
