// Baseline `bare-socket.io`: a Socket.IO server with the gateway's namespace and transport
// options that accepts every connection and does nothing with it (no Nest, no token check,
// no listeners of its own): what Engine.IO, Socket.IO and `ws` alone cost a connection
// here, the floor of the gateway's connection rate. Answers HTTP so the harness sees it is up.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const server = createServer();
const io = new Server(server, { transports: ['websocket'], perMessageDeflate: false });
io.of('/ws');
// Engine.IO answers its own path; everything else is the harness's readiness probe.
server.prependListener('request', (request, response) => {
  if (request.url?.startsWith('/socket.io/')) return;
  request.resume();
  response.writeHead(request.method === 'POST' ? 202 : 200).end();
});
server.listen(Number(process.env.PORT), '127.0.0.1');
