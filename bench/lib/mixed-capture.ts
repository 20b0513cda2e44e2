import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MIXED_TRAFFIC_VERSION, writeMixedPcap } from '../../test/helpers/mixed-traffic.ts';

/**
 * The mixed-traffic pcap of a bench (test/helpers/mixed-traffic.ts), kept
 * under .data/bench/ with a manifest for the next run: the same files, names
 * and manifest as bench:decode's, so the two benches share them.
 */
export const ROOT = path.resolve(import.meta.dirname, '../..');
export const SEED = 1;
export const FLOWS = 3000;

export type Manifest = { version: number; seed: number; flows: number; packets: number; bytes: number; byProtocol: Record<string, number> };

export function capturePaths(packets: number): { capture: string; manifest: string } {
  const name = packets % 1_000_000 === 0 ? `mixed-${packets / 1_000_000}m` : `mixed-${packets}`;
  return { capture: path.join(ROOT, '.data/bench', `${name}.pcap`), manifest: path.join(ROOT, '.data/bench', `${name}.json`) };
}

function readManifest(packets: number): Manifest | null {
  const { capture, manifest: file } = capturePaths(packets);
  try {
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
    const valid =
      manifest.version === MIXED_TRAFFIC_VERSION &&
      manifest.seed === SEED &&
      manifest.flows === FLOWS &&
      manifest.packets === packets &&
      existsSync(capture) &&
      statSync(capture).size === manifest.bytes;
    return valid ? manifest : null;
  } catch {
    return null;
  }
}

/** The capture of an earlier run when its manifest still describes it, else a new one (written aside, then renamed). */
export async function mixedCapture(packets: number, progress: (text: string) => void): Promise<Manifest & { path: string }> {
  const { capture, manifest: manifestPath } = capturePaths(packets);
  const kept = readManifest(packets);
  if (kept) {
    progress(`reusing ${path.relative(ROOT, capture)} (${kept.packets} packets, ${(kept.bytes / 1e6).toFixed(0)} MB)`);
    return { ...kept, path: capture };
  }
  mkdirSync(path.dirname(capture), { recursive: true });
  const partial = `${capture}.partial`;
  const started = performance.now();
  const { bytes, byProtocol } = await writeMixedPcap(partial, packets, { seed: SEED, flows: FLOWS });
  renameSync(partial, capture);
  const manifest: Manifest = { version: MIXED_TRAFFIC_VERSION, seed: SEED, flows: FLOWS, packets, bytes, byProtocol };
  writeFileSync(manifestPath, `${JSON.stringify(manifest)}\n`);
  progress(
    `wrote ${path.relative(ROOT, capture)}: ${packets} packets, ${(bytes / 1e6).toFixed(0)} MB in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return { ...manifest, path: capture };
}
