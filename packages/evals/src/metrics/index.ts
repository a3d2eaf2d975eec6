export {
  cellMetrics,
  groupByProblem,
  pairedDelta,
  passAtKValues,
  type CellMetrics,
  type PairedDelta,
  type PairedTestName,
  type PassAtKMetric,
  type ScoredSample,
  type StatsOptions,
} from './cell.js';
export { cellRows, cellTableLines, deltaRows, deltaTableLines, formatTable, type RowCell, type RowContext, type TableLine } from './report.js';
