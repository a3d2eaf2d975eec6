/** What env.json records beyond the machine: library versions of every workspace package and the GPU driver. */
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** `{ "webgpu": "0.6.2", ... }`: the installed version of every dependency of every workspace package. */
export async function libraryVersions(repoRoot: string): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  for (const group of ['packages', 'apps']) {
    let names: string[];
    try {
      names = await readdir(join(repoRoot, group));
    } catch {
      continue;
    }
    for (const name of names) {
      const dir = join(repoRoot, group, name);
      let manifest: { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
      try {
        manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
      } catch {
        continue;
      }
      for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })) {
        if (dep.startsWith('@quantbench/') || versions[dep]) continue;
        try {
          const installed = JSON.parse(await readFile(join(dir, 'node_modules', dep, 'package.json'), 'utf8')) as { version?: string };
          if (installed.version) versions[dep] = installed.version;
        } catch {
          // not installed for this package
        }
      }
    }
  }
  return Object.fromEntries(Object.entries(versions).sort(([a], [b]) => a.localeCompare(b)));
}

/** NVIDIA GPUs and driver from nvidia-smi, where it exists. */
export function nvidiaGpus(): string[] | undefined {
  try {
    const text = execFileSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
    return text.trim().split('\n').filter(Boolean);
  } catch {
    return undefined;
  }
}
