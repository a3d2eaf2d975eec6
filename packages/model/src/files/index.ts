export {
  errorCode,
  isNotFound,
  modelFilePath,
  openModelSource,
  type ModelFiles,
  type ModelSource,
} from './model-files.js';
export { HTTP_RANGE_CHUNK_BYTES, httpModelFiles, type FetchLike } from './http.js';
