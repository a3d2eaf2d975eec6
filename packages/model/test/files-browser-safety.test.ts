/**
 * The browser entry must bundle for the browser with nothing external: no `node:*` (or other Node-only module)
 * reachable from it, statically or dynamically. esbuild fails to resolve Node builtins on platform 'browser', so a
 * Node import creeping into the reading path fails this test with the import chain in the message.
 */
import { fileURLToPath } from 'node:url';
import { build, type Message } from 'esbuild';
import { describe, expect, it } from 'vitest';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

async function bundle(stdin: string): Promise<{ inputs: string[]; errors: Message[] }> {
  const result = await build({
    stdin: { contents: stdin, resolveDir: here('.'), loader: 'ts', sourcefile: 'browser-entry.ts' },
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    conditions: ['@quantbench/source'],
    metafile: true,
    logLevel: 'silent',
  }).catch((error: { errors?: Message[] }) => ({ errors: error.errors ?? [], metafile: null }));
  const text = (m: Message): string => `${m.location?.file ?? ''}:${m.location?.line ?? ''} ${m.text}`;
  if (result.errors.length > 0) throw new Error(`bundling for the browser failed:\n${result.errors.map(text).join('\n')}`);
  return { inputs: Object.keys(result.metafile?.inputs ?? {}), errors: result.errors };
}

describe('browser safety', () => {
  it('@quantbench/model/browser bundles for the browser with no Node module', async () => {
    const { inputs } = await bundle(
      "export * from '@quantbench/model/browser'; export { openCheckpoint as viaMain } from '@quantbench/model';",
    );
    expect(inputs.some((input) => input.endsWith('src/files/http.ts'))).toBe(true);
    expect(inputs.some((input) => input.endsWith('src/files/node-unavailable.ts'))).toBe(true);
    // esbuild names inputs relative to the working directory (this package): the model's own files are src/….
    const own = inputs.filter((input) => input.startsWith('src/'));
    const nodeOnly = /^src\/(index\.ts|files\/node\.ts|hub\/|synth\/|testing\/|safetensors\/(writer|sharded-write)\.ts|tokenizer\/(shipped|assets|templates)\.ts)/;
    expect(own.filter((input) => nodeOnly.test(input))).toEqual([]);
    expect(own).toContain('src/browser.ts');
  });

  it('in a browser bundle a directory path is a clear error (pass httpModelFiles instead)', async () => {
    const { openModelSource } = await import('../src/files/model-files.js');
    const { nodeModelFiles } = await import('../src/files/node-unavailable.js');
    expect(() => nodeModelFiles('models/x')).toThrow(/directory paths need Node's file system.*httpModelFiles\('models\/x'\)/);
    // In Node the same import resolves to the real implementation.
    const { files, owned } = await openModelSource('.');
    expect(owned).toBe(true);
    expect(await files.exists('package.json')).toBe(true);
    await files.close?.();
  });
});
