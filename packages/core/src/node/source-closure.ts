/**
 * What a source file compiles with, hashed (Node only): the file and everything it imports or includes,
 * transitively, so that two source trees can be compared kernel by kernel and an edited shared helper counts.
 * - TypeScript / JavaScript: esbuild bundles the file (the `@quantbench/source` condition, so workspace packages
 *   are followed into their sources) and reports the modules that put code into the bundle; third-party packages
 *   stay external and count by name and installed version, Node built-ins not at all.
 * - C, C++ and CUDA: `#include "…"` is followed through the including file's directory and `includeDirs`;
 *   `#include <…>` is the toolkit's.
 * - Anything else (WGSL files): the file alone.
 * Paths are taken relative to the workspace root (the directory with pnpm-workspace.yaml), so the same sources in
 * two checkouts hash the same.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';

const SCRIPT = /\.(ts|mts|js|mjs)$/;
const NATIVE = /\.(c|cc|cpp|cu|cuh|h|hpp)$/;
const QUOTED_INCLUDE = /^\s*#\s*include\s+"([^"]+)"/gm;

/** The nearest directory at or above `start` holding pnpm-workspace.yaml (else `start`'s filesystem root). */
export function workspaceRoot(start: string): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return dir;
    dir = parent;
  }
}

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** The version in the package.json nearest above `file` that has a name. */
async function packageVersion(file: string): Promise<string> {
  let dir = dirname(file);
  for (;;) {
    try {
      const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name) return `${manifest.name}@${manifest.version ?? '?'}`;
    } catch {
      // no manifest here
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

/** Keeps third-party packages out of the bundle, recording each import as `name@version`. */
function externalPackages(found: Map<string, string>): Plugin {
  const builtins = new Set(builtinModules);
  return {
    name: 'external-packages',
    setup(bundler) {
      bundler.onResolve({ filter: /^[^./#]/ }, async (args) => {
        if (args.pluginData === 'inner' || args.path.startsWith('@quantbench/')) return undefined;
        if (args.path.startsWith('node:') || builtins.has(args.path.split('/')[0]!)) return { path: args.path, external: true };
        const resolved = await bundler.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'inner' });
        found.set(args.path, resolved.errors.length > 0 || !resolved.path ? `${args.path}@unresolved` : await packageVersion(resolved.path));
        return { path: args.path, external: true };
      });
    },
  };
}

async function scriptInputs(file: string, root: string): Promise<{ inputs: string[]; packages: string[] }> {
  const packages = new Map<string, string>();
  const result = await build({
    entryPoints: [file],
    absWorkingDir: root,
    bundle: true,
    write: false,
    outfile: 'closure.js',
    metafile: true,
    platform: 'node',
    format: 'esm',
    conditions: ['@quantbench/source'],
    logLevel: 'silent',
    plugins: [externalPackages(packages)],
  });
  // Only the modules that put code into the bundle: what tree-shaking drops (the rest of a barrel file's exports)
  // is not compiled with this file.
  const outputs = Object.values(result.metafile.outputs);
  const used = outputs.flatMap((output) => Object.entries(output.inputs).filter(([, input]) => input.bytesInOutput > 0).map(([path]) => path));
  const kept = outputs.flatMap((output) => output.imports.filter((imported) => imported.external).map((imported) => packages.get(imported.path))).filter((name) => name !== undefined);
  return { inputs: used.map((input) => resolve(root, input)), packages: kept };
}

async function nativeInputs(file: string, includeDirs: readonly string[]): Promise<string[]> {
  const seen = new Set<string>();
  const pending = [resolve(file)];
  while (pending.length > 0) {
    const current = pending.pop()!;
    if (seen.has(current)) continue;
    seen.add(current);
    const text = await readFile(current, 'utf8');
    for (const match of text.matchAll(QUOTED_INCLUDE)) {
      const found = [dirname(current), ...includeDirs].map((dir) => resolve(dir, match[1]!)).find((candidate) => existsSync(candidate));
      if (found) pending.push(found);
    }
  }
  return [...seen];
}

export interface ClosureOptions {
  /** Extra directories searched for `#include "…"` (C-family files). */
  readonly includeDirs?: readonly string[];
}

/** The sha256 of `files` and everything they compile with (see above), and the files that went into it. */
export async function sourceClosure(files: readonly string[], options: ClosureOptions = {}): Promise<{ sha256: string; inputs: string[]; packages: string[] }> {
  if (files.length === 0) throw new Error('sourceClosure: no files');
  const root = workspaceRoot(dirname(files[0]!));
  const inputs = new Set<string>();
  const packages = new Set<string>();
  for (const file of files) {
    if (SCRIPT.test(file) && !file.endsWith('.d.ts')) {
      const found = await scriptInputs(file, root);
      for (const input of found.inputs) inputs.add(input);
      for (const name of found.packages) packages.add(name);
    } else if (NATIVE.test(file)) {
      for (const input of await nativeInputs(file, options.includeDirs ?? [])) inputs.add(input);
    } else {
      inputs.add(resolve(file));
    }
  }
  const sortedInputs = [...inputs].map((input) => relative(root, input)).sort();
  const sortedPackages = [...packages].sort();
  const hash = createHash('sha256');
  for (const input of sortedInputs) hash.update(`${input}\0${sha256(await readFile(join(root, input)))}\n`);
  for (const name of sortedPackages) hash.update(`package ${name}\n`);
  return { sha256: hash.digest('hex'), inputs: sortedInputs, packages: sortedPackages };
}
