#!/usr/bin/env node
// Process two of the .NET document's persisted example, in its Node form:
//
//   using (var mmf = MemoryMappedFile.OpenExisting("ImgA"))
//   using (var accessor = mmf.CreateViewAccessor(4000000, 2000000))
//     ... color.Brighten(20) ...
//
// It knows only the name: the file is whatever process one registered as "ImgA" (found by device
// and inode, so a renamed image is followed and a replaced one refused).
import { MappedFile } from '../../dist/index.js';
import { brightenColors } from './color.mjs';

const file = MappedFile.openExisting('ImgA', { access: 'readwrite' });
const window = file.map({ offset: 4_000_000, length: 2_000_000 });
brightenColors(window.buffer, 20);
window.flush();
window.close();
file.close();
console.log(`Process two brightened 2000000 bytes from byte 4000000 of ${file.path} by 20`);
