/** The browser-safe part of the safetensors module: reading (from disk in Node, or from any ModelFiles). */
export {
  SAFETENSORS_DTYPE_BYTES,
  SUPPORTED_DTYPES,
  elementCount,
  isSupportedDType,
  type SafetensorsDType,
} from './dtype.js';
export { MAX_HEADER_BYTES, type TensorInfo } from './header.js';
export {
  READ_CHUNK_BYTES,
  openSafetensors,
  type NewTensor,
  type SafetensorsFile,
  type TensorSource,
} from './reader.js';
export {
  INDEX_FILE_NAME,
  SINGLE_FILE_NAME,
  openSafetensorsDir,
  shardFileName,
  type TensorStore,
} from './sharded.js';
