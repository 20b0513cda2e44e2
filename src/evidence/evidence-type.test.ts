import { describe, expect, it } from 'vitest';
import { claimedType, detectType } from './evidence-type.ts';

const bytes = (hex: string, pad = 32) => Buffer.concat([Buffer.from(hex.replace(/ /g, ''), 'hex'), Buffer.alloc(pad)]);
const PNG = bytes('89504e470d0a1a0a 0000000d49484452 00000001000000010806000000');

describe('detectType', () => {
  it('recognises PNG, JPEG and PDF by their signatures', async () => {
    expect(await detectType(PNG)).toEqual({ type: 'image/png' });
    expect(await detectType(bytes('ffd8ffe000104a464946'))).toEqual({ type: 'image/jpeg' });
    expect(await detectType(Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n', 'latin1'))).toEqual({ type: 'application/pdf' });
  });

  it('recognises pcap in both byte orders, micro and nano seconds, and pcapng', async () => {
    for (const magic of ['a1b2c3d4', 'd4c3b2a1', 'a1b23c4d', '4d3cb2a1']) {
      expect(await detectType(bytes(magic))).toEqual({ type: 'application/vnd.tcpdump.pcap' });
    }
    expect(await detectType(bytes('0a0d0d0a 1c000000 4d3c2b1a'))).toEqual({ type: 'application/x-pcapng' });
    expect(await detectType(bytes('0a0d0d0a 0000001c 1a2b3c4d'))).toEqual({ type: 'application/x-pcapng' });
  });

  it('names what anything else is', async () => {
    expect(await detectType(Buffer.alloc(0))).toEqual({ other: 'an empty file' });
    expect(await detectType(Buffer.from('<!DOCTYPE html><html></html>'))).toEqual({ other: 'text/html' });
    expect(await detectType(Buffer.from('<?php echo 1;'))).toEqual({ other: 'application/x-php' });
    expect(await detectType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toEqual({ other: 'image/svg+xml' });
    expect(await detectType(bytes('504b0304'))).toEqual({ other: 'application/zip' });
  });
});

describe('claimedType', () => {
  it('treats no type and octet-stream as no claim, and resolves aliases', () => {
    expect(claimedType('')).toBeNull();
    expect(claimedType('application/octet-stream')).toBeNull();
    expect(claimedType('Image/JPG; charset=x')).toBe('image/jpeg');
    expect(claimedType('image/png')).toBe('image/png');
  });
});
