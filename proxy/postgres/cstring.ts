/** A NUL-terminated string, as the protocol encodes them; NULs inside are dropped. */
export function cstring(text: string): Buffer {
  return Buffer.from(`${text.replaceAll('\0', '')}\0`, 'utf8');
}
