// tidemark's Node.js sample: the sample server's line protocol on 127.0.0.1, leaking one
// 64 KiB Buffer per request into a global array (native memory, outside the JS heap).
//   node leaky_server.js PORT_FILE
// "REQ" → "OK <n>", "QUIT" → "BYE" and exit 0.
'use strict';
const net = require('net');
const fs = require('fs');

const portFile = process.argv[2];
const retained = [];  // the leak: never trimmed
let requests = 0;

const server = net.createServer((socket) => {
  let input = '';
  socket.on('data', (chunk) => {
    input += chunk.toString();
    let end;
    while ((end = input.indexOf('\n')) >= 0) {
      const line = input.slice(0, end);
      input = input.slice(end + 1);
      if (line.startsWith('REQ')) {
        requests += 1;
        retained.push(Buffer.alloc(64 * 1024, requests & 0xff));
        socket.write(`OK ${requests}\n`);
      } else if (line === 'QUIT') {
        socket.end('BYE\n', () => {
          console.log(`node server: ${requests} requests, ${retained.length} buffers retained`);
          process.exit(0);
        });
      }
    }
  });
  socket.on('error', () => {});
});

server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile + '.tmp', `${server.address().port}\n`);
  fs.renameSync(portFile + '.tmp', portFile);
});
