/**
 * The source closure on a small workspace of its own: what a file imports or includes counts, what a barrel file
 * exports but the file never uses does not, third-party packages count by version.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceClosure } from '../../src/node/index.js';

let root: string;
const file = (path: string): string => join(root, path);
const write = async (path: string, text: string): Promise<void> => {
  await mkdir(join(file(path), '..'), { recursive: true });
  await writeFile(file(path), text);
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'qb-closure-'));
  await write('pnpm-workspace.yaml', 'packages:\n  - "packages/*"\n');
  await write('packages/lib/package.json', JSON.stringify({ name: '@quantbench/lib', type: 'module', sideEffects: false, exports: { '.': { '@quantbench/source': './src/index.ts' } } }));
  await write('packages/lib/src/index.ts', "export * from './used.js';\nexport * from './unused.js';\n");
  await write('packages/lib/src/used.ts', 'export const scale = (x: number): number => 2 * x;\n');
  await write('packages/lib/src/unused.ts', 'export const other = (x: number): number => x + 1;\n');
  await write('packages/engine/package.json', JSON.stringify({ name: 'engine', type: 'module' }));
  await mkdir(file('packages/engine/node_modules/@quantbench'), { recursive: true });
  await symlink(file('packages/lib'), file('packages/engine/node_modules/@quantbench/lib'));
  await write('packages/engine/node_modules/left-pad/package.json', JSON.stringify({ name: 'left-pad', version: '1.0.0', main: 'index.js' }));
  await write('packages/engine/node_modules/left-pad/index.js', 'module.exports = (s) => s;\n');
  await write('packages/engine/src/helper.ts', 'export const twice = (x: number): number => x + x;\n');
  await write('packages/engine/src/kernel.ts', "import pad from 'left-pad';\nimport { scale } from '@quantbench/lib';\nimport { twice } from './helper.js';\nexport const kernel = (x: number): string => pad(String(scale(twice(x))));\n");
  await write('packages/engine/native/common.cuh', '#pragma once\nconstexpr int kBlock = 128;\n');
  await write('packages/engine/native/include/shared.h', '#pragma once\n#include "common.cuh"\n');
  await write('packages/engine/native/gemv.cu', '#include <cuda_runtime.h>\n#include "shared.h"\n__global__ void gemv() {}\n');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('sourceClosure', () => {
  it('follows relative and workspace imports, drops what tree-shaking drops, names third-party packages with versions', async () => {
    const closure = await sourceClosure([file('packages/engine/src/kernel.ts')]);
    expect(closure.inputs).toEqual(['packages/engine/src/helper.ts', 'packages/engine/src/kernel.ts', 'packages/lib/src/used.ts']);
    expect(closure.packages).toEqual(['left-pad@1.0.0']);
  });

  it('changes when an imported helper or a package version changes, not when an unused export does', async () => {
    const before = (await sourceClosure([file('packages/engine/src/kernel.ts')])).sha256;
    await write('packages/lib/src/unused.ts', 'export const other = (x: number): number => x + 2;\n');
    expect((await sourceClosure([file('packages/engine/src/kernel.ts')])).sha256).toBe(before);
    await write('packages/lib/src/used.ts', 'export const scale = (x: number): number => 3 * x;\n');
    const helperChanged = (await sourceClosure([file('packages/engine/src/kernel.ts')])).sha256;
    expect(helperChanged).not.toBe(before);
    await write('packages/engine/node_modules/left-pad/package.json', JSON.stringify({ name: 'left-pad', version: '1.0.1', main: 'index.js' }));
    expect((await sourceClosure([file('packages/engine/src/kernel.ts')])).sha256).not.toBe(helperChanged);
  });

  it('follows quoted includes of C-family files through the include directories', async () => {
    const closure = await sourceClosure([file('packages/engine/native/gemv.cu')], { includeDirs: [file('packages/engine/native/include'), file('packages/engine/native')] });
    expect(closure.inputs).toEqual(['packages/engine/native/common.cuh', 'packages/engine/native/gemv.cu', 'packages/engine/native/include/shared.h']);
    const before = closure.sha256;
    await write('packages/engine/native/common.cuh', '#pragma once\nconstexpr int kBlock = 64;\n');
    expect((await sourceClosure([file('packages/engine/native/gemv.cu')], { includeDirs: [file('packages/engine/native/include'), file('packages/engine/native')] })).sha256).not.toBe(before);
  });
});
