// Baseline `raw-ws`: a bare `ws` server that encodes each event once and writes the same
// frame to every subscriber. The practical ceiling of this machine. Same HTTP publish API.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT);
const bySymbol = new Map();
const server = createServer((request, response) => {
  if (request.method !== 'POST') return response.writeHead(200).end('raw-ws');
  let body = '';
  request.on('data', (chunk) => (body += chunk));
  request.on('end', () => {
    for (const { data } of JSON.parse(body)) {
      const frame = JSON.stringify({ ts: data.timestamp, data });
      for (const client of bySymbol.get(data.symbol) ?? []) client.send(frame);
    }
    response.writeHead(202).end();
  });
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (socket, request) => {
  const symbol = new URL(request.url, 'http://x').searchParams.get('symbol');
  if (!bySymbol.has(symbol)) bySymbol.set(symbol, new Set());
  bySymbol.get(symbol).add(socket);
  socket.on('close', () => bySymbol.get(symbol).delete(socket));
});
server.listen(port, '127.0.0.1', () => console.log(`raw-ws listening on ${port}`));
