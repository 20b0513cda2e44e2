import { describe, expect, it } from 'vitest';
import { attachment, displayName, MAX_NAME_LENGTH } from './display-name.ts';

describe('displayName', () => {
  it('keeps a path as text, and drops controls and direction overrides', () => {
    expect(displayName('../../etc/passwd')).toBe('../../etc/passwd');
    expect(displayName('a\u0000b\r\nc')).toBe('abc');
    expect(displayName('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
  });

  it('bounds a long name and never returns an empty one', () => {
    expect([...displayName('é'.repeat(10_000))]).toHaveLength(MAX_NAME_LENGTH);
    expect(displayName('\u0000\u202E')).toBe('file');
  });
});

describe('attachment', () => {
  it('gives an ASCII fallback and the UTF-8 name', () => {
    expect(attachment('rapport été.pdf')).toBe(`attachment; filename="rapport _t_.pdf"; filename*=UTF-8''rapport%20%C3%A9t%C3%A9.pdf`);
  });

  it('cannot break out of the header or the quotes', () => {
    const header = attachment('x"; filename=evil.html\r\nSet-Cookie: a=b');
    expect(header).not.toMatch(/[\r\n]/);
    expect(header.split('"')).toHaveLength(3);
  });
});
