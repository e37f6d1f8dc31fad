// A Node.js program that grows its JS heap fast (3M small objects, ~500 MB), then idles
// 2.5 s: for snapshots taken while V8 maps new heap pages (MADV_DONTFORK) and after.
//   tidemark record --snapshot-every 1s -- node samples/node/big_heap.js
'use strict';
const keep = [];
for (let i = 0; i < 3_000_000; i++) keep.push({ i, s: 'x' + i, a: [i, i + 1] });
console.log('objects', keep.length, 'heap MB', Math.round(process.memoryUsage().heapUsed / 1048576));
setTimeout(() => console.log('kept', keep.length), 2500);
