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
export { CalibrationProbe } from './calibration.js';
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
export {
  BASELINE_SCHEMA_VERSION,
  BaselineSchema,
  compareWithBaseline,
  DEFAULT_GATE_RULE,
  describeGateRule,
  formatGateReport,
  gateFigures,
  latestRun,
  loadRun,
  makeBaseline,
  readBaseline,
  writeBaseline,
  type Baseline,
  type BaselineFigure,
  type CheckStatus,
  type FigureGroup,
  type GateCheck,
  type GateFigure,
  type GateReport,
  type GateRule,
  type KernelChange,
  type LoadedRun,
} from './gate.js';
export { writeReportIndex } from './site-index.js';
