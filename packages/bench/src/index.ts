export { compareLogits, formatComparison } from './compare.js';
export { readPromptFile } from './prompts.js';
export { createRunReport, describeEnvironment, gitCommit, makeRunId, type RunEnvironment, type RunReport } from './report.js';
export { measureSpeed, type SpeedFigure, type SpeedOptions } from './engine-speed.js';
