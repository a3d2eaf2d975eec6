import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { z } from 'zod';
import { ModelFileError } from '../errors.js';
import type { TensorInfo } from './header.js';
import { openSafetensors, type NewTensor, type SafetensorsFile, type TensorSource } from './reader.js';
import { checkNewTensors, writeSafetensors } from './writer.js';
import { formatZodIssues } from './zod-issues.js';

export const SINGLE_FILE_NAME = 'model.safetensors';
export const INDEX_FILE_NAME = 'model.safetensors.index.json';
const SHARD_PATTERN = /^model-\d{5}-of-\d{5}\.safetensors$/;

/** Hugging Face shard name: `model-00001-of-00003.safetensors` (1-based). */
export function shardFileName(index: number, count: number): string {
  const pad = (n: number): string => String(n).padStart(5, '0');
  return `model-${pad(index)}-of-${pad(count)}.safetensors`;
}

/** All the tensors of a checkpoint directory, whether one file or many shards. */
export interface TensorStore extends TensorSource {
  readonly dir: string;
  /** The file that lists the tensors: the index.json when sharded, else model.safetensors. */
  readonly source: string;
  readonly sharded: boolean;
  /** The open safetensors files, in file-name order. */
  readonly shards: readonly SafetensorsFile[];
}

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

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
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

const indexSchema = z.looseObject({
  metadata: z.looseObject({ total_size: z.number().nonnegative().optional() }).nullish(),
  weight_map: z.record(z.string(), z.string().min(1)),
});

/**
 * Opens the tensors of a checkpoint directory: a single `model.safetensors`, or `model.safetensors.index.json`
 * plus the shards it names. The index is checked completely before use: every shard it names exists and is a
 * valid safetensors file, every tensor it lists is in the shard it names, no tensor is in two shards, and no
 * shard holds a tensor the index does not list. `tensors[*].file` says which shard holds each tensor.
 */
export async function openSafetensorsDir(dir: string): Promise<TensorStore> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelFileError(dir, code === 'ENOENT' ? 'directory not found' : `cannot list directory (${(error as Error).message})`, {
      fix: 'check the checkpoint path',
    });
  }
  const hasSingle = entries.includes(SINGLE_FILE_NAME);
  const hasIndex = entries.includes(INDEX_FILE_NAME);
  if (hasSingle && hasIndex) {
    throw new ModelFileError(dir, `has both ${SINGLE_FILE_NAME} and ${INDEX_FILE_NAME}; it is ambiguous which holds the weights`, {
      fix: 'delete the stale one (the one not from the latest download or export)',
    });
  }
  if (hasSingle) {
    const file = await openSafetensors(join(dir, SINGLE_FILE_NAME));
    return new Store(dir, file.path, false, [file], file.tensors);
  }
  if (!hasIndex) {
    const others = entries.filter((entry) => entry.endsWith('.safetensors'));
    throw new ModelFileError(
      dir,
      `has neither ${SINGLE_FILE_NAME} nor ${INDEX_FILE_NAME}${others.length > 0 ? ` (found ${others.slice(0, 5).join(', ')})` : ' (no .safetensors files at all)'}`,
      { fix: 'point to a Hugging Face checkpoint directory, or download the model weights into it' },
    );
  }
  return openSharded(dir, join(dir, INDEX_FILE_NAME));
}

async function openSharded(dir: string, indexPath: string): Promise<TensorStore> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (error) {
    throw new ModelFileError(indexPath, `is not valid JSON (${(error as Error).message})`, {
      fix: 'download the index file again',
    });
  }
  const parsed = indexSchema.safeParse(json);
  if (!parsed.success) {
    throw new ModelFileError(indexPath, `invalid safetensors index: ${formatZodIssues(parsed.error, json).join('; ')}`, {
      fix: 'the index must be {"metadata": {"total_size": N}, "weight_map": {"tensor name": "shard file"}}',
    });
  }
  const weightMap = parsed.data.weight_map;
  const names = Object.keys(weightMap);
  if (names.length === 0) {
    throw new ModelFileError(indexPath, 'weight_map is empty', { fix: 'download the index file again' });
  }
  const byFile = new Map<string, string[]>();
  for (const name of names) {
    const file = weightMap[name] as string;
    const list = byFile.get(file);
    if (list === undefined) byFile.set(file, [name]);
    else list.push(name);
  }
  const files = [...byFile.keys()].sort();
  for (const file of files) {
    const first = (byFile.get(file) ?? [])[0] ?? '';
    if (isAbsolute(file) || normalize(file).startsWith('..')) {
      throw new ModelFileError(indexPath, `weight_map names shard '${file}', which is outside the checkpoint directory`, {
        tensor: first,
        fix: 'shard names must be file names relative to the checkpoint directory',
      });
    }
    if (!(await exists(join(dir, file)))) {
      const count = byFile.get(file)?.length ?? 0;
      throw new ModelFileError(
        indexPath,
        `weight_map says shard '${file}' holds this tensor (and ${count - 1} more) but ${join(dir, file)} does not exist`,
        { tensor: first, fix: `download '${file}' into ${dir} (an interrupted download?)` },
      );
    }
  }

  const shards: SafetensorsFile[] = [];
  try {
    for (const file of files) shards.push(await openSafetensors(join(dir, file)));
    const tensors = new Map<string, TensorInfo>();
    for (const [i, shard] of shards.entries()) {
      const file = files[i] as string;
      for (const name of byFile.get(file) ?? []) {
        const info = shard.tensors.get(name);
        if (info === undefined) {
          throw new ModelFileError(shard.path, `${INDEX_FILE_NAME} says this shard holds the tensor, but it does not`, {
            tensor: name,
            fix: 'the index and shards are from different downloads or exports: download the checkpoint again',
          });
        }
      }
      for (const [name, info] of shard.tensors) {
        const listed = weightMap[name];
        if (listed === undefined) {
          throw new ModelFileError(shard.path, `holds the tensor but ${INDEX_FILE_NAME} does not list it`, {
            tensor: name,
            fix: 'the index and shards are from different downloads or exports: download the checkpoint again',
          });
        }
        if (listed !== file) {
          throw new ModelFileError(shard.path, `holds the tensor, but ${INDEX_FILE_NAME} puts it in '${listed}': a tensor must be in exactly one shard`, {
            tensor: name,
            fix: 'the index and shards are from different downloads or exports: download the checkpoint again',
          });
        }
        tensors.set(name, info);
      }
    }
    const ordered = new Map([...tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return new Store(dir, indexPath, true, shards, ordered);
  } catch (error) {
    await Promise.all(shards.map((shard) => shard.close().catch(() => undefined)));
    throw error;
  }
}

class Store implements TensorStore {
  readonly #byPath: Map<string, SafetensorsFile>;

  constructor(
    readonly dir: string,
    readonly source: string,
    readonly sharded: boolean,
    readonly shards: readonly SafetensorsFile[],
    readonly tensors: ReadonlyMap<string, TensorInfo>,
  ) {
    this.#byPath = new Map(shards.map((shard) => [shard.path, shard]));
  }

  #shardOf(name: string): SafetensorsFile {
    const info = this.tensors.get(name);
    const shard = info === undefined ? undefined : this.#byPath.get(info.file);
    if (shard === undefined) {
      throw new ModelFileError(this.source, 'no such tensor in this checkpoint', {
        tensor: name,
        fix: 'check the tensor name (names are case-sensitive)',
      });
    }
    return shard;
  }

  async read(name: string): Promise<Uint8Array> {
    return this.#shardOf(name).read(name);
  }

  async readInto(name: string, target: Uint8Array): Promise<void> {
    return this.#shardOf(name).readInto(name, target);
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((shard) => shard.close()));
  }
}
