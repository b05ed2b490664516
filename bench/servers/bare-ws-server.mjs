// Baseline `bare-ws`: a `ws` server that accepts connections and does nothing with them (no
// subscriber map, no listeners of its own): what one idle WebSocket costs in `ws` and Node
// itself, the floor for the memory per connection of every other target. Answers HTTP so the
// harness sees it is up; POST /api/publish is taken and dropped.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => response.writeHead(request.method === 'POST' ? 202 : 200).end());
});
new WebSocketServer({ server, perMessageDeflate: false });
server.listen(Number(process.env.PORT), '127.0.0.1');
