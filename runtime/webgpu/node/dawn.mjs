// Opens a Dawn adapter in node (npm package `webgpu`). Backends, from
// CASCADE_WEBGPU_BACKEND or the first that works:
//   vulkan    SwiftShader from Debian's chromium package (core features,
//             like a browser): /usr/lib/chromium/vk_swiftshader_icd.json
//   opengles  Mesa llvmpipe through EGL, compatibility mode
//   null      Dawn's null backend: validation only, nothing runs
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';

export class Unavailable extends Error {}

// Dawn's instance must outlive its adapters and devices: a collected
// instance takes them down with it (a crash, not an error).
const instances = [];

export async function openAdapter(wanted = process.env.CASCADE_WEBGPU_BACKEND) {
  // Mesa and Vulkan loaders warn without a runtime dir; one per user.
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), `cascade-xdg-${process.getuid ? process.getuid() : 0}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  let dawn;
  try {
    dawn = await import('webgpu');
  } catch (e) {
    throw new Unavailable(`the npm package 'webgpu' is not installed ` +
                          `(run: npm ci --prefix runtime/webgpu): ${e.message}`);
  }
  Object.assign(globalThis, dawn.globals);
  const order = wanted ? [wanted] : ['vulkan', 'opengles'];
  const tried = [];
  for (const backend of order) {
    if (backend === 'vulkan' && !process.env.VK_ICD_FILENAMES) {
      if (!existsSync(swiftshader)) { tried.push('vulkan (no SwiftShader)'); continue; }
      process.env.VK_ICD_FILENAMES = swiftshader;
    }
    if (backend === 'opengles') process.env.EGL_PLATFORM ??= 'surfaceless';
    const gpu = dawn.create([`backend=${backend}`]);
    instances.push(gpu);
    const adapter = await gpu.requestAdapter(
        backend === 'opengles' ? { featureLevel: 'compatibility' } : {});
    if (adapter) {
      const i = adapter.info;
      const name = [i.vendor, i.architecture, i.description].filter((s) => s).join(' ');
      return { gpu, adapter, backend, name: `${backend}: ${name}` };
    }
    tried.push(backend);
  }
  throw new Unavailable(`no WebGPU adapter (tried ${tried.join(', ')})`);
}
