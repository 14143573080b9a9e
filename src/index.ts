/**
 * rawbright: brighten huge raw 16-bit RGBA images in place, window by window.
 * The public API; everything else under src/ is internal.
 */
export { RawbrightError } from './errors.js';
export {
  ACCESS_MODES,
  type Access,
  ADVICE,
  type Advice,
  type CreateOptions,
  type FlushOptions,
  type LockKind,
  MappedFile,
  type OpenOptions,
  type RangeOptions,
  Window,
} from './mapped-file.js';
export {
  type BrightenOptions,
  brightenFile,
  brightenFiles,
  CHANNELS,
  DEFAULT_WINDOW,
  type Progress,
  type Report,
  type ResumeOptions,
  type ResumeReport,
  resumeFile,
  SAMPLE_TYPES,
  STRATEGIES,
  type Strategy,
} from './pipeline.js';
export { OBJECT_HEADER_BYTES, readObject, writeObject } from './serialize.js';
export {
  type LockOptions,
  MAX_SHARED_MEMORY_MUTEXES,
  MAX_SHARED_MEMORY_NAME_LENGTH,
  MAX_SHARED_MEMORY_SIZE,
  Mutex,
  MutexGuard,
  SharedMemory,
  type SharedMemoryOptions,
} from './shared-memory.js';
export { parseSize } from './size.js';
