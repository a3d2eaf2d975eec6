/**
 * What the gate measures, from what the two trees' workers describe: a figure in both trees is measured when its
 * fingerprint differs (changed) or, with `unchanged: 'control'`, also when it does not (a control: the same code on
 * both sides, so any verdict but pass is the gate's own error). A figure only in the base is missing (a failure
 * unless the candidate declares it removed), one only in the candidate is new.
 */
import type { DescribeResult, EngineInfo, FigureInfo } from './protocol.js';
import type { RemovedFigures } from './pointer.js';

export type UnchangedPolicy = 'skip' | 'control';

export interface PlannedFigure {
  readonly info: FigureInfo;
  /** The fingerprints differ. */
  readonly changed: boolean;
  /** On a software GPU adapter. */
  readonly software: boolean;
}

export interface KernelFileChange {
  readonly engine: string;
  readonly file: string;
  readonly change: 'changed' | 'added' | 'removed';
  /** Only what it compiles with changed (an included header, an imported helper), not the file itself. */
  readonly viaDependency: boolean;
}

export interface GatePlan {
  readonly measured: readonly PlannedFigure[];
  readonly skipped: readonly FigureInfo[];
  readonly missing: readonly FigureInfo[];
  readonly removed: readonly (FigureInfo & { readonly reason: string })[];
  readonly added: readonly FigureInfo[];
  /** Engines that run in neither tree here, with the candidate's reason. */
  readonly notRun: readonly { readonly engine: string; readonly reason: string }[];
  /**
   * Engines whose source closures differ: their accuracy figures are compared (an unchanged engine computes the
   * same logits bit for bit, so it is no control).
   */
  readonly accuracyEngines: readonly string[];
  readonly kernelChanges: readonly KernelFileChange[];
}

export interface PlanOptions {
  readonly unchanged: UnchangedPolicy;
  /** Only the figures whose key contains one of these. */
  readonly only?: readonly string[];
  readonly engines?: readonly string[];
  readonly removed: RemovedFigures;
  /** The engines whose device is a software GPU adapter. */
  readonly softwareEngines: ReadonlySet<string>;
}

const available = (engines: readonly EngineInfo[], name: string): EngineInfo | undefined => engines.find((engine) => engine.name === name && engine.available);

/** Whether `--engines` and `--only` let the figure in. */
export function isWanted(info: FigureInfo, options: { readonly only?: readonly string[]; readonly engines?: readonly string[] }): boolean {
  return (!options.engines || options.engines.includes(info.engine)) && (!options.only || options.only.length === 0 || options.only.some((part) => info.key.includes(part)));
}

export function planGate(base: DescribeResult, candidate: DescribeResult, fingerprints: { base: ReadonlyMap<string, string>; candidate: ReadonlyMap<string, string> }, options: PlanOptions): GatePlan {
  const wanted = (info: FigureInfo): boolean => isWanted(info, options);
  const candidateByKey = new Map(candidate.figures.map((info) => [info.key, info]));
  const baseKeys = new Set(base.figures.map((info) => info.key));
  const measured: PlannedFigure[] = [];
  const skipped: FigureInfo[] = [];
  const missing: FigureInfo[] = [];
  const removed: (FigureInfo & { reason: string })[] = [];
  for (const info of base.figures.filter(wanted)) {
    const now = candidateByKey.get(info.key);
    if (!now) {
      const declared = options.removed.find((entry) => entry.figure === info.key);
      if (declared) removed.push({ ...info, reason: declared.reason });
      else missing.push(info);
      continue;
    }
    const changed = (fingerprints.base.get(info.key) ?? info.fingerprint) !== (fingerprints.candidate.get(info.key) ?? now.fingerprint);
    if (changed || options.unchanged === 'control') measured.push({ info: now, changed, software: options.softwareEngines.has(info.engine) });
    else skipped.push(now);
  }
  const added = candidate.figures.filter((info) => wanted(info) && !baseKeys.has(info.key));

  const engineNames = [...new Set([...base.engines, ...candidate.engines].map((engine) => engine.name))].filter((name) => !options.engines || options.engines.includes(name));
  const notRun = engineNames
    .filter((name) => !available(base.engines, name) && !available(candidate.engines, name))
    .map((name) => {
      const info = candidate.engines.find((engine) => engine.name === name) ?? base.engines.find((engine) => engine.name === name);
      return { engine: name, reason: info && !info.available ? info.reason : 'not registered' };
    });
  const accuracyEngines = engineNames.filter((name) => {
    const before = available(base.engines, name);
    const after = available(candidate.engines, name);
    return before?.available && after?.available && before.closure !== after.closure;
  });
  return { measured, skipped, missing, removed, added, notRun, accuracyEngines, kernelChanges: kernelChanges(base, candidate) };
}

function kernelChanges(base: DescribeResult, candidate: DescribeResult): KernelFileChange[] {
  const changes: KernelFileChange[] = [];
  for (const engine of Object.keys(candidate.kernelSources)) {
    const before = base.kernelSources[engine];
    if (!before) continue;
    const after = candidate.kernelSources[engine]!;
    const beforeByFile = new Map(before.map((source) => [source.file, source]));
    for (const source of after) {
      const old = beforeByFile.get(source.file);
      if (!old) changes.push({ engine, file: source.file, change: 'added', viaDependency: false });
      else if (old.closureSha256 !== source.closureSha256) changes.push({ engine, file: source.file, change: 'changed', viaDependency: old.sha256 === source.sha256 });
    }
    const afterFiles = new Set(after.map((source) => source.file));
    for (const source of before) if (!afterFiles.has(source.file)) changes.push({ engine, file: source.file, change: 'removed', viaDependency: false });
  }
  return changes;
}
