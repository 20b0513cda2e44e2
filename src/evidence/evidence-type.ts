import { fileTypeFromBuffer } from 'file-type';

/** The types evidence may have, as detected from content. */
export const EVIDENCE_TYPES = {
  'image/png': 'document',
  'image/jpeg': 'document',
  'application/pdf': 'document',
  'application/vnd.tcpdump.pcap': 'capture',
  'application/x-pcapng': 'capture',
} as const;
export type EvidenceType = keyof typeof EVIDENCE_TYPES;

/** How many leading bytes detection looks at (file-type's own need). */
export const SNIFF_BYTES = 4_100;

/** Other names clients give the same types: a claim is held against the detected type through these. */
const ALIASES: Record<string, EvidenceType> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'application/x-pdf': 'application/pdf',
  'application/pcap': 'application/vnd.tcpdump.pcap',
  'application/x-pcap': 'application/vnd.tcpdump.pcap',
  'application/vnd.tcpdump.pcapng': 'application/x-pcapng',
  'application/pcapng': 'application/x-pcapng',
};

const isEvidenceType = (type: string): type is EvidenceType => Object.hasOwn(EVIDENCE_TYPES, type);

/** A claimed type, normalized (parameters and case dropped, aliases resolved); `null` when no real claim was made. */
export function claimedType(claim: string): string | null {
  const type = claim.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === '' || type === 'application/octet-stream') return null;
  return ALIASES[type] ?? type;
}

/** pcap: the magic number in either byte order, micro- or nanosecond timestamps. */
const PCAP_MAGICS = [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1];

function captureType(head: Uint8Array): EvidenceType | null {
  if (head.length < 12) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head.length >= 24 && PCAP_MAGICS.includes(view.getUint32(0, false))) return 'application/vnd.tcpdump.pcap';
  // pcapng: a Section Header Block (type 0x0A0D0D0A, a palindrome) with its byte-order magic at offset 8.
  const magic = view.getUint32(8, false);
  if (view.getUint32(0, false) === 0x0a0d0d0a && (magic === 0x1a2b3c4d || magic === 0x4d3c2b1a)) return 'application/x-pcapng';
  return null;
}

/** What other content most likely is, to name it in the refusal. */
function otherType(head: Uint8Array): string {
  if (head.length === 0) return 'an empty file';
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head.subarray(0, 512)).trimStart().toLowerCase();
  if (text.startsWith('<?php')) return 'application/x-php';
  if (text.includes('<svg')) return 'image/svg+xml';
  if (/^<(!doctype html|html|head|body|script|\w+)/.test(text)) return 'text/html';
  if (text.startsWith('<?xml')) return 'application/xml';
  return 'application/octet-stream (no known signature)';
}

/** The type of content starting with `head`: one evidence may have, or the name of what else it is. */
export async function detectType(head: Uint8Array): Promise<{ type: EvidenceType } | { other: string }> {
  const capture = captureType(head);
  if (capture) return { type: capture };
  const found = head.length > 0 ? await fileTypeFromBuffer(head) : undefined;
  if (found && isEvidenceType(found.mime)) return { type: found.mime };
  return { other: found?.mime ?? otherType(head) };
}
