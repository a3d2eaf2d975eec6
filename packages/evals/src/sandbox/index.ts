export { compareStdout, parseDecimal, pySplit, pyStrip, strippedLines, type StdoutComparison } from './compare.js';
export {
  detectSandbox,
  driverPath,
  hideArgs,
  namespaceArgs,
  SandboxUnavailableError,
  type DetectOptions,
  type SandboxEnvironment,
} from './environment.js';
export { defaultSandboxPool, SandboxPool, type SandboxSlot } from './pool.js';
export {
  runCodeProblem,
  runOneTest,
  runPythonTests,
  SANDBOX_DEFAULTS,
  sandboxArgs,
  type RunPythonTestsOptions,
  type RunPythonTestsResult,
  type SandboxTestResult,
  type CodeProblemRunResult,
  type CodeProblemTestResult,
  type TestSelection,
  type SandboxTestStatus,
} from './run.js';
