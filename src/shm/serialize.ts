/**
 * Structured values in raw memory: a JavaScript value serialized with V8's structured serializer
 * (`node:v8`, the format `structuredClone` and worker messages use) behind a small header, so it can be
 * written into a shared memory region or a mapped file window and read back by another process.
 *
 * Layout (little-endian), at the start of the given buffer or view:
 * ```
 * bytes 0-3   magic "RBOB"
 * bytes 4-7   format version (1)
 * bytes 8-15  payload length in bytes (uint64)
 * bytes 16-   the V8 serialization
 * ```
 * Readers and writers in different processes must take turns (a region's {@link Mutex}): a read that
 * overlaps a write can see a half-written value.
 */
import { DefaultDeserializer, serialize } from 'node:v8';
import { invalidParameterError, RawbrightError } from '../errors.js';

/** Bytes the header takes in front of the serialized value. */
export const OBJECT_HEADER_BYTES = 16;
const MAGIC = 0x424f4252; // "RBOB" read as a little-endian uint32
const FORMAT_VERSION = 1;

/**
 * Node's deserializer hands back typed arrays and DataViews that are views of its input (or, when
 * unaligned, of a slice of Node's shared Buffer pool): their `.buffer` would expose, and let callers
 * overwrite, the rest of the payload or unrelated Buffers. Each view gets an ArrayBuffer of its own,
 * of exactly its size.
 */
// Documented for v8.Deserializer subclasses, but missing from @types/node.
const readHostObject = (
  DefaultDeserializer.prototype as unknown as { _readHostObject(this: DefaultDeserializer): unknown }
)._readHostObject;

class PrivateViewDeserializer extends DefaultDeserializer {
  _readHostObject(): unknown {
    const view = readHostObject.call(this) as ArrayBufferView;
    const own = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength) as ArrayBuffer;
    if (view instanceof DataView) return new DataView(own);
    if (Buffer.isBuffer(view)) return Buffer.from(own);
    const Kind = view.constructor as new (buffer: ArrayBuffer) => ArrayBufferView;
    return new Kind(own);
  }
}

function deserializePrivately(payload: Uint8Array): unknown {
  const deserializer = new PrivateViewDeserializer(payload);
  deserializer.readHeader();
  return deserializer.readValue();
}

function bytesOf(name: string, target: unknown): Uint8Array {
  if (target instanceof ArrayBuffer) return new Uint8Array(target);
  if (ArrayBuffer.isView(target)) return new Uint8Array(target.buffer, target.byteOffset, target.byteLength);
  throw invalidParameterError(name, 'an ArrayBuffer, a TypedArray, a Buffer or a DataView', target);
}

/**
 * The V8 serialization of `value` (no header), for carriers that frame values themselves (Channel).
 * @throws `ERR_NOT_SERIALIZABLE` if it cannot be serialized.
 */
export function serializeValue(value: unknown): Buffer {
  try {
    return serialize(value);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new RawbrightError('ERR_NOT_SERIALIZABLE', `the value cannot be serialized: ${reason}`, {
      cause: error,
    });
  }
}

/**
 * Reads back {@link serializeValue}'s bytes; typed arrays in the result own their memory.
 * @throws `ERR_INVALID_OBJECT` if the bytes are not a valid serialization.
 */
export function deserializeValue(payload: Uint8Array): unknown {
  try {
    return deserializePrivately(payload);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new RawbrightError('ERR_INVALID_OBJECT', `the serialized value is damaged: ${reason}`, {
      cause: error,
    });
  }
}

/**
 * Serializes `value` into `target` (from its first byte).
 * @param target - where to write: an ArrayBuffer (e.g. `SharedMemory.buffer`, `Window.buffer`) or any
 *   view of one, whose range is used.
 * @param value - anything the structured clone algorithm takes (objects, arrays, Map, Set, Date,
 *   RegExp, typed arrays, bigint, ...; not functions or symbols).
 * @returns the number of bytes written, header included.
 * @throws `ERR_OBJECT_TOO_LARGE` if the value does not fit (nothing is written then);
 *   `ERR_NOT_SERIALIZABLE` if it cannot be serialized; `ERR_INVALID_ARG_VALUE` for a bad target.
 * @example
 * ```ts
 * writeObject(region.buffer, { id: 7, name: 'record', tags: new Set(['a']) });
 * const copy = readObject(region.buffer);
 * ```
 */
export function writeObject(target: ArrayBuffer | ArrayBufferView, value: unknown): number {
  const bytes = bytesOf('target', target);
  let payload: Buffer;
  try {
    payload = serialize(value);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new RawbrightError('ERR_NOT_SERIALIZABLE', `the value cannot be serialized: ${reason}`, {
      cause: error,
    });
  }
  const needed = OBJECT_HEADER_BYTES + payload.length;
  if (needed > bytes.length) {
    throw new RawbrightError(
      'ERR_OBJECT_TOO_LARGE',
      `the value needs ${needed} bytes but the buffer holds ${bytes.length}`,
    );
  }
  const header = new DataView(bytes.buffer, bytes.byteOffset, OBJECT_HEADER_BYTES);
  // Invalidate first, so a reader that ignores the mutex sees "no object" rather than old length + new bytes.
  header.setUint32(0, 0, true);
  bytes.set(payload, OBJECT_HEADER_BYTES);
  header.setUint32(4, FORMAT_VERSION, true);
  header.setBigUint64(8, BigInt(payload.length), true);
  header.setUint32(0, MAGIC, true);
  return needed;
}

/**
 * Reads back a value written by {@link writeObject}. The result is a fresh copy that shares memory
 * with nothing: every typed array or DataView in it has an ArrayBuffer of its own, of exactly its
 * size (not a view of the source, of the other values, or of Node's Buffer pool).
 * @param source - the ArrayBuffer or view that {@link writeObject} wrote into.
 * @returns the value.
 * @throws `ERR_NO_OBJECT` if the buffer holds no object (no header); `ERR_INVALID_OBJECT` if the
 *   header or the serialized bytes are damaged; `ERR_INVALID_ARG_VALUE` for a bad source.
 */
export function readObject<T = unknown>(source: ArrayBuffer | ArrayBufferView): T {
  const bytes = bytesOf('source', source);
  if (bytes.length < OBJECT_HEADER_BYTES) {
    throw new RawbrightError('ERR_NO_OBJECT', 'the buffer is too small to hold a serialized object');
  }
  const header = new DataView(bytes.buffer, bytes.byteOffset, OBJECT_HEADER_BYTES);
  if (header.getUint32(0, true) !== MAGIC) {
    throw new RawbrightError('ERR_NO_OBJECT', 'the buffer holds no serialized object');
  }
  const version = header.getUint32(4, true);
  if (version !== FORMAT_VERSION) {
    throw new RawbrightError(
      'ERR_INVALID_OBJECT',
      `the serialized object has format ${version}, not ${FORMAT_VERSION}`,
    );
  }
  const length = header.getBigUint64(8, true);
  if (length > BigInt(bytes.length - OBJECT_HEADER_BYTES)) {
    throw new RawbrightError(
      'ERR_INVALID_OBJECT',
      `the serialized object claims ${length} bytes but only ${bytes.length - OBJECT_HEADER_BYTES} follow the header`,
    );
  }
  try {
    // Deserialized from a private copy (slice: a fresh ArrayBuffer, never the Buffer pool), so
    // another process writing the region meanwhile cannot change bytes already checked.
    return deserializePrivately(bytes.slice(OBJECT_HEADER_BYTES, OBJECT_HEADER_BYTES + Number(length))) as T;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new RawbrightError('ERR_INVALID_OBJECT', `the serialized object is damaged: ${reason}`, {
      cause: error,
    });
  }
}
