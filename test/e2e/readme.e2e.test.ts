import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Step, shapeMismatch, shellSteps } from '../helpers/readme.ts';
import { type ServerProcess, startServer } from '../helpers/server.ts';

/**
 * The README's curl session, pasted in order into one shell against a fresh
 * server started as the README starts it, each response held against the
 * one the README shows. The README says port 4000; this server's port
 * stands in for it, in the commands and in the answers.
 */
const README = await readFile('README.md', 'utf8');
// The session is curl's; CI installs it (.ci/run), a machine without it skips this file saying so.
const hasCurl = spawnSync('curl', ['--version']).status === 0;
if (!hasCurl && !process.env.CI) console.warn('README session test skipped: curl is not installed');
const ADMIN = { ADMIN_EMAIL: 'admin@example.com', ADMIN_PASSWORD: 'correct horse battery staple' };

let server: ServerProcess;
let port: string;
let workDir: string;

const withPort = (text: string) => text.replaceAll(/\b4000\b/g, port);

beforeAll(async () => {
  if (!hasCurl && !process.env.CI) return;
  server = await startServer({ env: { ...ADMIN, NODE_ENV: 'development' } });
  port = new URL(server.url).port;
  // Scripts the README writes (a subscription client) must find the project's packages.
  workDir = await mkdtemp(path.resolve('.data/readme-'));
});

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
  if (server) expect(await server.stop()).toBe(0);
});

/** Runs every step in one bash, as a person pasting them would; each step's output, in order. */
async function runSession(steps: Step[]): Promise<string[]> {
  const marker = `--readme-step-${process.pid}--`;
  const script = steps.map((step) => `${withPort(step.command)}\nprintf '\\n${marker}\\n'`).join('\n');
  const shell = spawn('bash', ['--noprofile', '--norc'], {
    cwd: workDir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const outputs: string[] = [];
  let current: string[] = [];
  createInterface({ input: shell.stdout }).on('line', (line) => {
    if (line === marker) {
      outputs.push(current.join('\n').trim());
      current = [];
    } else current.push(line);
  });
  let stderr = '';
  shell.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  shell.stdin.end(`${script}\n`);
  const code = await new Promise<number | null>((resolve) => shell.on('close', resolve));
  if (code !== 0 || outputs.length !== steps.length)
    throw new Error(`the session stopped after ${outputs.length} of ${steps.length} steps (exit ${code}):\n${stderr}`);
  return outputs;
}

/** The README's subscription script, run as it says, printing what it receives. */
function runScript(file: string, token: string) {
  const child = spawn(process.execPath, [file], {
    cwd: workDir,
    env: { PATH: process.env.PATH ?? '', TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
  createInterface({ input: child.stderr }).on('line', (line) => lines.push(line));
  return { lines, stop: () => child.kill() };
}

async function until(check: () => boolean, poke: () => Promise<unknown>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await poke();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.skipIf(!hasCurl && !process.env.CI)('the README', () => {
  const steps = shellSteps(README);

  it('has a curl session to run', () => {
    expect(steps.filter((step) => step.command.startsWith('curl')).length).toBeGreaterThan(10);
  });

  it('runs as pasted, every response shaped as shown', async () => {
    const outputs = await runSession(steps);
    if (process.env.README_DUMP) await writeFile(process.env.README_DUMP, JSON.stringify({ port, steps, outputs }));
    const mismatches = steps.flatMap((step, index) => {
      const mismatch = shapeMismatch(withPort(step.expected), outputs[index] ?? '');
      return mismatch ? [`README.md:${step.line} ${step.command.split('\n')[0]}\n  ${mismatch}\n  got: ${outputs[index]}`] : [];
    });
    expect(mismatches).toEqual([]);
  }, 60_000);

  it('has a subscription script that authenticates and prints what it shows', async () => {
    const script = /```js\n(import \{ createClient \}[\s\S]*?)```/.exec(README)?.[1];
    const shown = /creating a scan with `ports: "22"` elsewhere prints\n\n```\n(.*)\n```/.exec(README)?.[1];
    expect(script).toContain('connectionParams');
    expect(shown).toBeDefined();
    const file = path.join(workDir, 'watch-scans.mjs');
    await writeFile(file, withPort(script!));

    const watching = runScript(file, server.adminToken);
    try {
      const create = () => server.graphql('mutation { createScan(input: { targets: ["127.0.0.1"], ports: "22" }) { scan { id } } }');
      // A subscribe message has no acknowledgement: create scans until the script has seen one.
      await until(() => watching.lines.length > 0, create, 'the script to print a scan');
      expect(shapeMismatch(shown!, watching.lines[0]!)).toBeUndefined();
    } finally {
      watching.stop();
    }

    const refused = runScript(file, 'not-a-token');
    try {
      await until(
        () => refused.lines.length > 0,
        async () => {},
        'the script to report its refusal',
      );
      expect(refused.lines).toEqual(['subscription ended: 4401 Unauthorized']);
      expect(README).toContain('with a bad token it prints `subscription ended: 4401 Unauthorized`');
    } finally {
      refused.stop();
    }
  });
});
