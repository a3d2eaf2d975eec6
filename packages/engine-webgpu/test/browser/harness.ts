/**
 * Test harness for running the engine in Chromium: bundles test/browser/page.ts for the browser with esbuild,
 * serves it (and model directories, with HTTP Range support) from 127.0.0.1, and launches Debian's Chromium with
 * WebGPU on SwiftShader through playwright-core. Browser console messages and page errors are echoed to stderr.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFileServer, type FileServer } from '@quantbench/model/testing';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Flags that give navigator.gpu a SwiftShader adapter in headless Debian Chromium (no GPU, no display): WebGPU is
 * off by default on Linux (--enable-unsafe-webgpu), and the software adapter must be allowed and chosen
 * (--enable-unsafe-swiftshader, --use-webgpu-adapter=swiftshader). --enable-features=Vulkan is not needed.
 * (--enable-webgpu-developer-features would also fill adapter.info.description with 'SwiftShader Device (Subzero)',
 * but sets adapter.info.device to '0xc0de'; left off, so the page sees what a user's browser shows.)
 */
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-gpu-sandbox',
];

const INDEX_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>quantbench WebGPU test page</title></head>
<body><pre id="result"></pre><script type="module" src="/app/page.js"></script></body></html>
`;

export interface BrowserHarness {
  readonly server: FileServer;
  readonly browser: Browser;
  readonly page: Page;
  /**
   * Console errors, page errors and failed requests seen so far (all are echoed to stderr). Not counted: the console
   * line Chromium logs for every 404, since httpModelFiles probes for files with HEAD (model.safetensors vs the
   * sharded index) and one of them is normally missing.
   */
  readonly errors: string[];
  /** The bundle's inputs (paths relative to this package), for checks on what reached the browser. */
  readonly bundleInputs: readonly string[];
  close(): Promise<void>;
}

/** Bundles page.ts into a temp dir; returns the dir and the bundle's inputs. */
async function bundlePage(): Promise<{ outDir: string; inputs: string[] }> {
  const outDir = await mkdtemp(join(tmpdir(), 'qb-browser-bundle-'));
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./page.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    conditions: ['@quantbench/source'],
    // Dynamic imports on the Node-only path of acquire-gpu.ts; never executed in a browser (navigator.gpu is there).
    external: ['webgpu', 'node:fs'],
    outfile: join(outDir, 'page.js'),
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
  });
  return { outDir, inputs: Object.keys(result.metafile.inputs) };
}

/** Serves `models` (URL prefix → directory) and the bundled page, and opens the page in headless Chromium. */
export async function startBrowserHarness(models: Readonly<Record<string, string>>): Promise<BrowserHarness> {
  const { outDir, inputs } = await bundlePage();
  const server = await startFileServer({ dirs: { ...models, '/app': outDir }, files: { '/index.html': INDEX_HTML } });
  const cleanup: (() => Promise<void>)[] = [() => server.close(), () => rm(outDir, { recursive: true, force: true })];
  try {
    // No wall-clock limits (launch, navigation, waits): on a busy machine they would fail a correct engine.
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 0 });
    cleanup.unshift(() => browser.close());
    const page = await browser.newPage();
    page.setDefaultTimeout(0);
    const errors: string[] = [];
    page.on('console', (message) => {
      const line = `[chromium console.${message.type()}] ${message.text()}`;
      const expected404 = /^Failed to load resource: the server responded with a status of 404/.test(message.text());
      if (message.type() === 'error' && !expected404) errors.push(line);
      if (message.type() === 'error' || message.type() === 'warning') process.stderr.write(`${line}\n`);
    });
    page.on('pageerror', (error) => {
      const line = `[chromium page error] ${error.stack ?? error.message}`;
      errors.push(line);
      process.stderr.write(`${line}\n`);
    });
    page.on('requestfailed', (request) => {
      const line = `[chromium request failed] ${request.method()} ${request.url()}: ${request.failure()?.errorText ?? ''}`;
      errors.push(line);
      process.stderr.write(`${line}\n`);
    });
    await page.goto(`${server.origin}/index.html`);
    await page.waitForFunction(() => window.quantbench !== undefined);
    return {
      server,
      browser,
      page,
      errors,
      bundleInputs: inputs,
      close: async () => {
        for (const step of cleanup) await step().catch(() => undefined);
      },
    };
  } catch (error) {
    for (const step of cleanup) await step().catch(() => undefined);
    throw error;
  }
}
