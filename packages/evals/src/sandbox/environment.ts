/**
 * Finds what the sandbox needs on this machine — a Python 3 interpreter and bubblewrap — and checks that bubblewrap
 * really isolates here (namespaces allowed) before any untrusted code runs. Nothing ever falls back to running code
 * without isolation: when something is missing, {@link SandboxUnavailableError} says what to install.
 */

import { execFile } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export class SandboxUnavailableError extends Error {
  override readonly name = 'SandboxUnavailableError';
}

export interface SandboxEnvironment {
  /** The real interpreter (shims such as pyenv's resolved to `sys.executable`). */
  readonly python: string;
  readonly pythonVersion: string;
  readonly bwrap: string;
  /** True when running as root: bwrap runs without a user namespace and the driver drops to an unprivileged uid. */
  readonly root: boolean;
  /** Host directories hidden behind an empty tmpfs inside the sandbox (`/root`, and `$HOME` when not root). */
  readonly hiddenDirs: readonly string[];
  /** Interpreter directories bound back (read-only) inside hidden directories so Python still starts. */
  readonly rebinds: readonly string[];
  /** The trusted driver script shipped in this package. */
  readonly driver: string;
}

export interface DetectOptions {
  /** Python executable (name on PATH or path); default `$QUANTBENCH_PYTHON` or `python3`. */
  readonly python?: string;
  /** bubblewrap executable; default `$QUANTBENCH_BWRAP` or `bwrap`. */
  readonly bwrap?: string;
}

const INSTALL_BWRAP =
  'install bubblewrap (Debian/Ubuntu: `sudo apt-get install -y bubblewrap`; Fedora: `dnf install bubblewrap`; ' +
  'scripts/setup.sh installs it when run as root)';
const INSTALL_PYTHON = 'install Python 3.9+ (Debian/Ubuntu: `sudo apt-get install -y python3`) or set QUANTBENCH_PYTHON';

function run(file: string, args: readonly string[], timeoutMs = 20_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stdout, stderr }));
      else resolvePromise({ stdout, stderr });
    });
  });
}

async function which(name: string): Promise<string | undefined> {
  if (name.includes('/')) return existsSync(name) ? resolve(name) : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

/** The driver script: next to this module in src/, or in src/ when this module runs from dist/. */
export function driverPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'driver.py'), resolve(here, '../../src/sandbox/driver.py')];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new SandboxUnavailableError(`sandbox driver.py not found (looked in ${candidates.join(', ')})`);
  return found;
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

let cached: Promise<SandboxEnvironment> | undefined;
let cachedKey = '';

/** Detects and probes the sandbox once per process (per python/bwrap choice); rejects with setup instructions. */
export function detectSandbox(options: DetectOptions = {}): Promise<SandboxEnvironment> {
  const python = options.python ?? process.env.QUANTBENCH_PYTHON ?? 'python3';
  const bwrap = options.bwrap ?? process.env.QUANTBENCH_BWRAP ?? 'bwrap';
  const key = `${python}\0${bwrap}`;
  if (!cached || cachedKey !== key) {
    cachedKey = key;
    cached = detect(python, bwrap);
    cached.catch(() => {
      if (cachedKey === key) cached = undefined;
    });
  }
  return cached;
}

async function detect(pythonName: string, bwrapName: string): Promise<SandboxEnvironment> {
  const pythonFound = await which(pythonName);
  if (!pythonFound) throw new SandboxUnavailableError(`python3 not found (${pythonName}): ${INSTALL_PYTHON}`);
  let info: { exe: string; version: string; paths: string[] };
  try {
    const probe =
      'import json,sys; print(json.dumps({"exe": sys.executable, "version": sys.version.split()[0], ' +
      '"ok": sys.version_info >= (3, 9), "paths": [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix] + sys.path}))';
    const { stdout } = await run(pythonFound, ['-I', '-c', probe]);
    const parsed = JSON.parse(stdout.trim()) as { exe: string; version: string; ok: boolean; paths: string[] };
    if (!parsed.ok) throw new Error(`Python ${parsed.version} is older than 3.9`);
    info = parsed;
  } catch (error) {
    throw new SandboxUnavailableError(`${pythonFound} does not run as Python 3.9+ (${String(error)}): ${INSTALL_PYTHON}`);
  }
  const python = realpathSync(info.exe);

  const bwrap = await which(bwrapName);
  if (!bwrap) {
    throw new SandboxUnavailableError(
      `bubblewrap (bwrap) not found: it isolates generated code (namespaces, read-only file system, no network); ${INSTALL_BWRAP}. ` +
        'Generated code is never run without it.',
    );
  }

  const root = process.getuid?.() === 0;
  const hiddenDirs = ['/root'];
  const home = process.env.HOME ?? homedir();
  if (!root && home && isAbsolute(home) && home !== '/' && !hiddenDirs.includes(home)) hiddenDirs.push(home);
  const rebinds: string[] = [];
  const interpreterPaths = [python, ...info.paths]
    .filter((p) => p && isAbsolute(p) && existsSync(p))
    .map((p) => realpathSync(p));
  for (const p of interpreterPaths.sort((a, b) => a.length - b.length)) {
    const hidden = hiddenDirs.find((h) => isUnder(p, h));
    if (!hidden || p === hidden) continue;
    if (rebinds.some((r) => isUnder(p, r))) continue;
    // Bind back the top-most interpreter directory below the hidden one (e.g. ~/.pyenv/versions/3.11.7).
    rebinds.push(p.endsWith('.zip') ? dirname(p) : p);
  }

  const env: SandboxEnvironment = {
    python,
    pythonVersion: info.version,
    bwrap,
    root,
    hiddenDirs,
    rebinds,
    driver: driverPath(),
  };
  await probeIsolation(env);
  return env;
}

/** Runs bwrap with the real flags once; explains what to change when namespaces are not allowed. */
async function probeIsolation(env: SandboxEnvironment): Promise<void> {
  const args = [
    ...namespaceArgs(env),
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/tmp',
    ...hideArgs(env),
    env.python,
    '-I',
    '-c',
    'import socket,sys\ntry:\n socket.create_connection(("1.1.1.1", 53), timeout=1)\n sys.exit(3)\nexcept OSError:\n print("isolated")',
  ];
  try {
    const { stdout } = await run(env.bwrap, args);
    if (stdout.trim() !== 'isolated') throw new Error(`unexpected probe output ${JSON.stringify(stdout)}`);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    const hint = env.root
      ? 'bwrap could not create namespaces even as root (a container without CAP_SYS_ADMIN?)'
      : 'unprivileged user namespaces seem disabled: enable them (`sysctl kernel.unprivileged_userns_clone=1`, or on ' +
        'Ubuntu 24.04+ `sysctl kernel.apparmor_restrict_unprivileged_userns=0`), or run as root';
    throw new SandboxUnavailableError(
      `bubblewrap is installed (${env.bwrap}) but cannot isolate here: ${hint}. bwrap said: ${stderr.trim() || String(error)}`,
    );
  }
}

/** Namespace and privilege flags: the same in the probe and in every test run. */
export function namespaceArgs(env: SandboxEnvironment): string[] {
  const common = [
    '--die-with-parent',
    '--new-session',
    '--unshare-pid',
    '--unshare-net',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--hostname',
    'sandbox',
  ];
  return env.root
    ? // Root: no user namespace (so the driver can drop to a real unprivileged host uid, where RLIMIT_NPROC binds);
      // keep only the capabilities needed for that drop, which then clears them all.
      [...common, '--cap-drop', 'ALL', '--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID']
    : // Unprivileged: a user namespace; bwrap gives the child no capabilities.
      [...common, '--unshare-user', '--cap-drop', 'ALL'];
}

/**
 * Hides `/root` (and `$HOME` when not root) behind small empty read-only tmpfs mounts, then binds the interpreter's
 * directories back, creating the directories in between world-traversable (bwrap would make them 0700).
 */
export function hideArgs(env: SandboxEnvironment): string[] {
  const args: string[] = [];
  for (const dir of env.hiddenDirs) args.push('--size', '65536', '--perms', '0555', '--tmpfs', dir);
  const made = new Set<string>();
  for (const target of env.rebinds) {
    const hidden = env.hiddenDirs.find((h) => isUnder(target, h));
    if (hidden) {
      const parts = target.slice(hidden.length).split(sep).filter(Boolean);
      let at = hidden;
      for (const part of parts.slice(0, -1)) {
        at = join(at, part);
        if (made.has(at)) continue;
        made.add(at);
        args.push('--perms', '0555', '--dir', at);
      }
    }
    args.push('--ro-bind', target, target);
  }
  return args;
}
