export { ENGINE_NAMES, ENGINES, engineStatuses, loadEngine, type EngineEntry, type EngineStatus } from './registry.js';
