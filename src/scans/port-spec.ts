import { InvalidInputError } from '../errors.ts';

export const MIN_PORT = 1;
export const MAX_PORT = 65_535;

type Range = readonly [start: number, end: number];

/**
 * A set of TCP/UDP ports written as `"22,80,443,8000-8100"`. Parsing sorts and
 * merges ranges, so equal sets have one canonical string (`"80,22,20-25"` →
 * `"20-25,80"`): what is stored, compared and shown.
 */
export class PortSpec {
  readonly ranges: readonly Range[];

  private constructor(ranges: readonly Range[]) {
    this.ranges = ranges;
  }

  static parse(raw: string, field = 'ports'): PortSpec {
    const items = raw.split(',').map((item) => item.trim());
    if (items.length === 1 && items[0] === '') {
      throw new InvalidInputError(field, 'Port spec is empty; write ports like "80", "1-1000" or "22,80,443".');
    }
    const ranges = items.map((item) => parseItem(item, field));
    return new PortSpec(merge(ranges));
  }

  /** Number of ports in the set. */
  get count(): number {
    return this.ranges.reduce((sum, [start, end]) => sum + end - start + 1, 0);
  }

  has(port: number): boolean {
    return this.ranges.some(([start, end]) => port >= start && port <= end);
  }

  *ports(): Generator<number> {
    for (const [start, end] of this.ranges) {
      for (let port = start; port <= end; port++) yield port;
    }
  }

  toString(): string {
    return this.ranges.map(([start, end]) => (start === end ? `${start}` : `${start}-${end}`)).join(',');
  }
}

function parseItem(item: string, field: string): Range {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item);
  if (!match) {
    throw new InvalidInputError(field, `"${item}" is not a port or a range like "8000-8100".`);
  }
  const start = Number(match[1]);
  const end = match[2] === undefined ? start : Number(match[2]);
  for (const port of [start, end]) {
    if (port < MIN_PORT || port > MAX_PORT) {
      throw new InvalidInputError(field, `Port ${port} is out of range ${MIN_PORT}-${MAX_PORT}.`);
    }
  }
  if (start > end) {
    throw new InvalidInputError(field, `Range "${item}" is reversed; write it as "${end}-${start}".`);
  }
  return [start, end];
}

function merge(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [start, end] of sorted) {
    const last = merged.at(-1);
    // Adjacent ranges merge too: 20-25 and 26 are the set 20-26.
    if (last && start <= last[1] + 1) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}
