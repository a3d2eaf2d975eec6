import { z } from 'zod';
import { ModelFileError } from '../errors.js';
import { errorCode, errorMessage, modelFilePath, openModelSource, type ModelFiles, type ModelSource } from '../files/model-files.js';
import type { TensorInfo } from './header.js';
import { openSafetensorsIn, type SafetensorsFile, type TensorSource } from './reader.js';
import { formatZodIssues } from './zod-issues.js';

export const SINGLE_FILE_NAME = 'model.safetensors';
export const INDEX_FILE_NAME = 'model.safetensors.index.json';
export const SHARD_PATTERN = /^model-\d{5}-of-\d{5}\.safetensors$/;

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

const indexSchema = z.looseObject({
  metadata: z.looseObject({ total_size: z.number().nonnegative().optional() }).nullish(),
  weight_map: z.record(z.string(), z.string().min(1)),
});

/** True when a shard name from the index points outside the checkpoint directory (absolute, or `..` escapes it). */
function outsideDir(file: string): boolean {
  if (file.startsWith('/') || file.startsWith('\\') || /^[A-Za-z]:/.test(file) || /^[a-z][a-z0-9+.-]*:\/\//i.test(file)) return true;
  const parts: string[] = [];
  for (const part of file.split(/[/\\]/)) {
    if (part === '' || part === '.') continue;
    if (part === '..' && parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/').startsWith('..');
}

/**
 * Opens the tensors of a checkpoint directory: a single `model.safetensors`, or `model.safetensors.index.json`
 * plus the shards it names. The index is checked completely before use: every shard it names exists and is a
 * valid safetensors file, every tensor it lists is in the shard it names, no tensor is in two shards, and no
 * shard holds a tensor the index does not list. `tensors[*].file` says which shard holds each tensor.
 *
 * `dir` is a directory path (Node) or a ModelFiles (e.g. `httpModelFiles(url)`); a ModelFiles passed in is not
 * closed by the store's close().
 */
export async function openSafetensorsDir(dir: ModelSource): Promise<TensorStore> {
  const { files, owned } = await openModelSource(dir);
  try {
    return await openSafetensorsFiles(files, owned);
  } catch (error) {
    if (owned) await files.close?.().catch(() => undefined);
    throw error;
  }
}

async function openSafetensorsFiles(files: ModelFiles, owned: boolean): Promise<TensorStore> {
  const dir = files.location;
  let entries: string[] | null = null;
  if (files.list !== undefined) {
    try {
      entries = await files.list();
    } catch (error) {
      throw new ModelFileError(dir, errorCode(error) === 'ENOENT' ? 'directory not found' : `cannot list directory (${errorMessage(error)})`, {
        fix: 'check the checkpoint path',
      });
    }
  }
  const has = async (name: string): Promise<boolean> => (entries === null ? files.exists(name) : entries.includes(name));
  // Without a listing (HTTP) each check is a request (HEAD), and one of the two is normally a 404.
  const hasSingle = await has(SINGLE_FILE_NAME);
  const hasIndex = await has(INDEX_FILE_NAME);
  if (hasSingle && hasIndex) {
    throw new ModelFileError(dir, `has both ${SINGLE_FILE_NAME} and ${INDEX_FILE_NAME}; it is ambiguous which holds the weights`, {
      fix: 'delete the stale one (the one not from the latest download or export)',
    });
  }
  if (hasSingle) {
    const file = await openSafetensorsIn(files, SINGLE_FILE_NAME, false);
    return new Store(files, owned, file.path, false, [file], file.tensors);
  }
  if (!hasIndex) {
    const others = (entries ?? []).filter((entry) => entry.endsWith('.safetensors'));
    const found =
      entries === null ? '' : others.length > 0 ? ` (found ${others.slice(0, 5).join(', ')})` : ' (no .safetensors files at all)';
    throw new ModelFileError(dir, `has neither ${SINGLE_FILE_NAME} nor ${INDEX_FILE_NAME}${found}`, {
      fix: 'point to a Hugging Face checkpoint directory, or download the model weights into it',
    });
  }
  return openSharded(files, owned);
}

async function openSharded(files: ModelFiles, owned: boolean): Promise<TensorStore> {
  const dir = files.location;
  const indexPath = modelFilePath(files, INDEX_FILE_NAME);
  let json: unknown;
  try {
    json = JSON.parse(await files.readText(INDEX_FILE_NAME));
  } catch (error) {
    throw new ModelFileError(indexPath, `is not valid JSON (${errorMessage(error)})`, {
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
  const shardNames = [...byFile.keys()].sort();
  for (const file of shardNames) {
    const first = (byFile.get(file) ?? [])[0] ?? '';
    if (outsideDir(file)) {
      throw new ModelFileError(indexPath, `weight_map names shard '${file}', which is outside the checkpoint directory`, {
        tensor: first,
        fix: 'shard names must be file names relative to the checkpoint directory',
      });
    }
    if (!(await files.exists(file))) {
      const count = byFile.get(file)?.length ?? 0;
      throw new ModelFileError(
        indexPath,
        `weight_map says shard '${file}' holds this tensor (and ${count - 1} more) but ${modelFilePath(files, file)} does not exist`,
        { tensor: first, fix: `download '${file}' into ${dir} (an interrupted download?)` },
      );
    }
  }

  const shards: SafetensorsFile[] = [];
  try {
    for (const file of shardNames) shards.push(await openSafetensorsIn(files, file, false));
    const tensors = new Map<string, TensorInfo>();
    for (const [i, shard] of shards.entries()) {
      const file = shardNames[i] as string;
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
    return new Store(files, owned, indexPath, true, shards, ordered);
  } catch (error) {
    await Promise.all(shards.map((shard) => shard.close().catch(() => undefined)));
    throw error;
  }
}

class Store implements TensorStore {
  readonly #byPath: Map<string, SafetensorsFile>;
  readonly dir: string;

  constructor(
    private readonly files: ModelFiles,
    private readonly owned: boolean,
    readonly source: string,
    readonly sharded: boolean,
    readonly shards: readonly SafetensorsFile[],
    readonly tensors: ReadonlyMap<string, TensorInfo>,
  ) {
    this.dir = files.location;
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
    if (this.owned) await this.files.close?.();
  }
}
