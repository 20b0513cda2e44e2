import { describe, expect, it } from 'vitest';
import { runProcess } from './child-process.ts';

const text = async (stream: AsyncIterable<string>) => {
  let out = '';
  for await (const chunk of stream) out += chunk;
  return out;
};

describe('runProcess', () => {
  it('feeds stdin, streams stdout, and keeps the start of stderr', async () => {
    const cat = runProcess('sh', ['-c', 'cat; echo oops >&2; exit 3'], { stdin: 'hello\n', stderrLimit: 2 });
    expect(await text(cat.stdout)).toBe('hello\n');
    expect(await cat.exited).toMatchObject({ code: 3, stderr: expect.stringMatching(/^oo/) });
  });

  it('says at once when the program is not there', async () => {
    const missing = runProcess('/nonexistent/tool', []);
    expect((await missing.exited).error?.code).toBe('ENOENT');
  });

  it('stops on abort: SIGTERM, then SIGKILL for one that ignores it', async () => {
    const controller = new AbortController();
    const stubborn = runProcess('sh', ['-c', "trap '' TERM; echo ready; exec sleep 30"], { signal: controller.signal, killAfterMs: 100 });
    // Once it says so, it ignores SIGTERM.
    for await (const _ of stubborn.stdout) break;
    const started = Date.now();
    controller.abort();
    expect((await stubborn.exited).signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('leaves nothing running when its reader stops early', async () => {
    const chatty = runProcess('sh', ['-c', 'while true; do echo line; done']);
    for await (const _ of chatty.stdout) break;
    chatty.kill();
    // Gone either way: killed, or cut off by its closed pipe first.
    expect(['SIGKILL', 'SIGPIPE']).toContain((await chatty.exited).signal);
  });
});
