// Runs a compiled WebGPU model in headless Chromium, the way a web page
// would: a page served from 127.0.0.1 (a secure context) imports the
// runtime module, loads the model with loadModelFromUrl, runs it on the
// inputs, and POSTs every output back to this server.
//   node browser-run.mjs MODEL_DIR --input NAME=FILE.npy ... --output-dir DIR
//        [--weights FILE.safetensors] [--chromium PATH] [--timeout SECONDS]
// MODEL_DIR is the output of `cascade compile --target=webgpu`. With
// --weights, the page fetches the file and sets the model's weights by
// their keys (parseSafetensors, setWeights); --input gives the rest. Writes
// DIR/NAME.npy per output and prints `adapter=...`. Exit codes: 0 ok,
// 1 error, 77 no Chromium or no WebGPU in it (a skip).
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { readNpy, writeNpy } from './npy.mjs';

const page = (manifest) => `<!doctype html>
<meta charset="utf-8">
<title>cascade: ${manifest}</title>
<script type="module">
import { loadModelFromUrl, parseSafetensors } from '/model/cascade-webgpu.mjs';
const post = (path, body) => fetch(path, { method: 'POST', body });
try {
  if (!navigator.gpu) throw new Error('unavailable: navigator.gpu is undefined');
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('unavailable: no WebGPU adapter');
  const info = adapter.info || {};
  await post('/adapter', [info.vendor, info.architecture, info.description].filter((s) => s).join(' '));
  const model = await loadModelFromUrl(adapter, '/model/${manifest}');
  const inputs = {};
  const weights = await fetch('/weights.safetensors');
  if (weights.ok) model.setWeights(parseSafetensors(await weights.arrayBuffer()));
  for (const t of [...model.manifest.inputs, ...(weights.ok ? [] : model.manifest.weights)]) {
    const r = await fetch('/inputs/' + encodeURIComponent(t.name));
    inputs[t.name] = new Float32Array(await r.arrayBuffer());
  }
  const outputs = await model.run(inputs);
  for (const [name, data] of Object.entries(outputs))
    await post('/outputs/' + encodeURIComponent(name), data);
  await post('/done', 'ok');
} catch (e) {
  await post('/error', String(e && e.message || e));
}
</script>
`;

const types = { '.mjs': 'text/javascript', '.js': 'text/javascript',
                 '.json': 'application/json', '.wgsl': 'text/plain',
                 '.html': 'text/html' };

function fail(message, code = 1) {
  console.error(`error: ${message}`);
  process.exit(code);
}

const argv = process.argv.slice(2);
let modelDir, outputDir, weightsFile, chromium = '/usr/bin/chromium', timeout = 120;
const inputs = new Map();
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--input') {
    const spec = argv[++i], eq = spec.indexOf('=');
    if (eq < 0) fail(`--input ${spec}: expected NAME=FILE.npy`, 2);
    inputs.set(spec.slice(0, eq), readNpy(spec.slice(eq + 1)));
  } else if (a === '--output-dir') outputDir = argv[++i];
  else if (a === '--chromium') chromium = argv[++i];
  else if (a === '--weights') weightsFile = argv[++i];
  else if (a === '--timeout') timeout = Number(argv[++i]);
  else if (!modelDir && !a.startsWith('--')) modelDir = resolve(a);
  else fail(`unknown argument '${a}'`, 2);
}
if (!modelDir || !outputDir) fail('usage: node browser-run.mjs MODEL_DIR --input NAME=FILE.npy ... --output-dir DIR', 2);
if (!existsSync(chromium)) fail(`${chromium} not found (install Debian's chromium)`, 77);
const manifestFile = readdirSync(modelDir).find((f) => f.endsWith('.json'));
if (!manifestFile) fail(`${modelDir}: no manifest (compile with --target=webgpu -o DIR)`);
const manifest = JSON.parse(readFileSync(join(modelDir, manifestFile), 'utf8'));
if (weightsFile && !existsSync(weightsFile)) fail(`${weightsFile}: no such file`, 2);
for (const t of [...manifest.inputs, ...(weightsFile ? [] : manifest.weights)]) {
  const given = inputs.get(t.name);
  if (!given) fail(`no value for '${t.name}'`, 2);
  if (given.shape.join(',') !== t.shape.join(','))
    fail(`'${t.name}' has shape [${given.shape}]; the model expects [${t.shape}]`, 2);
}

const received = new Map();
let browser, profile, timer;
const finish = (code, message) => {
  clearTimeout(timer);
  if (browser) browser.kill('SIGKILL');
  server.close();
  // Chromium may still be writing its profile as it dies.
  try {
    if (profile) rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  } catch {}
  if (message) console.error(`error: ${message}`);
  if (code === 0) {
    for (const t of manifest.outputs) writeNpy(join(outputDir, `${t.name}.npy`), t.shape, received.get(t.name));
  }
  process.exit(code);
};

const server = createServer((req, res) => {
  const url = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
  if (req.method === 'POST') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.end('ok');
      if (url === '/adapter') console.log(`adapter=chromium: ${body.toString() || 'unnamed'}`);
      else if (url.startsWith('/outputs/')) {
        const name = url.slice('/outputs/'.length);
        const t = manifest.outputs.find((o) => o.name === name);
        const n = t.shape.reduce((a, b) => a * b, 1);
        if (body.length !== n * 4) finish(1, `output '${name}': ${body.length} bytes, expected ${n * 4}`);
        received.set(name, new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length)));
      } else if (url === '/done') {
        const missing = manifest.outputs.filter((t) => !received.has(t.name));
        finish(missing.length ? 1 : 0, missing.length ? `no output '${missing[0].name}'` : '');
      } else if (url === '/error') {
        const text = body.toString();
        finish(text.startsWith('unavailable:') ? 77 : 1, `in the browser: ${text}`);
      }
    });
    return;
  }
  if (url === '/' || url === '/index.html') {
    res.writeHead(200, { 'content-type': 'text/html' });
    return res.end(page(manifestFile));
  }
  if (url === '/weights.safetensors') {
    if (!weightsFile) { res.writeHead(404); return res.end(); }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    return res.end(readFileSync(weightsFile));
  }
  if (url.startsWith('/inputs/')) {
    const t = inputs.get(url.slice('/inputs/'.length));
    if (!t) { res.writeHead(404); return res.end(); }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    return res.end(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  if (url.startsWith('/model/')) {
    const file = resolve(modelDir, url.slice('/model/'.length));
    if (file.startsWith(modelDir + '/') && existsSync(file)) {
      res.writeHead(200, { 'content-type': types[extname(file)] || 'application/octet-stream' });
      return res.end(readFileSync(file));
    }
  }
  res.writeHead(404);
  res.end();
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  profile = mkdtempSync(join(tmpdir(), 'cascade-chromium-'));
  browser = spawn(chromium, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--user-data-dir=${profile}`, '--enable-unsafe-webgpu',
    '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader',
    `http://127.0.0.1:${port}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  browser.stderr.on('data', (d) => { log += d; });
  browser.on('exit', (code) => finish(1, `chromium exited (${code}) before the page finished:\n${log.slice(-2000)}`));
  timer = setTimeout(() => finish(1, `no result from the page after ${timeout} s:\n${log.slice(-2000)}`), timeout * 1000);
});
