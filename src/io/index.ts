// The io layer: safetensors files, checkpoint directories, atomic writes, JSON with located errors.
export { writeFileAtomic, fsyncDirectory, type WriteAtomicOptions } from './atomic.js';
export { parseJson, readJsonFile, jsonErrorOffset, lineColumn } from './json.js';
export {
  encodeSafetensors,
  decodeSafetensors,
  readSafetensors,
  writeSafetensors,
  type StDType,
  type StTensor,
} from './safetensors.js';
export {
  saveCheckpoint,
  copyCheckpoint,
  loadCheckpoint,
  recoverCheckpoint,
  CHECKPOINT_FILES,
  type CheckpointToSave,
  type LoadedCheckpoint,
  type LoadCheckpointOptions,
  type SaveCheckpointOptions,
} from './checkpoint.js';
export { recoverInterruptedSaves } from './recover.js';
export {
  GgufFile,
  readGgufHeader,
  metaNumber,
  requireMetaNumber,
  metaString,
  metaBool,
  metaStrings,
  metaNumbers,
  metaPlain,
  ggufValue,
  type GgufHeader,
  type GgufTensorInfo,
  type GgufMetadata,
  type GgufValue,
  type GgufScalarType,
} from './gguf.js';
export { writeGguf, encodeGguf, type GgufToWrite, type GgufTensorToWrite } from './gguf-write.js';
