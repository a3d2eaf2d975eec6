/**
 * The browser test page: bundled by esbuild for the browser (test/browser.test.ts) and loaded by Chromium. It exposes
 * `window.quantbench` for the test to call with page.evaluate. Opened by hand with
 * `?model=<url>&kernel=bf16&tokens=N` it runs a generation and prints the result into the page.
 */
import type { KernelMode } from '@quantbench/core';
import { httpModelFiles, loadTokenizer, openCheckpoint } from '@quantbench/model';
import { createWebGpuEngine } from '../../src/index.js';
import { fixedRequest, type AdapterSummary, type GenerateOutcome, type ProbeResult, type QuantbenchPage } from './api.js';

async function adapterSummary(): Promise<AdapterSummary> {
  if (!('gpu' in navigator) || !navigator.gpu) throw new Error(`navigator.gpu is missing (WebGPU disabled?), secure context: ${isSecureContext}`);
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned null: no WebGPU adapter');
  const { vendor, architecture, device, description } = adapter.info;
  return {
    vendor,
    architecture,
    device,
    description,
    features: [...adapter.features].map(String).sort(),
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  };
}

const api: QuantbenchPage = {
  async probe(modelUrl: string): Promise<ProbeResult> {
    const adapter = await adapterSummary();
    const files = httpModelFiles(modelUrl);
    const checkpoint = await openCheckpoint(files);
    try {
      const qProj = await checkpoint.store.read(checkpoint.linearNames(0)['self_attn.q_proj']);
      const tokenizer = await loadTokenizer(files, { vocabSize: checkpoint.config.vocabSize });
      const request = fixedRequest(1);
      return {
        adapter,
        userAgent: navigator.userAgent,
        tensorCount: checkpoint.store.tensors.size,
        hiddenSize: checkpoint.config.hiddenSize,
        qProjByteSum: qProj.reduce((sum, byte) => sum + byte, 0),
        promptIds: [...tokenizer.encodeChat(request.messages, { thinking: request.thinking })],
      };
    } finally {
      await checkpoint.close();
    }
  },

  async generate({ model, kernel, tokens }): Promise<GenerateOutcome> {
    const engine = await createWebGpuEngine();
    try {
      const { device } = await engine.capabilities();
      const started = performance.now();
      const loaded = await engine.load({ modelDir: model, kernel, maxBatch: 1, maxContext: 128 });
      const loadMs = performance.now() - started;
      try {
        const [result] = await loaded.generate([fixedRequest(tokens)]);
        if (result === undefined) throw new Error('generate returned no result');
        return {
          device,
          tokenIds: [...result.tokenIds],
          text: result.text,
          finishReason: result.finishReason,
          promptTokens: result.promptTokens,
          loadMs,
          generateMs: performance.now() - started - loadMs,
        };
      } finally {
        await loaded.dispose();
      }
    } finally {
      await engine.dispose();
    }
  },
};

window.quantbench = api;

const params = new URLSearchParams(location.search);
const model = params.get('model');
if (model !== null) {
  const output = document.getElementById('result') ?? document.body.appendChild(document.createElement('pre'));
  output.textContent = 'running…';
  const kernel = (params.get('kernel') ?? 'bf16') as KernelMode;
  const tokens = Number(params.get('tokens') ?? '16');
  api
    .generate({ model: new URL(model, location.href).href, kernel, tokens })
    .then((result) => (output.textContent = JSON.stringify(result, null, 2)))
    .catch((error: unknown) => (output.textContent = `error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`));
}
