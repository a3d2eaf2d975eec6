import { describeEngineContract } from '@quantbench/core/testing';
import { createCpuEngine } from '../src/index.js';
import { tinyCheckpoints } from './fixtures.js';

// The CPU engine's arithmetic does not depend on how rows are batched or chunked, so the contract holds exactly.
describeEngineContract('cpu', { createEngine: () => createCpuEngine({ prefillChunk: 4 }), checkpoints: tinyCheckpoints, tolerance: 0 });
