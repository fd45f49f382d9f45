// node:zlib plus the crc32 of Node >= 20.15 (test only, see node20-crc32.mjs).
import zlib from 'node:zlib';

export * from 'node:zlib';

const table = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  table[n] = c >>> 0;
}

/** zlib.crc32(data[, value]) as Node 20.15 has it */
export function crc32(data, value = 0) {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  let crc = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < buf.length; i++) crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export default { ...zlib, crc32 };
