import type { ProbeResult } from '../../src/scans/engine/scanner.ts';

/** Every result an engine streams, in port order. */
export async function collect(batches: AsyncIterable<ProbeResult[]>): Promise<ProbeResult[]> {
  const all: ProbeResult[] = [];
  for await (const batch of batches) all.push(...batch);
  return all.sort((a, b) => a.port - b.port);
}

/** `{ port: state }`, for exact comparisons. */
export const statesOf = (results: ProbeResult[]) => Object.fromEntries(results.map((r) => [r.port, r.state]));
