// safetensors.mjs -- reads F32 tensors from a safetensors file (the bench's
// own files; the compiler's loader validates untrusted ones).
import fs from 'node:fs';

// Returns get(name) -> Float32Array (a copy, aligned).
export function readSafetensors(path) {
  const buf = fs.readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const base = 8 + n;
  return (name) => {
    const t = header[name];
    if (!t) throw new Error(`${path}: no tensor '${name}'`);
    if (t.dtype !== 'F32') throw new Error(`${path}: '${name}' is ${t.dtype}, the bench reads F32`);
    const [b, e] = t.data_offsets;
    const bytes = buf.subarray(base + b, base + e);
    const out = new Float32Array(bytes.length / 4);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  };
}
