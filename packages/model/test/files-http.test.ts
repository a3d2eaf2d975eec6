import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../src/checkpoint/index.js';
import { readQwen3Config } from '../src/config/index.js';
import { ModelFileError } from '../src/errors.js';
import { httpModelFiles, type ModelFiles } from '../src/files/index.js';
import { nodeModelFiles } from '../src/files/node.js';
import { openSafetensors, openSafetensorsDir, writeShardedSafetensors, type NewTensor } from '../src/safetensors/index.js';
import { writeSyntheticCheckpoints } from '../src/synth/index.js';
import { startFileServer, type FileServer } from '../src/testing/index.js';
import { loadTokenizer } from '../src/tokenizer/index.js';

let root: string;
let bf16Dir: string;
let fp8Dir: string;
let shardedDir: string;
let server: FileServer;
let noRange: FileServer;

const f32 = (name: string, n: number, seed: number): NewTensor => ({
  name,
  dtype: 'F32',
  shape: [n],
  data: new Uint8Array(Float32Array.from({ length: n }, (_, i) => Math.sin(i * seed)).buffer),
});

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'qb-files-http-'));
  ({ bf16Dir, fp8Dir } = await writeSyntheticCheckpoints({ preset: 'tiny', outDir: join(root, 'synth'), seed: 1 }));
  shardedDir = join(root, 'sharded');
  await writeShardedSafetensors(shardedDir, [f32('a', 600, 1), f32('b', 600, 2), f32('c', 600, 3)], { maxShardBytes: 4096 });
  server = await startFileServer({ dirs: { '/bf16': bf16Dir, '/fp8': fp8Dir, '/sharded': shardedDir, '/scratch': root } });
  noRange = await startFileServer({ dirs: { '/bf16': bf16Dir }, honourRange: false });
});

afterAll(async () => {
  await server?.close();
  await noRange?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<ModelFileError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelFileError);
  return error as ModelFileError;
}

describe('httpModelFiles', () => {
  it('reads a synthetic checkpoint over HTTP bit-identical to the file system, with Range requests only', async () => {
    for (const [prefix, dir] of [['/bf16', bf16Dir], ['/fp8', fp8Dir]] as const) {
      const overHttp = await openCheckpoint(httpModelFiles(`${server.origin}${prefix}`));
      const onDisk = await openCheckpoint(dir);
      try {
        expect(overHttp.dir).toBe(`${server.origin}${prefix}`);
        expect(overHttp.config).toEqual(onDisk.config);
        expect(overHttp.format).toBe(onDisk.format);
        expect([...overHttp.store.tensors.keys()]).toEqual([...onDisk.store.tensors.keys()]);
        for (const [name, info] of onDisk.store.tensors) {
          const remote = overHttp.store.tensors.get(name);
          expect(remote?.file).toBe(`${server.origin}${prefix}/model.safetensors`);
          expect({ ...remote, file: info.file }).toEqual(info);
          const [a, b] = await Promise.all([overHttp.store.read(name), onDisk.store.read(name)]);
          expect(a.byteOffset).toBe(0);
          expect(Buffer.from(a).equals(Buffer.from(b)), name).toBe(true);
        }
        const weight = overHttp.linearNames(0)['self_attn.q_proj'];
        if (overHttp.format === 'fp8') {
          const [a, b] = await Promise.all([overHttp.readFp8(weight), onDisk.readFp8(weight)]);
          expect(a).toEqual(b);
        } else {
          expect(await overHttp.readBf16(weight)).toEqual(await onDisk.readBf16(weight));
        }
      } finally {
        await overHttp.close();
        await onDisk.close();
      }
    }
    const tensorGets = server.requests.filter((r) => r.startsWith('GET ') && r.endsWith('.safetensors'));
    expect(tensorGets, 'every safetensors GET carries a Range').toEqual([]);
  });

  it('reads a sharded directory (index + shards) over HTTP', async () => {
    const overHttp = await openSafetensorsDir(httpModelFiles(`${server.origin}/sharded/`));
    const onDisk = await openSafetensorsDir(shardedDir);
    try {
      expect(overHttp.sharded).toBe(true);
      expect(overHttp.source).toBe(`${server.origin}/sharded/model.safetensors.index.json`);
      expect(overHttp.shards.map((s) => s.path)).toEqual([1, 2, 3].map((i) => `${server.origin}/sharded/model-0000${i}-of-00003.safetensors`));
      for (const name of ['a', 'b', 'c']) expect(await overHttp.read(name)).toEqual(await onDisk.read(name));
    } finally {
      await overHttp.close();
      await onDisk.close();
    }
  });

  it('loads the tokenizer over HTTP: the same chat renders to the same ids', async () => {
    const config = await readQwen3Config(httpModelFiles(`${server.origin}/bf16`));
    expect(config).toEqual(await readQwen3Config(bf16Dir));
    const remote = await loadTokenizer(httpModelFiles(`${server.origin}/bf16`), { vocabSize: config.vocabSize });
    const local = await loadTokenizer(bf16Dir, { vocabSize: config.vocabSize });
    const messages = [{ role: 'user' as const, content: 'Write one sentence about FP8 and BF16. 你好 🙂' }];
    for (const thinking of [false, true]) {
      expect(remote.renderChat(messages, { thinking })).toBe(local.renderChat(messages, { thinking }));
      expect(remote.encodeChat(messages, { thinking })).toEqual(local.encodeChat(messages, { thinking }));
    }
    expect(remote.templateVariant).toBe(local.templateVariant);
    expect(remote.eosTokenIds).toEqual(local.eosTokenIds);
  });

  it('a missing model (404) is an error naming the URL', async () => {
    const base = `${server.origin}/nowhere`;
    const error = await rejection(openCheckpoint(httpModelFiles(base)));
    expect(error.file).toBe(`${base}/config.json`);
    expect(error.message).toContain(`${base}/config.json: not found`);
    const tokenizer = await rejection(loadTokenizer(httpModelFiles(base)));
    expect(tokenizer.message).toContain(`${base}/tokenizer.json: file is missing`);
    const files = httpModelFiles(base);
    expect(await files.exists('config.json')).toBe(false);
    await expect(files.size('model.safetensors')).rejects.toMatchObject({ code: 'ENOENT', message: expect.stringContaining(`${base}/model.safetensors: HTTP 404`) });
    const single = await rejection(openSafetensors(files, 'model.safetensors'));
    expect(single.message).toContain(`${base}/model.safetensors: file not found`);
  });

  it('a directory without weights over HTTP says which files it looked for', async () => {
    const error = await rejection(openSafetensorsDir(httpModelFiles(`${server.origin}/scratch`)));
    expect(error.message).toMatch(/scratch: has neither model\.safetensors nor model\.safetensors\.index\.json\. Fix:/);
  });

  it('a server that ignores Range is a clear error at open, naming the URL', async () => {
    const base = `${noRange.origin}/bf16`;
    const error = await rejection(openCheckpoint(httpModelFiles(base)));
    expect(error.file).toBe(`${base}/model.safetensors`);
    expect(error.message).toMatch(/does not honour HTTP Range requests \(asked for bytes=0-0, got HTTP 200/);
    expect(error.message).toMatch(/Fix: .*Range/);
    // JSON files need no Range: the config still reads.
    expect((await readQwen3Config(httpModelFiles(base))).hiddenSize).toBe(256);
  });

  it('a file that shrinks on the server after open is a short-read error naming URL and tensor', async () => {
    const dir = join(root, 'scratch-short');
    await writeShardedSafetensors(dir, [f32('a', 64, 1), f32('b', 64, 2)], { maxShardBytes: 1 << 20 });
    const file = await openSafetensors(httpModelFiles(`${server.origin}/scratch/scratch-short`), 'model.safetensors');
    const size = (await readFile(join(dir, 'model.safetensors'))).byteLength;
    await truncate(join(dir, 'model.safetensors'), size - 5);
    const error = await rejection(file.read('b'));
    expect(error.message).toContain(`${server.origin}/scratch/scratch-short/model.safetensors: tensor 'b': unexpected end of file`);
    await file.close();
  });

  it('network failures and bad base URLs are errors naming the URL', async () => {
    expect(() => httpModelFiles('models/qwen3')).toThrow(/not an absolute URL/);
    const failing = httpModelFiles('http://127.0.0.1:9/m', () => Promise.reject(new TypeError('fetch failed')));
    const error = await rejection(readQwen3Config(failing));
    expect(error.message).toContain('http://127.0.0.1:9/m/config.json: cannot read (GET http://127.0.0.1:9/m/config.json failed (fetch failed))');
  });
});

describe('nodeModelFiles', () => {
  it('reads exact ranges, keeps handles until close, and refuses reads after close', async () => {
    const dir = join(root, 'node-files');
    await writeShardedSafetensors(dir, [f32('a', 16, 1)], { maxShardBytes: 1 << 20 });
    await writeFile(join(dir, 'note.txt'), 'hello');
    const files: ModelFiles = nodeModelFiles(dir);
    const whole = await readFile(join(dir, 'model.safetensors'));
    expect(files.location).toBe(dir);
    expect(await files.exists('model.safetensors')).toBe(true);
    expect(await files.exists('nope')).toBe(false);
    expect(await files.size('model.safetensors')).toBe(whole.byteLength);
    expect(await files.readText('note.txt')).toBe('hello');
    expect(Buffer.from(await files.readRange('model.safetensors', 3, 20)).equals(whole.subarray(3, 23))).toBe(true);
    await expect(files.readRange('model.safetensors', whole.byteLength - 4, 8)).rejects.toThrow(
      `${join(dir, 'model.safetensors')}: unexpected end of file at byte ${whole.byteLength}`,
    );
    await expect(files.size('nope')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(files.size('.')).rejects.toMatchObject({ code: 'EISDIR' });
    await files.close?.();
    await files.close?.();
    await expect(files.readRange('model.safetensors', 0, 1)).rejects.toThrow(/after close/);
  });
});
