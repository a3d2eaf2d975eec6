/**
 * The same WebGPU engine in Chromium (navigator.gpu on SwiftShader, model read over HTTP Range requests) and in Node
 * (Dawn, model read from disk): greedy generation from the tiny synthetic checkpoint must give the same tokens.
 * Fails (never skips) when Chromium or WebGPU is missing.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSyntheticCheckpoints, loadTokenizer } from '@quantbench/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebGpuEngine } from '../src/index.js';
import { fixedRequest, type GenerateOutcome } from './browser/api.js';
import { startBrowserHarness, type BrowserHarness } from './browser/harness.js';

/** On SwiftShader the browser takes about 4 s a token for the tiny model (2 cores): 8 keeps the file near 2 minutes. */
const TOKENS = 8;

let harness: BrowserHarness;
let bf16Dir: string;

beforeAll(async () => {
  ({ bf16Dir } = await ensureSyntheticCheckpoints({ preset: 'tiny', seed: 1, cacheDir: join(tmpdir(), 'quantbench-test-checkpoints') }));
  harness = await startBrowserHarness({ '/models/bf16': bf16Dir });
});

afterAll(async () => {
  await harness?.close();
});

describe('WebGPU engine in Chromium', () => {
  it('bundles for the browser without Node-only modules', () => {
    const own = harness.bundleInputs.filter((input) => !input.includes('node_modules'));
    expect(own.some((input) => input.endsWith('model/src/browser.ts'))).toBe(true);
    expect(own.filter((input) => /model\/src\/(index\.ts|files\/node\.ts|hub\/|synth\/|testing\/)/.test(input))).toEqual([]);
  });

  it('finds a WebGPU adapter and reads the checkpoint and tokenizer over HTTP', async () => {
    const modelUrl = `${harness.server.origin}/models/bf16`;
    const probe = await harness.page.evaluate((url) => window.quantbench!.probe(url), modelUrl);
    process.stderr.write(`[browser] ${probe.userAgent}\n[browser] adapter.info ${JSON.stringify(probe.adapter)}\n`);
    expect(`${probe.adapter.architecture} ${probe.adapter.description}`).toMatch(/swiftshader/i);
    expect(probe.hiddenSize).toBe(256);

    const request = fixedRequest(TOKENS);
    const tokenizer = await loadTokenizer(bf16Dir);
    expect(probe.promptIds).toEqual([...tokenizer.encodeChat(request.messages, { thinking: false })]);
    expect(harness.server.requests.some((r) => /^GET \/models\/bf16\/model\.safetensors bytes=\d+-\d+$/.test(r))).toBe(true);
    expect(harness.errors).toEqual([]);
  });

  it(`generates the same ${TOKENS} greedy tokens as the engine in Node`, async () => {
    const modelUrl = `${harness.server.origin}/models/bf16`;
    const inBrowser: GenerateOutcome = await harness.page.evaluate(
      ({ url, tokens }) => window.quantbench!.generate({ model: url, kernel: 'bf16', tokens }),
      { url: modelUrl, tokens: TOKENS },
    );
    process.stderr.write(
      `[browser] ${inBrowser.device}: load ${inBrowser.loadMs.toFixed(0)} ms, ${inBrowser.tokenIds.length} tokens in ${inBrowser.generateMs.toFixed(0)} ms: ${JSON.stringify(inBrowser.tokenIds)}\n`,
    );

    const engine = await createWebGpuEngine();
    let inNode: { tokenIds: readonly number[]; text: string; finishReason: string };
    try {
      const model = await engine.load({ modelDir: bf16Dir, kernel: 'bf16', maxBatch: 1, maxContext: 128 });
      const [result] = await model.generate([fixedRequest(TOKENS)]);
      await model.dispose();
      if (result === undefined) throw new Error('no result from the Node engine');
      inNode = result;
      process.stderr.write(`[node] ${(await engine.capabilities()).device}: ${JSON.stringify(result.tokenIds)}\n`);
    } finally {
      await engine.dispose();
    }

    expect(inBrowser.tokenIds.length).toBeGreaterThan(0);
    expect(inBrowser.tokenIds).toEqual(inNode.tokenIds);
    expect(inBrowser.text).toBe(inNode.text);
    expect(inBrowser.finishReason).toBe(inNode.finishReason);
    expect(harness.errors).toEqual([]);
  });
});
