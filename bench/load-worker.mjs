// One load-generator process: many WebSocket connections speaking Engine.IO v4 / Socket.IO v5
// directly (socket.io-client per connection is far too heavy), spread over loopback source
// addresses. Reports to its parent: connections ready, latencies (event timestamp to
// receipt) and messages that reached the wrong user.
import { createHmac } from 'node:crypto';
import { WebSocket } from 'ws';

/**
 * Connection i goes to `targets[i % targets.length]`: its URL and the command it sends once
 * connected (the acknowledgement makes it ready).
 * @type {{
 *   targets: Array<{ url: string; command?: [event: string, body: unknown] }>;
 *   connections: number; firstAddress: number; protocol: 'socket.io' | 'raw';
 *   jwtSecret?: string; firstUser?: number; batch?: boolean;
 * }}
 */
const config = JSON.parse(process.argv[2]);
const { targets, connections, firstAddress, protocol, jwtSecret, firstUser } = config;
const latencies = [];
let ready = 0;
let misrouted = 0;
let stopping = false;
const sockets = [];

function address(i) {
  // 127.0.0.x source addresses get past one address's ephemeral port range.
  return `127.0.0.${firstAddress + Math.floor(i / 20000)}`;
}

const base64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
function token(user) {
  const unsigned = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url({
    sub: user,
    exp: Math.floor(Date.now() / 1000) + 3600,
  })}`;
  return `${unsigned}.${createHmac('sha256', jwtSecret).update(unsigned).digest('base64url')}`;
}

const userOf = (i) => (firstUser === undefined ? undefined : `u${firstUser + i}`);

function received(user, data) {
  latencies.push(Date.now() - data.timestamp);
  if (user !== undefined && data.userId !== user) misrouted++;
}

function onSocketIo(socket, text, user, command, markReady) {
  if (text === '2') return socket.send('3');
  if (text.startsWith('0')) {
    const auth = {
      ...(jwtSecret ? { token: token(user) } : {}),
      ...(config.batch ? { batch: true } : {}),
    };
    return socket.send(`40/ws,${Object.keys(auth).length ? JSON.stringify(auth) : ''}`);
  }
  if (text.startsWith('40/ws,')) {
    if (!command) return markReady();
    return socket.send(`42/ws,1${JSON.stringify(command)}`);
  }
  if (text.startsWith('43/ws,1')) return markReady();
  if (text.startsWith('42/ws,')) {
    const [event, payload] = JSON.parse(text.slice(6));
    if (event === 'batch') {
      for (const envelope of payload) received(user, envelope.data);
    } else if (payload?.data?.timestamp !== undefined && !payload.replay) {
      received(user, payload.data);
    }
  }
}

/** Opens connection `i`; one that closes before it is ready is tried again, up to 5 times. */
function connect(i, attempt = 0) {
  let isReady = false;
  const markReady = () => {
    isReady = true;
    ready++;
  };
  const user = userOf(i);
  const { url, command } = targets[i % targets.length];
  const target = protocol === 'raw' && user !== undefined ? `${url}&user=${user}` : url;
  const socket = new WebSocket(target, { localAddress: address(i), perMessageDeflate: false });
  socket.on('message', (data) => {
    const text = data.toString();
    if (protocol === 'raw') received(user, JSON.parse(text).data);
    else onSocketIo(socket, text, user, command, markReady);
  });
  socket.on('open', () => {
    if (protocol === 'raw') markReady();
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    if (isReady) ready--;
    if (!isReady && attempt < 5 && !stopping) setTimeout(() => connect(i, attempt + 1), 200);
  });
  sockets[i] = socket;
}

process.on('message', async (message) => {
  if (message === 'connect') {
    for (let i = 0; i < connections; i++) {
      connect(i);
      // At most 10,000 handshakes a second from one worker: the server is what is measured.
      if (i % 200 === 199) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } else if (message === 'report') {
    process.send({ ready, misrouted, latencies: latencies.splice(0) });
  } else if (message === 'stop') {
    stopping = true;
    for (const socket of sockets) socket?.terminate();
    process.exit(0);
  }
});
process.send({ started: true });
