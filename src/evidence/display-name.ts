/** Longest name kept, in code points: enough for any real file name, bounded for every display. */
export const MAX_NAME_LENGTH = 255;

// C0 and C1 controls (NUL, line breaks, escapes) and the bidirectional controls that reorder what follows (U+202E …).
const UNSAFE = /[\p{Cc}\p{Bidi_Control}]/gu;

/**
 * A client's file name as it may be shown: controls and direction overrides
 * dropped, at most `MAX_NAME_LENGTH` code points, never empty. It is only
 * ever displayed (and quoted in a download's headers): it names nothing on
 * the server, so `../../etc/passwd` is just text.
 */
export function displayName(raw: string): string {
  const clean = [...raw.normalize('NFC').replace(UNSAFE, '')].slice(0, MAX_NAME_LENGTH).join('').trim();
  return clean === '' ? 'file' : clean;
}

/**
 * `Content-Disposition: attachment` for `name`: an ASCII fallback with
 * anything outside printable ASCII, quotes, backslashes and path separators
 * replaced, and the name itself in UTF-8 as `filename*` (RFC 6266, RFC 8187).
 */
export function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\/%;]/g, '_').slice(0, 150) || 'file';
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
