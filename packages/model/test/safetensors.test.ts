import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  INDEX_FILE_NAME,
  SAFETENSORS_DTYPE_BYTES,
  openSafetensors,
  openSafetensorsDir,
  writeSafetensors,
  writeShardedSafetensors,
  type NewTensor,
  type SafetensorsDType,
} from '../src/safetensors/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qb-safetensors-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Deterministic non-trivial bytes. */
function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function tensor(name: string, dtype: SafetensorsDType, shape: number[], seed = 1): NewTensor {
  const count = shape.reduce((a, b) => a * b, 1);
  return { name, dtype, shape, data: pattern(count * SAFETENSORS_DTYPE_BYTES[dtype], seed) };
}

const ALL_DTYPES: SafetensorsDType[] = ['BF16', 'F16', 'F32', 'F8_E4M3'];

describe('safetensors single file', () => {
  it('round-trips every dtype bit-exactly, with metadata', async () => {
    const path = join(dir, 'a.safetensors');
    const tensors = [
      ...ALL_DTYPES.map((dtype, i) => tensor(`t.${dtype}`, dtype, [3, 5], i + 1)),
      tensor('odd', 'BF16', [7], 9),
      tensor('scalar', 'F32', [], 10),
      tensor('empty', 'F16', [0, 4], 11),
    ];
    await writeSafetensors(path, tensors, { format: 'pt', note: 'hello' });
    const file = await openSafetensors(path);
    try {
      expect(file.metadata).toEqual({ format: 'pt', note: 'hello' });
      expect([...file.tensors.keys()]).toEqual(tensors.map((t) => t.name).sort());
      for (const t of tensors) {
        const info = file.tensors.get(t.name);
        expect(info).toMatchObject({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.data.byteLength, file: path });
        const bytes = await file.read(t.name);
        expect(bytes.byteOffset % 8).toBe(0);
        expect(bytes.buffer.byteLength).toBe(t.data.byteLength);
        expect(Buffer.from(bytes).equals(Buffer.from(t.data))).toBe(true);
      }
    } finally {
      await file.close();
    }
  });

  it('writes a spec-conformant, space-padded, 8-byte aligned header with absolute fileOffsets', async () => {
    const path = join(dir, 'b.safetensors');
    await writeSafetensors(path, [tensor('b', 'F32', [2]), tensor('a', 'BF16', [3])]);
    const raw = await readFile(path);
    const n = Number(raw.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const text = raw.subarray(8, 8 + n).toString('utf8');
    expect(text.trimEnd()).toBe(text.replace(/ +$/, ''));
    const header = JSON.parse(text) as Record<string, { data_offsets: [number, number] }>;
    expect(Object.keys(header)).toEqual(['a', 'b']);
    expect(header.a?.data_offsets).toEqual([0, 6]);
    expect(header.b?.data_offsets).toEqual([6, 14]);
    expect(raw.byteLength).toBe(8 + n + 14);
    const file = await openSafetensors(path);
    expect(file.tensors.get('b')?.fileOffset).toBe(8 + n + 6);
    await file.close();
  });

  it('is deterministic whatever the input order, and leaves no .partial file', async () => {
    const tensors = [tensor('z', 'F32', [4], 1), tensor('m', 'BF16', [3], 2), tensor('a', 'F8_E4M3', [5], 3)];
    await writeSafetensors(join(dir, '1.safetensors'), tensors, { b: '2', a: '1' });
    await writeSafetensors(join(dir, '2.safetensors'), [...tensors].reverse(), { a: '1', b: '2' });
    const [one, two] = await Promise.all([readFile(join(dir, '1.safetensors')), readFile(join(dir, '2.safetensors'))]);
    expect(one.equals(two)).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['1.safetensors', '2.safetensors']);
  });

  it('reads into a SharedArrayBuffer view', async () => {
    const path = join(dir, 'c.safetensors');
    const t = tensor('w', 'BF16', [16, 8], 5);
    await writeSafetensors(path, [tensor('before', 'F32', [3]), t]);
    const file = await openSafetensors(path);
    const shared = new SharedArrayBuffer(64 + t.data.byteLength);
    const view = new Uint8Array(shared, 64, t.data.byteLength);
    await file.readInto('w', view);
    expect(Buffer.from(new Uint8Array(shared, 64)).equals(Buffer.from(t.data))).toBe(true);
    expect(new Uint8Array(shared, 0, 64).every((b) => b === 0)).toBe(true);
    await expect(file.readInto('w', new Uint8Array(3))).rejects.toThrow(/256 bytes but the target buffer is 3/);
    await file.close();
    await expect(file.read('w')).rejects.toThrow(/after close/);
  });

  it('allows concurrent reads', async () => {
    const path = join(dir, 'd.safetensors');
    const tensors = Array.from({ length: 10 }, (_, i) => tensor(`t${i}`, 'F32', [100 + i], i));
    await writeSafetensors(path, tensors);
    const file = await openSafetensors(path);
    const read = await Promise.all(tensors.map((t) => file.read(t.name)));
    read.forEach((bytes, i) => expect(Buffer.from(bytes).equals(Buffer.from(tensors[i]!.data))).toBe(true));
    await file.close();
  });

  it('refuses bad tensors when writing', async () => {
    const path = join(dir, 'bad.safetensors');
    await expect(writeSafetensors(path, [{ name: 'x', dtype: 'F32', shape: [3], data: new Uint8Array(8) }])).rejects.toThrow(
      /tensor 'x'.*needs 12 bytes but data has 8/,
    );
    await expect(writeSafetensors(path, [tensor('x', 'F32', [1]), tensor('x', 'F32', [1])])).rejects.toThrow(/given twice/);
    await expect(
      writeSafetensors(path, [{ name: 'x', dtype: 'I64' as SafetensorsDType, shape: [1], data: new Uint8Array(8) }]),
    ).rejects.toThrow(/unsupported dtype 'I64'/);
    await expect(stat(path)).rejects.toThrow();
  });
});

describe('safetensors directories', () => {
  const tensors = [
    tensor('model.a', 'BF16', [64, 32], 1), // 4096 B
    tensor('model.b', 'F32', [32, 32], 2), // 4096 B
    tensor('model.c', 'F8_E4M3', [64, 64], 3), // 4096 B
    tensor('model.d', 'F16', [8], 4), // 16 B
  ];

  it('writes a single model.safetensors when everything fits', async () => {
    const result = await writeShardedSafetensors(dir, tensors, { maxShardBytes: 1 << 20, metadata: { format: 'pt' } });
    expect(result.index).toBeNull();
    expect(await readdir(dir)).toEqual(['model.safetensors']);
    const store = await openSafetensorsDir(dir);
    expect(store.sharded).toBe(false);
    expect(store.source).toBe(join(dir, 'model.safetensors'));
    for (const t of tensors) expect(Buffer.from(await store.read(t.name)).equals(Buffer.from(t.data))).toBe(true);
    await store.close();
  });

  it('writes Hugging Face shards plus an index, and reads across them', async () => {
    const result = await writeShardedSafetensors(dir, tensors, { maxShardBytes: 8192, metadata: { format: 'pt' } });
    expect((await readdir(dir)).sort()).toEqual([
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      INDEX_FILE_NAME,
    ]);
    expect(result.totalSize).toBe(4096 * 3 + 16);
    const index = JSON.parse(await readFile(join(dir, INDEX_FILE_NAME), 'utf8'));
    expect(index).toEqual({
      metadata: { total_size: 4096 * 3 + 16 },
      weight_map: {
        'model.a': 'model-00001-of-00002.safetensors',
        'model.b': 'model-00001-of-00002.safetensors',
        'model.c': 'model-00002-of-00002.safetensors',
        'model.d': 'model-00002-of-00002.safetensors',
      },
    });
    const store = await openSafetensorsDir(dir);
    expect(store.sharded).toBe(true);
    expect(store.shards).toHaveLength(2);
    expect(store.tensors.get('model.c')?.file).toBe(join(dir, 'model-00002-of-00002.safetensors'));
    for (const t of tensors) expect(Buffer.from(await store.read(t.name)).equals(Buffer.from(t.data))).toBe(true);
    const shared = new Uint8Array(new SharedArrayBuffer(4096));
    await store.readInto('model.c', shared);
    expect(Buffer.from(shared).equals(Buffer.from(tensors[2]!.data))).toBe(true);
    await expect(store.read('nope')).rejects.toThrow(/tensor 'nope': no such tensor/);
    await store.close();
  });

  it('gives an over-sized tensor a shard of its own, and cleans up a previous layout', async () => {
    await writeShardedSafetensors(dir, tensors, { maxShardBytes: 1 << 20 });
    const result = await writeShardedSafetensors(dir, tensors, { maxShardBytes: 100 });
    expect(result.files).toHaveLength(4);
    expect((await readdir(dir)).filter((f) => f === 'model.safetensors')).toEqual([]);
    await writeShardedSafetensors(dir, tensors, { maxShardBytes: 1 << 20 });
    expect(await readdir(dir)).toEqual(['model.safetensors']);
  });
});
