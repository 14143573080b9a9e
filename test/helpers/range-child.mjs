// A process for the range-lock tests. argv: dist URL, file, offset, length, add, otherOffset, otherLength.
// It locks [offset, offset + length) exclusively, prints {"locked":true}, waits for a line on stdin
// (barrier one), probes the other range (which the other process holds until barrier two) and prints
// what it saw, waits for a second line (barrier two), adds `add` to every byte of its own range
// through a window, unlocks and prints {"done":true}.
import { createInterface } from 'node:readline';

const [url, file, offset, length, add, otherOffset, otherLength] = process.argv.slice(2);
const { MappedFile } = await import(url);
const mapped = MappedFile.open(file, { access: 'readwrite' });
const start = Number(offset);
const size = Number(length);
mapped.lockRange(start, size, 'exclusive');
process.stdout.write(`${JSON.stringify({ locked: true, pid: process.pid })}\n`);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
await lines.next();
let probe;
try {
  mapped.lockRange(Number(otherOffset), Number(otherLength), 'exclusive');
  probe = { code: 'none' };
} catch (error) {
  probe = { code: error.code, holder: error.holder, message: error.message };
}
process.stdout.write(`${JSON.stringify({ probe })}\n`);
await lines.next();
const window = mapped.map({ offset: start, length: size });
const bytes = new Uint8Array(window.buffer);
for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.min(255, bytes[i] + Number(add));
window.flush();
window.close();
mapped.unlockRange(start, size);
mapped.close();
process.stdout.write(`${JSON.stringify({ done: true })}\n`);
