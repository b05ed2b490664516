// Baseline `raw-ws`: a bare `ws` server that encodes each event once and writes the same
// frame to every subscriber (by `?symbol=`, or by `?user=` for user events, unauthenticated).
// The practical ceiling of this machine. Same HTTP publish API.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT);
const subscribers = new Map();
const server = createServer((request, response) => {
  if (request.method !== 'POST') return response.writeHead(200).end('raw-ws');
  let body = '';
  request.on('data', (chunk) => (body += chunk));
  request.on('end', () => {
    for (const { data } of JSON.parse(body)) {
      const frame = JSON.stringify({ ts: Date.now(), data });
      const key = data.userId === undefined ? `symbol:${data.symbol}` : `user:${data.userId}`;
      for (const client of subscribers.get(key) ?? []) client.send(frame);
    }
    response.writeHead(202).end();
  });
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (socket, request) => {
  const query = new URL(request.url, 'http://x').searchParams;
  const key = query.has('user') ? `user:${query.get('user')}` : `symbol:${query.get('symbol')}`;
  if (!subscribers.has(key)) subscribers.set(key, new Set());
  subscribers.get(key).add(socket);
  socket.on('close', () => subscribers.get(key).delete(socket));
});
server.listen(port, '127.0.0.1');
