// Minimal .npy reading and writing for the node driver: float32 or float64,
// little-endian, C order (what `cascade run` writes and reads).
import { readFileSync, writeFileSync } from 'node:fs';

export function readNpy(path) {
  const bytes = readFileSync(path);
  const fail = (why) => { throw new Error(`${path}: error: ${why}`); };
  if (bytes.length < 10 || bytes.toString('latin1', 0, 6) !== '\x93NUMPY')
    fail('not a .npy file');
  const major = bytes[6];
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = bytes.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (/'fortran_order':\s*True/.test(header)) fail('Fortran order is not supported');
  if (shapeText === undefined) fail('no shape in the header');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const body = bytes.subarray(start);
  const copy = (size) => {
    if (body.length < n * size) fail('truncated data');
    return body.buffer.slice(body.byteOffset, body.byteOffset + n * size);
  };
  if (descr === '<f4') return { shape, data: new Float32Array(copy(4)) };
  if (descr === '<f8') return { shape, data: Float32Array.from(new Float64Array(copy(8))) };
  fail(`unsupported dtype '${descr}' (expected <f4 or <f8)`);
}

export function writeNpy(path, shape, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${
      shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  writeFileSync(path, Buffer.concat([head, Buffer.from(header, 'latin1'),
                                     Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}
