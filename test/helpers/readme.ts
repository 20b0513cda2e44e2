/**
 * The README's shell sessions as a test sees them: each fenced `sh` block
 * whose lines start with `$ ` holds commands (a line ending in `\` goes on)
 * and, under each, the output it shows.
 */
export type Step = { command: string; expected: string; line: number };

export function shellSteps(markdown: string): Step[] {
  const steps: Step[] = [];
  const lines = markdown.split('\n');
  let inBlock = false;
  let current: Step | undefined;
  let continued = false;
  lines.forEach((text, index) => {
    if (/^```/.test(text)) {
      inBlock = !inBlock && /^```(sh|shell|bash)\s*$/.test(text);
      current = undefined;
      continued = false;
      return;
    }
    if (!inBlock) return;
    if (continued && current) {
      current.command += `\n${text}`;
      continued = text.endsWith('\\');
      return;
    }
    if (text.startsWith('$ ')) {
      current = { command: text.slice(2), expected: '', line: index + 1 };
      steps.push(current);
      continued = text.endsWith('\\');
      return;
    }
    if (current) current.expected += current.expected ? `\n${text}` : text;
  });
  return steps.map((step) => ({ ...step, expected: step.expected.trim() }));
}

/**
 * Why `actual` does not have the shape `expected` shows, or `undefined` when
 * it does. JSON is compared as a tree: the same keys, arrays both empty or
 * both not, numbers as numbers, strings equal unless they vary from run to
 * run: a string with `…` matches whatever starts like it; global IDs,
 * cursors and times match any of their kind. Other text is compared as is.
 */
export function shapeMismatch(expected: string, actual: string): string | undefined {
  if (expected === actual) return undefined;
  const want = splitJson(expected);
  const got = splitJson(actual);
  if (!want || !got)
    return expected.includes('…') && actual.startsWith(expected.split('…')[0] ?? '')
      ? undefined
      : `expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
  if (want.rest !== got.rest) return `expected ${JSON.stringify(want.rest)} after the JSON, got ${JSON.stringify(got.rest)}`;
  return treeMismatch(want.value, got.value, '$');
}

function splitJson(text: string): { value: unknown; rest: string } | undefined {
  const match = /^([{[][\s\S]*[}\]])([^}\]]*)$/.exec(text);
  if (!match) return undefined;
  try {
    return { value: JSON.parse(match[1]!), rest: match[2]!.trim() };
  } catch {
    return undefined;
  }
}

function treeMismatch(want: unknown, got: unknown, path: string): string | undefined {
  if (typeof want === 'string' && typeof got === 'string')
    return stringMatches(want, got) ? undefined : `${path}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`;
  if (typeof want === 'number') return typeof got === 'number' ? undefined : `${path}: expected a number, got ${JSON.stringify(got)}`;
  if (Array.isArray(want)) {
    if (!Array.isArray(got)) return `${path}: expected an array, got ${JSON.stringify(got)}`;
    if ((want.length === 0) !== (got.length === 0)) return `${path}: expected ${want.length} items, got ${got.length}`;
    // Lists whose length depends on the machine (open ports) are compared item by item against the first shown.
    for (const [index, item] of got.entries()) {
      const mismatch = treeMismatch(want[Math.min(index, want.length - 1)], item, `${path}[${index}]`);
      if (mismatch) return mismatch;
    }
    return undefined;
  }
  if (want && typeof want === 'object') {
    if (!got || typeof got !== 'object' || Array.isArray(got)) return `${path}: expected an object, got ${JSON.stringify(got)}`;
    const wantKeys = Object.keys(want);
    const gotKeys = Object.keys(got);
    if (wantKeys.join() !== gotKeys.join()) return `${path}: expected keys ${wantKeys.join(', ')}, got ${gotKeys.join(', ')}`;
    for (const key of wantKeys) {
      const mismatch = treeMismatch((want as Record<string, unknown>)[key], (got as Record<string, unknown>)[key], `${path}.${key}`);
      if (mismatch) return mismatch;
    }
    return undefined;
  }
  return Object.is(want, got) ? undefined : `${path}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`;
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

function stringMatches(want: string, got: string): boolean {
  if (want === got) return true;
  if (want.includes('…')) return got.startsWith(want.slice(0, want.indexOf('…')));
  if (ISO_TIME.test(want)) return ISO_TIME.test(got);
  const wantKind = opaqueKind(want);
  return wantKind !== undefined && wantKind === opaqueKind(got);
}

/** `Scan`, `User`, … for a global ID; `cursor` for a page cursor; `undefined` for other text. */
function opaqueKind(text: string): string | undefined {
  if (!/^[\w-]{16,}$/.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64url').toString('utf8');
  const id = /^([A-Z][A-Za-z]+):[\w-]+$/.exec(decoded);
  if (id) return id[1];
  if (decoded.startsWith('[') && decoded.endsWith(']')) return 'cursor';
  return undefined;
}
