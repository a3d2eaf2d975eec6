// Bundles the quantbench CLI for the GPU machine (no Node.js, no node_modules there): one ESM file
// `.device/quantbench.mjs` plus the CPU engine's worker `.device/worker.js`, built from the TypeScript sources
// (`@quantbench/source` condition). Called by pack.sh; run from anywhere: node packages/engine-cuda/device/bundle.mjs OUTDIR
//
// Kept external: `webgpu` (Dawn's native package; the WebGPU engine is imported lazily and reports itself
// unavailable) and `*.node` addons (the CUDA addon is built on the device by run.sh).
// Files of apps/cli and packages/engine-cuda find their neighbours through `import.meta.url` (compare's default
// prompt file; the CUDA addon under packages/engine-cuda/build); there `import.meta.url` is rewritten to the
// source file's own URL, computed relative to the bundle, so the repo layout resolves them on any machine.
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const outdir = resolve(process.argv[2] ?? join(root, '.device'));
// esbuild is a devDependency of packages/model (and engine-webgpu); resolve it from there.
const require = createRequire(join(root, 'packages/model/package.json'));
const esbuild = require('esbuild');

const rewriteRoots = [join(root, 'apps/cli/src'), join(root, 'packages/engine-cuda/src'), join(root, 'packages/engine-cuda/bench')];

const relocate = {
  name: 'relocate-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
      if (!rewriteRoots.some((dir) => args.path.startsWith(dir + sep))) return undefined;
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return { contents: source, loader: 'ts' };
      const rel = relative(outdir, args.path).split(sep).join('/');
      const replaced = source.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`);
      return { contents: replaced, loader: 'ts', resolveDir: dirname(args.path) };
    });
  },
};

const entryPoints = {
  quantbench: join(root, 'apps/cli/src/main.ts'),
  worker: join(root, 'packages/engine-cpu/src/pool/worker.ts'),
};
// The CUDA speed bench imports the engine's own sources; bundled once they exist.
const speedBench = join(root, 'packages/engine-cuda/bench/cuda-speed.bench.ts');
if (existsSync(join(root, 'packages/engine-cuda/src/index.ts')) && existsSync(speedBench)) entryPoints['cuda-speed'] = speedBench;
else console.warn('bundle: packages/engine-cuda/src/index.ts missing; cuda-speed.mjs not bundled');

// Workspace packages a file may import without its package declaring them (the bench's report helpers):
// resolved to their TypeScript sources.
const workspaceSources = {
  name: 'workspace-sources',
  setup(build) {
    build.onResolve({ filter: /^@quantbench\/bench$/ }, () => ({ path: join(root, 'packages/bench/src/index.ts') }));
  },
};

const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints,
  outdir,
  outExtension: { '.js': '.js' },
  entryNames: '[name]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  conditions: ['@quantbench/source'],
  external: ['webgpu', '*.node'],
  // Bundled CommonJS dependencies may call require(); give the ESM output one.
  banner: { js: "import { createRequire as __qbCreateRequire } from 'node:module'; const require = __qbCreateRequire(import.meta.url);" },
  plugins: [relocate, workspaceSources],
  logLevel: 'warning',
  metafile: true,
});
// The CLI entry keeps an explicit .mjs name; worker.js stays .js because thread-pool.ts opens `./worker.js`
// (ESM through the package.json {"type":"module"} that pack.sh writes beside it).
for (const name of Object.keys(entryPoints)) if (name !== 'worker') await rename(join(outdir, `${name}.js`), join(outdir, `${name}.mjs`));
const outputs = Object.entries(result.metafile.outputs).map(([file, info]) => `${file.replace(/(quantbench|cuda-speed)\.js$/, '$1.mjs')} ${(info.bytes / 2 ** 20).toFixed(2)} MiB`);
await writeFile(join(outdir, 'package.json'), `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`);
console.log(outputs.join('\n'));
