// A second process for the named-map tests: it takes one JSON command per line on stdin and answers
// each with one JSON line on stdout. argv[2] is the URL of dist/index.js to load.
//   {"op":"open","path":P,"name":N,"access":A}   MappedFile.open(P, { name: N, access: A })
//   {"op":"openExisting","name":N,"access":A}      MappedFile.openExisting(N, { access: A })
//   {"op":"read","offset":O,"length":L}            the bytes, hex, through a window of the open file
//   {"op":"write","offset":O,"hex":H}              writes through a window of the open file
//   {"op":"close"}                                 closes the file
//   {"op":"ping"}                                  answers once the process is ready
// Answers: {"ok":true,...} or {"error":{"code","message"}}.
import { createInterface } from 'node:readline';

const { MappedFile } = await import(process.argv[2]);
let file;

function run(command) {
  switch (command.op) {
    case 'open':
      file = MappedFile.open(command.path, { name: command.name, access: command.access });
      return { path: file.path, size: file.size, pid: process.pid };
    case 'openExisting':
      file = MappedFile.openExisting(command.name, { access: command.access });
      return { path: file.path, size: file.size, pid: process.pid };
    case 'read': {
      const window = file.map({ offset: command.offset, length: command.length });
      const hex = Buffer.from(window.buffer).toString('hex');
      window.close();
      return { hex };
    }
    case 'write': {
      const bytes = Buffer.from(command.hex, 'hex');
      const window = file.map({ offset: command.offset, length: bytes.length });
      new Uint8Array(window.buffer).set(bytes);
      window.close();
      return {};
    }
    case 'close':
      file.close();
      return {};
    case 'ping':
      return {};
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  let answer;
  try {
    answer = { ok: true, ...run(JSON.parse(line)) };
  } catch (error) {
    answer = { error: { code: error.code, message: error.message } };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
