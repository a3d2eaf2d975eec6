export {
  CONFIG_FILE_NAME,
  FP8_BLOCK_SIZE,
  QWEN3_ARCHITECTURE,
  QWEN3_MODEL_TYPE,
  parseQwen3Config,
  readQwen3Config,
  toHfConfigJson,
  type Fp8Quantization,
  type Qwen3Config,
  type YarnRopeScaling,
} from './qwen3.js';
