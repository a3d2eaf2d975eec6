export { captureLogits, compareCapturedLogits, compareLogits, formatComparison } from './compare.js';
export { readPromptFile } from './prompts.js';
export {
  createRunReport,
  describeEnvironment,
  gitCommit,
  makeRunId,
  type RunEnvironment,
  type RunReport,
  writeAtomically,
  writeEnvironmentFile,
  writeResultsFiles,
} from './report.js';
export { measureSpeed, type SpeedFigure, type SpeedOptions } from './engine-speed.js';
export { libraryVersions, nvidiaGpus } from './environment.js';
export { summarize, type SampleSummary } from './sample-stats.js';
export {
  microbenchRows,
  profileFor,
  runBench,
  THINKING_PROMPTS,
  type BenchEngineStatus,
  type BenchModel,
  type BenchOptions,
  type BenchResult,
  type BenchSection,
  type CellProfile,
  type EngineRegistry,
} from './run-bench.js';
export { formatBenchTables } from './table.js';
export { writeReportIndex } from './site-index.js';
export { serveGateWorker, type GateWorkerOptions } from './gate/worker.js';
export { runAbGate, type AbGateOptions, type AbGateReport, type FigureOutcome } from './gate/ab-gate.js';
export { formatAbGateReport } from './gate/format.js';
export { gateRows, writeGateRun } from './gate/gate-results.js';
export { readPointer, readRemovedFigures, writePointer, type BaselinePointer } from './gate/pointer.js';
export { resolveCommit } from './gate/base-tree.js';
export { accuracyVerdict, DEFAULT_GATE_RULE, describeGateRule, floorOf, type GateRule, speedVerdict } from './gate/rule.js';
export { pairedRatioInterval, type PairedSamples, type RatioInterval } from './gate/paired-ratio.js';
export { planGate, type GatePlan, type UnchangedPolicy } from './gate/plan.js';
