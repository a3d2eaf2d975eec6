/** Writing sharded checkpoints (Node only). */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NewTensor } from './reader.js';
import { INDEX_FILE_NAME, SHARD_PATTERN, SINGLE_FILE_NAME, shardFileName } from './sharded.js';
import { checkNewTensors, writeSafetensors } from './writer.js';

export interface ShardedWriteOptions {
  /** Largest shard in tensor-data bytes; a single tensor larger than this gets a shard of its own. */
  readonly maxShardBytes: number;
  /** `__metadata__` written into every shard (Hugging Face writes `{format: 'pt'}`). */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface ShardedWriteResult {
  /** Paths of the safetensors files written, in order. */
  readonly files: readonly string[];
  /** Path of the index.json, or null when everything fit in one `model.safetensors`. */
  readonly index: string | null;
  /** Sum of all tensors' byte lengths (the index's `metadata.total_size`). */
  readonly totalSize: number;
}

/**
 * Writes tensors (sorted by name, packed greedily in that order) as Hugging Face does: one `model.safetensors`
 * when everything fits in `maxShardBytes`, else `model-0000i-of-0000N.safetensors` shards plus
 * `model.safetensors.index.json` ({metadata: {total_size}, weight_map}). Shards are written first and the
 * index last, each atomically; stale `model.safetensors`, index and `model-*-of-*.safetensors` files left in
 * `dir` by an earlier write with a different layout are removed afterwards, so the directory is never ambiguous.
 */
export async function writeShardedSafetensors(
  dir: string,
  tensors: readonly NewTensor[],
  options: ShardedWriteOptions,
): Promise<ShardedWriteResult> {
  if (!(Number.isSafeInteger(options.maxShardBytes) && options.maxShardBytes > 0)) {
    throw new RangeError(`maxShardBytes must be a positive integer, got ${options.maxShardBytes}`);
  }
  const sorted = checkNewTensors(dir, tensors);
  const groups: NewTensor[][] = [];
  let current: NewTensor[] = [];
  let currentBytes = 0;
  let totalSize = 0;
  for (const tensor of sorted) {
    const bytes = tensor.data.byteLength;
    totalSize += bytes;
    if (current.length > 0 && currentBytes + bytes > options.maxShardBytes) {
      groups.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(tensor);
    currentBytes += bytes;
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);

  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const keep = new Set<string>();
  let indexPath: string | null = null;
  if (groups.length === 1) {
    const path = join(dir, SINGLE_FILE_NAME);
    await writeSafetensors(path, groups[0] ?? [], options.metadata);
    written.push(path);
    keep.add(SINGLE_FILE_NAME);
  } else {
    const weightMap: Record<string, string> = {};
    for (const [i, group] of groups.entries()) {
      const name = shardFileName(i + 1, groups.length);
      const path = join(dir, name);
      await writeSafetensors(path, group, options.metadata);
      written.push(path);
      keep.add(name);
      for (const tensor of group) weightMap[tensor.name] = name;
    }
    indexPath = join(dir, INDEX_FILE_NAME);
    const index = { metadata: { total_size: totalSize }, weight_map: weightMap };
    await writeFile(`${indexPath}.partial`, `${JSON.stringify(index, null, 2)}\n`);
    await rename(`${indexPath}.partial`, indexPath);
    keep.add(INDEX_FILE_NAME);
  }

  for (const entry of await readdir(dir)) {
    const ours = entry === SINGLE_FILE_NAME || entry === INDEX_FILE_NAME || SHARD_PATTERN.test(entry);
    if (ours && !keep.has(entry)) await rm(join(dir, entry), { force: true });
  }
  return { files: written, index: indexPath, totalSize };
}
