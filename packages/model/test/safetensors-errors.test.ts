import { mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelFileError } from '../src/errors.js';
import {
  INDEX_FILE_NAME,
  openSafetensors,
  openSafetensorsDir,
  writeSafetensors,
  writeShardedSafetensors,
  type NewTensor,
} from '../src/safetensors/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qb-safetensors-bad-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A file with a hand-made header: 8-byte length (or `declaredLength`), the header text, `dataBytes` zeros. */
async function rawFile(header: string | object, dataBytes: number, declaredLength?: bigint): Promise<string> {
  const path = join(dir, 'raw.safetensors');
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(declaredLength ?? BigInt(text.byteLength));
  await writeFile(path, Buffer.concat([length, text, Buffer.alloc(dataBytes)]));
  return path;
}

/** Expects openSafetensors to fail with a ModelFileError naming the file, whose message matches all patterns. */
async function expectOpenError(path: string, ...patterns: RegExp[]): Promise<ModelFileError> {
  const error = await openSafetensors(path).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelFileError);
  const modelError = error as ModelFileError;
  expect(modelError.file).toBe(path);
  expect(modelError.message).toContain(path);
  expect(modelError.message).toMatch(/Fix: /);
  for (const pattern of patterns) expect(modelError.message).toMatch(pattern);
  return modelError;
}

const f32 = (name: string, n: number): NewTensor => ({ name, dtype: 'F32', shape: [n], data: new Uint8Array(4 * n).fill(7) });

describe('openSafetensors refuses bad files', () => {
  it('a missing file', async () => {
    await expectOpenError(join(dir, 'nope.safetensors'), /file not found/);
  });

  it('a file shorter than 8 bytes', async () => {
    const path = join(dir, 'short.safetensors');
    await writeFile(path, Buffer.from([1, 2, 3]));
    await expectOpenError(path, /3 bytes, too short/);
  });

  it('a header length past the end of the file', async () => {
    const path = await rawFile('{}', 0, 5000n);
    await expectOpenError(path, /header length is 5000 bytes but the file is only 10 bytes/);
  });

  it('an absurd header length', async () => {
    const path = await rawFile('{}', 0, 1n << 40n);
    await expectOpenError(path, /header length is 1099511627776 bytes; expected 2 to 100000000/);
  });

  it('a header that is not JSON', async () => {
    const path = await rawFile('{"a": {"dtype": "F32", ', 16);
    await expectOpenError(path, /header is not valid JSON/);
  });

  it('a header that is not an object', async () => {
    const path = await rawFile('[1, 2]', 0);
    await expectOpenError(path, /should be a JSON object/);
  });

  it('a header entry of the wrong form', async () => {
    const path = await rawFile({ w: { dtype: 'F32', shape: [2], offsets: [0, 8] } }, 8);
    const error = await expectOpenError(path, /tensor 'w'/, /data_offsets/);
    expect(error.options.tensor).toBe('w');
  });

  it('an unsupported dtype, naming it', async () => {
    const path = await rawFile({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, 16);
    await expectOpenError(path, /tensor 'ids'/, /unsupported dtype 'I64'/, /BF16, F16, F32, F8_E4M3/);
  });

  it('a shape that does not match the byte length', async () => {
    const path = await rawFile({ w: { dtype: 'BF16', shape: [3, 4], data_offsets: [0, 20] } }, 24);
    await expectOpenError(path, /tensor 'w'/, /shape \[3, 4\] × BF16 \(2 B\) needs 24 bytes but data_offsets \[0, 20\] cover 20/);
  });

  it('offsets past the data section', async () => {
    const path = await rawFile(
      { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } },
      12,
    );
    await expectOpenError(path, /tensor 'b'/, /data_offsets \[8, 16\] run past the end of the data section \(12 bytes/);
  });

  it('end before begin', async () => {
    const path = await rawFile({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, 8);
    await expectOpenError(path, /tensor 'a'/, /end before they begin/);
  });

  it('overlapping tensors', async () => {
    const path = await rawFile(
      { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } },
      16,
    );
    await expectOpenError(path, /tensor 'b'/, /overlap tensor 'a'/);
  });

  it('bad __metadata__', async () => {
    const path = await rawFile({ __metadata__: { format: 1 } }, 0);
    await expectOpenError(path, /__metadata__\.format/);
  });

  it('invalid UTF-8 in the header', async () => {
    const path = join(dir, 'utf.safetensors');
    const header = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(4n);
    await writeFile(path, Buffer.concat([length, header]));
    await expectOpenError(path, /not valid UTF-8/);
  });

  it('accepts gaps between tensors and trailing space padding', async () => {
    const path = await rawFile(
      `${JSON.stringify({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } })}     `,
      16,
    );
    const file = await openSafetensors(path);
    expect([...file.tensors.keys()]).toEqual(['a', 'b']);
    await file.close();
  });

  it('a file truncated after the header was written (at open, not at read)', async () => {
    const path = join(dir, 'cut.safetensors');
    await writeSafetensors(path, [f32('a', 4), f32('b', 4)]);
    const size = (await readFile(path)).byteLength;
    await truncate(path, size - 5);
    await expectOpenError(path, /tensor 'b'/, /the file is truncated/, /download or export it again/);
  });

  it('a file truncated while open is reported at read time', async () => {
    const path = join(dir, 'cut-later.safetensors');
    await writeSafetensors(path, [f32('a', 4), f32('b', 4)]);
    const file = await openSafetensors(path);
    const size = (await readFile(path)).byteLength;
    await truncate(path, size - 5);
    await expect(file.read('b')).rejects.toThrow(/tensor 'b': unexpected end of file/);
    await file.close();
  });
});

describe('openSafetensorsDir refuses bad directories', () => {
  const tensors = [f32('a', 600), f32('b', 600), f32('c', 600)];

  async function expectDirError(...patterns: RegExp[]): Promise<ModelFileError> {
    const error = await openSafetensorsDir(dir).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ModelFileError);
    for (const pattern of patterns) expect((error as Error).message).toMatch(pattern);
    return error as ModelFileError;
  }

  it('a missing directory', async () => {
    await rm(dir, { recursive: true });
    await expectDirError(/directory not found/);
  });

  it('a directory without weights', async () => {
    await writeFile(join(dir, 'weights.safetensors'), '');
    await expectDirError(/neither model\.safetensors nor model\.safetensors\.index\.json \(found weights\.safetensors\)/);
  });

  it('an index naming a missing shard', async () => {
    await writeShardedSafetensors(dir, tensors, { maxShardBytes: 4096 });
    await unlink(join(dir, 'model-00002-of-00003.safetensors'));
    const error = await expectDirError(
      /model\.safetensors\.index\.json: tensor 'b'/,
      /shard 'model-00002-of-00003\.safetensors' holds this tensor .* does not exist/,
      /Fix: download/,
    );
    expect(error.file).toBe(join(dir, INDEX_FILE_NAME));
  });

  it('a tensor missing from the shard the index names', async () => {
    await writeShardedSafetensors(dir, tensors, { maxShardBytes: 4096 });
    const indexPath = join(dir, INDEX_FILE_NAME);
    const index = JSON.parse(await readFile(indexPath, 'utf8'));
    index.weight_map.extra = 'model-00001-of-00003.safetensors';
    await writeFile(indexPath, JSON.stringify(index));
    const error = await expectDirError(/model-00001-of-00003\.safetensors: tensor 'extra'/, /says this shard holds the tensor, but it does not/);
    expect(error.file).toBe(join(dir, 'model-00001-of-00003.safetensors'));
  });

  it('a tensor in a shard other than the one the index names (in two shards)', async () => {
    await writeShardedSafetensors(dir, tensors, { maxShardBytes: 4096 });
    await writeSafetensors(join(dir, 'model-00002-of-00003.safetensors'), [f32('b', 600), f32('a', 600)]);
    await expectDirError(/model-00002-of-00003\.safetensors: tensor 'a'/, /puts it in 'model-00001-of-00003\.safetensors'/);
  });

  it('a shard tensor the index does not list', async () => {
    await writeShardedSafetensors(dir, tensors, { maxShardBytes: 4096 });
    await writeSafetensors(join(dir, 'model-00002-of-00003.safetensors'), [f32('b', 600), f32('stray', 1)]);
    await expectDirError(/tensor 'stray': holds the tensor but model\.safetensors\.index\.json does not list it/);
  });

  it('an index that is not JSON, or of the wrong form', async () => {
    await writeShardedSafetensors(dir, tensors, { maxShardBytes: 4096 });
    const indexPath = join(dir, INDEX_FILE_NAME);
    await writeFile(indexPath, '{"weight_map": ');
    await expectDirError(/index\.json: is not valid JSON/);
    await writeFile(indexPath, JSON.stringify({ metadata: {}, weight_map: { a: 3 } }));
    await expectDirError(/invalid safetensors index: weight_map\.a: .*\(found 3\)/);
    await writeFile(indexPath, JSON.stringify({ metadata: {} }));
    await expectDirError(/weight_map: missing/);
  });

  it('an index with a shard path outside the directory', async () => {
    await writeShardedSafetensors(dir, tensors, { maxShardBytes: 4096 });
    await writeFile(join(dir, INDEX_FILE_NAME), JSON.stringify({ weight_map: { a: '../x.safetensors' } }));
    await expectDirError(/outside the checkpoint directory/);
  });

  it('both a single file and an index', async () => {
    await writeShardedSafetensors(dir, tensors, { maxShardBytes: 4096 });
    await writeSafetensors(join(dir, 'model.safetensors'), tensors);
    await expectDirError(/has both model\.safetensors and model\.safetensors\.index\.json/);
  });

  it('a bad shard (truncated) is reported with its own path', async () => {
    await writeShardedSafetensors(dir, tensors, { maxShardBytes: 4096 });
    const shard = join(dir, 'model-00003-of-00003.safetensors');
    const size = (await readFile(shard)).byteLength;
    await truncate(shard, size - 100);
    await expectDirError(/model-00003-of-00003\.safetensors: tensor 'c'.*truncated/);
  });
});
