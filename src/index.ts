/**
 * rawbright: brighten huge raw 16-bit RGBA images in place, window by window.
 * The public API; everything else under src/ is internal.
 */

export {
  type AdjustOptions,
  adjustFile,
  adjustFiles,
  type BrightenOptions,
  brightenFile,
  brightenFiles,
  CHANNELS,
  DEFAULT_WINDOW,
  type FileOutcome,
  type Progress,
  type RangeResume,
  type Report,
  type ResumeOptions,
  type ResumeReport,
  resumeFile,
  SAMPLE_TYPES,
  STRATEGIES,
  type Strategy,
} from './brighten/pipeline.js';
export { parseSize } from './cli/size.js';
export {
  type CreateImageOptions,
  type CreateReport,
  createImage,
  PATTERNS,
  type Pattern,
} from './convert/create.js';
export { type ExportFormat, type ExportOptions, type ExportReport, exportImage } from './convert/export.js';
export { type ImportOptions, type ImportReport, importImage } from './convert/import.js';
export { type ChannelStats, type ImageInfo, imageInfo } from './convert/info.js';
export { type PreviewOptions, type PreviewReport, previewImage } from './convert/preview.js';
export type { RawShapeOptions } from './convert/raw-source.js';
export {
  checkMetadata,
  checkSidecarSize,
  parseSidecar,
  type RawImageMetadata,
  readSidecar,
  sidecarPath,
  writeSidecar,
} from './convert/sidecar.js';
export { RawbrightError } from './errors.js';
export { type FileIdentity, fileIdentity } from './farm/identity.js';
export {
  type FarmAction,
  type FarmJobData,
  type FarmJobResult,
  type FarmRunOptions,
  runFarmJob,
} from './farm/job.js';
export {
  DEFAULT_QUEUE,
  DEFAULT_REDIS_URL,
  type EnqueuedJob,
  type EnqueueOptions,
  type FarmConnectionOptions,
  type FarmJobStatus,
  FarmQueue,
  type FarmStatus,
  prepareJobs,
} from './farm/queue.js';
export { type Phase, type RecordLine, type RecordState, readRecord, recordPathFor } from './farm/record.js';
export {
  FarmWorker,
  type FarmWorkerEvent,
  type FarmWorkerOptions,
  type FarmWorkerSummary,
} from './farm/worker.js';
export {
  ACCESS_MODES,
  type Access,
  ADVICE,
  type Advice,
  type CreateOptions,
  type FlushOptions,
  type FromFdOptions,
  type LockKind,
  MappedFile,
  type OpenExistingOptions,
  type OpenOptions,
  type RangeHolder,
  type RangeOptions,
  Window,
} from './file/mapped-file.js';
export { MAX_MAP_NAME_LENGTH, mapNamesDirectory } from './file/named-map.js';
export {
  type ViewStreamOptions,
  type ViewWriteStreamOptions,
  WindowReadStream,
  WindowWriteStream,
} from './file/streams.js';
export {
  type ArenaRegion,
  KernelHost,
  type KernelHostOptions,
  MAX_ARENA_BYTES,
  OVERLAY_ALIGNMENT,
  type Placement,
} from './kernels/host.js';
export {
  type BrightenParams,
  type Channels,
  createKernel,
  KERNEL_NAMES,
  type Kernel,
  type KernelName,
  type SampleType,
} from './kernels/index.js';
export type { AdjustOp, CheckedOp, OpName, PerBand } from './kernels/ops.js';
export { OP_NAMES } from './kernels/ops.js';
export {
  Channel,
  type ChannelOptions,
  MAX_CHANNEL_CAPACITY,
  type MessageLease,
  MIN_CHANNEL_CAPACITY,
  type SendOptions,
} from './shm/channel.js';
export { Event, type EventOptions } from './shm/event.js';
export { NamedMutex, type NamedMutexOptions } from './shm/mutex.js';
export type { PrimitiveOptions } from './shm/primitive.js';
export { Requester, type RequesterOptions, type Server, serve } from './shm/rpc.js';
export { Semaphore, type SemaphoreOptions } from './shm/semaphore.js';
export { OBJECT_HEADER_BYTES, readObject, writeObject } from './shm/serialize.js';
export {
  type LockOptions,
  MAX_SHARED_MEMORY_MUTEXES,
  MAX_SHARED_MEMORY_NAME_LENGTH,
  MAX_SHARED_MEMORY_SIZE,
  MAX_SHARED_MEMORY_WINDOW,
  Mutex,
  MutexGuard,
  type OpenOnlySharedMemoryOptions,
  type OpenSharedMemoryOptions,
  SharedMemory,
  type SharedMemoryAccess,
  type SharedMemoryOptions,
} from './shm/shared-memory.js';
export type { WaitOptions } from './shm/wait.js';
export type { PathLike } from './validate.js';
