// One load-generator process: many WebSocket connections speaking Engine.IO v4 / Socket.IO v5
// directly (socket.io-client per connection is far too heavy), spread over loopback source
// addresses. Reports latencies (publish timestamp to receipt) to its parent.
import { WebSocket } from 'ws';

const { url, connections, firstAddress, subscribe, protocol } = JSON.parse(process.argv[2]);
const latencies = [];
let received = 0;
let open = 0;
const sockets = [];

function address(i) {
  // 127.0.0.x source addresses get past one address's ephemeral port range.
  return `127.0.0.${firstAddress + Math.floor(i / 20000)}`;
}

function onMessage(socket, text) {
  if (protocol === 'raw') {
    const { ts } = JSON.parse(text);
    received++;
    latencies.push(Date.now() - ts);
    return;
  }
  if (text === '2') return socket.send('3');
  if (text.startsWith('0')) return socket.send('40/ws,');
  if (text.startsWith('40/ws,')) {
    open++;
    return socket.send(`42/ws,${JSON.stringify(['subscribe', subscribe])}`);
  }
  if (text.startsWith('42/ws,')) {
    const [event, envelope] = JSON.parse(text.slice(6));
    if (event === 'trade') {
      received++;
      latencies.push(Date.now() - envelope.data.timestamp);
    }
  }
}

/** Opens connection `i`; one that closes before it subscribed is tried again, up to 5 times. */
function connect(i, attempt = 0) {
  let subscribed = false;
  const socket = new WebSocket(url, { localAddress: address(i), perMessageDeflate: false });
  socket.on('message', (data) => {
    const text = data.toString();
    if (text.startsWith('40/ws,') || protocol === 'raw') subscribed = true;
    onMessage(socket, text);
  });
  socket.on('open', () => {
    if (protocol === 'raw') open++;
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    if (!subscribed && attempt < 5 && !stopping) setTimeout(() => connect(i, attempt + 1), 200);
  });
  sockets[i] = socket;
}

let stopping = false;
for (let i = 0; i < connections; i++) {
  connect(i);
  if (i % 200 === 199) await new Promise((resolve) => setTimeout(resolve, 20));
}

process.on('message', (command) => {
  if (command === 'report') {
    process.send({ open, received, latencies: latencies.splice(0) });
  } else if (command === 'stop') {
    stopping = true;
    for (const socket of sockets) socket.terminate();
    process.exit(0);
  }
});
process.send({ ready: true });
