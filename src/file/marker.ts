/**
 * Markers: small extended attributes (`user.rawbright.NAME`) that travel with a file itself, so that
 * what they say is found through whichever path or hard link reaches the file. Where the file system
 * keeps no user attributes, markers are absent.
 */
import { nativeHandle } from './handle.js';
import type { MappedFile } from './mapped-file.js';

/** The marker's value, or undefined. */
export function readMarker(file: MappedFile, name: string): string | undefined {
  return nativeHandle(file).getMarker(name);
}

/** Sets a marker; false where the file system keeps none. */
export function writeMarker(file: MappedFile, name: string, value: string): boolean {
  return nativeHandle(file).setMarker(name, value);
}

/** Removes a marker if present. */
export function removeMarker(file: MappedFile, name: string): void {
  nativeHandle(file).removeMarker(name);
}

/** The names of the file's markers; undefined where the file system keeps none. */
export function listMarkers(file: MappedFile): string[] | undefined {
  return nativeHandle(file).listMarkers();
}
