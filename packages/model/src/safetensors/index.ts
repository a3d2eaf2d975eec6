export * from './read.js';
export { writeSafetensors } from './writer.js';
export { writeShardedSafetensors, type ShardedWriteOptions, type ShardedWriteResult } from './sharded-write.js';
