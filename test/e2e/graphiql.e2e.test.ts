import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServer } from '../helpers/server.ts';

// Debian's package, not Playwright's download: CI machines reach only the Debian mirrors and npm.
const CHROMIUM = '/usr/bin/chromium';
// GraphiQL names the Monaco model of its Headers editor `…request-headers.json`.
const HEADERS_EDITOR = '.graphiql-editor-tool .monaco-editor[data-uri$="request-headers.json"]';
const CREATE = 'mutation($input: CreateScanInput!) { createScan(input: $input) { scan { id } } }';
const missing = !existsSync(CHROMIUM);
// CI must run this suite; a developer without the browser gets a skip that says why.
const skipped = missing && !process.env.CI;
const title = skipped ? `GraphiQL in a browser (skipped: ${CHROMIUM} is missing; apt-get install chromium)` : 'GraphiQL in a browser';

/** What a page tried to reach beyond the server: must stay empty for GraphiQL to work offline. */
type Escapes = { aborted: string[]; sockets: string[]; errors: string[] };

describe.skipIf(skipped)(title, () => {
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    if (missing) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    [server, browser] = await Promise.all([
      startServer(),
      chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
          '--disable-quic',
        ],
      }),
    ]);
  });

  afterEach(async () => {
    await context?.close();
    context = undefined;
  });

  afterAll(async () => {
    await browser?.close();
    if (server) expect(await server.stop()).toBe(0);
  });

  /**
   * Opens GraphiQL with `query` in its editor, in a fresh context: GraphiQL keeps
   * tabs in localStorage and would otherwise restore the previous test's query
   * over the `?query=` parameter.
   */
  async function openGraphiQL(query: string): Promise<{ page: Page; escapes: Escapes; sentFrames: string[] }> {
    const serverHost = new URL(server.url).host;
    const escapes: Escapes = { aborted: [], sockets: [], errors: [] };
    const sentFrames: string[] = [];
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(15_000);
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.protocol === 'data:' || url.protocol === 'blob:' || url.host === serverHost) return route.continue();
      escapes.aborted.push(url.href);
      return route.abort('internetdisconnected');
    });
    const page = await context.newPage();
    // `route` does not see WebSockets, so their addresses are checked apart. Frames are
    // recorded from the start: a listener added once the socket is known may miss them.
    page.on('websocket', (socket) => {
      if (new URL(socket.url()).host !== serverHost) escapes.sockets.push(socket.url());
      socket.on('framesent', (frame) => sentFrames.push(String(frame.payload)));
    });
    page.on('pageerror', (error) => escapes.errors.push(error.message));
    await page.goto(`${server.url}?query=${encodeURIComponent(query)}`);
    // Monaco fills the editor after the page loads; running before that would send an empty document.
    const operation = /^\s*(\w+)/.exec(query)?.[1] ?? query;
    await expect.poll(() => paneText(page, '.graphiql-query-editor'), { timeout: 15_000 }).toContain(operation);
    return { page, escapes, sentFrames };
  }

  /**
   * Types `headers` into the Headers editor as a person would. Select-all first so the
   * typing replaces the pane; Monaco types over the brackets and quotes it auto-closes.
   */
  async function typeHeaders(page: Page, headers: Record<string, string>): Promise<void> {
    const text = JSON.stringify(headers);
    await page.locator('.graphiql-editor-tools').getByRole('button', { name: 'Headers', exact: true }).click();
    await page.locator(HEADERS_EDITOR).click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(text);
    // Anything auto-closed and left over would make the headers invalid JSON, which GraphiQL refuses to send.
    // The leading 1 is the pane's line number: the headers are all on one line.
    await expect.poll(() => paneText(page, HEADERS_EDITOR)).toBe(`1 ${text}`);
  }

  /** The text of a Monaco pane, its non-breaking spaces and soft wraps folded to single spaces. */
  async function paneText(page: Page, selector: string): Promise<string> {
    // biome-ignore lint/performance/useDomNodeTextContent: what a person sees, as laid out: Monaco's text nodes hold more than it shows
    return (await page.locator(selector).innerText()).replace(/\s+/g, ' ');
  }

  async function createScan(input: Record<string, unknown>): Promise<void> {
    const { body } = await server.graphql(CREATE, { input });
    expect(body.errors).toBeUndefined();
  }

  async function expectRenderedOffline(page: Page, escapes: Escapes): Promise<void> {
    expect(escapes).toEqual({ aborted: [], sockets: [], errors: [] });
    expect(await page.locator('.graphiql-container .graphiql-query-editor .monaco-editor').isVisible()).toBe(true);
  }

  it('runs the query in its editor and shows the result, without any request off the server', async () => {
    // The server's database is this file's own, so this is its only scan.
    await createScan({ targets: ['127.0.0.1'] });
    const { page, escapes } = await openGraphiQL('{ scans(first: 5) { totalCount } }');
    await typeHeaders(page, { authorization: `Bearer ${server.adminToken}` });

    const sent = page.waitForRequest((request) => request.method() === 'POST' && Boolean(request.postData()?.includes('totalCount')));
    await page.locator('.graphiql-execute-button').click();

    expect((await sent).headers().authorization).toBe(`Bearer ${server.adminToken}`);
    await expect.poll(() => paneText(page, '.result-window'), { timeout: 10_000 }).toContain('"totalCount": 1');
    await expectRenderedOffline(page, escapes);
  });

  it('shows the UNAUTHENTICATED error of a query run without headers, without any request off the server', async () => {
    // A fresh context: no headers left in localStorage by an earlier test.
    const { page, escapes } = await openGraphiQL('{ scans(first: 5) { totalCount } }');

    const sent = page.waitForRequest((request) => request.method() === 'POST' && Boolean(request.postData()?.includes('totalCount')));
    await page.locator('.graphiql-execute-button').click();

    expect((await sent).headers().authorization).toBeUndefined();
    await expect.poll(() => paneText(page, '.result-window'), { timeout: 10_000 }).toContain('"code": "UNAUTHENTICATED"');
    await expectRenderedOffline(page, escapes);
  });

  it('runs a subscription over graphql-ws and shows each event as it arrives', async () => {
    const { page, escapes, sentFrames } = await openGraphiQL('subscription { scanUpdated { id ports } }');
    await typeHeaders(page, { authorization: `Bearer ${server.adminToken}` });

    await page.locator('.graphiql-execute-button').click();
    const isSubscribe = (frame: string) => frame.includes('"type":"subscribe"');
    await expect.poll(() => sentFrames.some(isSubscribe), { timeout: 10_000 }).toBe(true);
    // GraphiQL's connection_init is empty: the token reaches the server only in the operation's extensions.
    const subscribe = JSON.parse(sentFrames.find(isSubscribe) ?? '{}') as { payload?: { extensions?: unknown } };
    expect(subscribe.payload?.extensions).toMatchObject({ headers: { authorization: `Bearer ${server.adminToken}` } });
    // graphql-ws does not acknowledge a subscribe; give the server a moment to attach to the event bus.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await createScan({ targets: ['127.0.0.1'], ports: '4242' });

    await expect.poll(() => paneText(page, '.result-window'), { timeout: 10_000 }).toContain('"ports": "4242"');
    await expectRenderedOffline(page, escapes);
    // Left behind for a look at what the browser showed.
    await page.screenshot({ path: path.join(tmpdir(), 'graphiql.png') });
  });
});
