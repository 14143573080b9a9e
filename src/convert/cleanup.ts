/**
 * The way out of an interrupted conversion: a command line's Ctrl-C handler removes the hidden temporary
 * files of the conversion in progress (`.NAME.rawbright-PID-RANDOM.tmp`, sharp's decoded image) before it
 * exits, so nothing is left behind.
 */
export { removeTemporaryFilesSync } from '../file/output.js';
