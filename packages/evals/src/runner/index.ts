export type { KitTask, ScoreInput, ScoreOutput, TaskKit } from './kit.js';
export { createProgress, formatDuration, silentProgress, type ProgressOptions, type ProgressSink } from './progress.js';
export {
  openSampleWriter,
  readSampleFile,
  repairSampleFile,
  SAMPLE_RECORD_VERSION,
  SampleRecordSchema,
  type ReadSamples,
  type SampleRecord,
  type SampleWriter,
  type TestStatus,
} from './records.js';
export { planCell, runCell, runCells, splitTokenCounts, type CellPlan, type CellRun, type CellSpec, type PlanCellOptions, type RunCellOptions, type SharedCellOptions } from './run-cell.js';
export {
  cellFileName,
  computeDeltas,
  runEval,
  type CellResult,
  type DeltaResult,
  type EvalModels,
  type EvalPlan,
  type EvalRun,
  type RunEvalOptions,
} from './run-eval.js';
export { sampleSeed } from './seeds.js';
export { defaultTaskKit, sandboxRunner, type CodeRunner, type DefaultKitOptions } from './tasks.js';
