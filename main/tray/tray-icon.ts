import { deflateSync } from 'node:zlib';

// The tray and window icon, drawn here (the Sluice diamond) rather than shipped as a binary:
// an RGBA PNG of any size, with a dot in the corner when approvals are waiting.

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

export function iconPng(size: number, options: { badge?: boolean } = {}): Buffer {
  const half = (size - 1) / 2;
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4); // filter byte 0 (none), then RGBA
    for (let x = 0; x < size; x++) {
      const inside = Math.abs(x - half) + Math.abs(y - half) <= half * 0.95;
      const dot = options.badge === true && (x - size * 0.8) ** 2 + (y - size * 0.2) ** 2 <= (size * 0.2) ** 2;
      const [r, g, b, a] = dot ? [0xd9, 0x3b, 0x2f, 0xff] : inside ? [0x24, 0x56, 0xd6, 0xff] : [0, 0, 0, 0];
      row.set([r, g, b, a], 1 + x * 4);
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

export function pendingTooltip(pending: number): string {
  return pending === 0 ? 'Sluice: no approvals waiting' : `Sluice: ${pending} approval${pending === 1 ? '' : 's'} waiting`;
}
