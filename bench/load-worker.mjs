// One load-generator process: many WebSocket connections speaking Engine.IO v4 / Socket.IO v5
// directly (socket.io-client per connection is far too heavy), or the gateway's plain-WebSocket
// JSON protocol (`json`, docs/PROTOCOL.md), spread over loopback source addresses. Reports to its parent: connections ready, latencies (event timestamp to
// receipt) and messages that reached the wrong user.
import { createHmac } from 'node:crypto';
import { URLSearchParams } from 'node:url';
import { WebSocket } from 'ws';

/**
 * Connection i goes to `targets[i % targets.length]`: its URL and the command it sends once
 * connected (the acknowledgement makes it ready).
 * @type {{
 *   targets: Array<{ url: string; command?: [event: string, body: unknown] }>;
 *   connections: number; firstAddress?: number; protocol: 'socket.io' | 'json' | 'raw';
 *   jwtSecret?: string; firstUser?: number; batch?: boolean; books?: boolean;
 * }}
 * With `books` (Socket.IO), every order-book message counts (`bookMessages`) and each
 * connection's highest `lastUpdateId` is kept (`lastUpdateIds`: lowest and highest over the
 * connections): rate and depth feeds carry no publisher timestamp to count them by.
 */
const config = JSON.parse(process.argv[2]);
const { targets, connections, firstAddress, protocol, jwtSecret, firstUser } = config;
const latencies = [];
let ready = 0;
let misrouted = 0;
let stopping = false;
const sockets = [];
const lastUpdateIds = config.books ? new Array(connections).fill(0) : undefined;
let bookMessages = 0;

/**
 * With `firstAddress`, 127.0.0.x source addresses get past one address's ephemeral port
 * range (28,000 ports to one server port). Binding a source address costs the kernel a
 * search for a free port at every connect (most of a load worker's CPU at 10,000
 * connections: `--cpu-prof` showed 82 % in `connect`), so without it the kernel picks the
 * port as it connects.
 */
function address(i) {
  return firstAddress === undefined ? undefined : `127.0.0.${firstAddress + Math.floor(i / 20000)}`;
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

/** Order-book messages (or a batch of them) to connection `i`; replays only move its id. */
function noteBook(i, event, payload) {
  for (const envelope of event === 'batch' ? payload : [payload]) {
    const id = envelope?.data?.lastUpdateId;
    if (typeof id !== 'number') continue;
    if (!envelope.replay) bookMessages++;
    if (id > lastUpdateIds[i]) lastUpdateIds[i] = id;
  }
}

function onSocketIo(socket, text, user, command, markReady, i) {
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
    if (lastUpdateIds) noteBook(i, event, payload);
    if (event === 'batch') {
      for (const envelope of payload) received(user, envelope.data);
    } else if (payload?.data?.timestamp !== undefined && !payload.replay) {
      received(user, payload.data);
    }
  }
}

/**
 * The JSON face: a token at the door joins at once (`connected`); without one the server
 * offers `auth_required` and the first command joins anonymously. The command (or a `ping`
 * when there is none) is sent once, with id 1; its answer makes the connection ready.
 */
function onJson(socket, text, user, command, markReady) {
  const frame = JSON.parse(text);
  switch (frame.type) {
    case 'connected':
    case 'auth_required': {
      // Without a token `auth_required` comes first, and `connected` once the command joined.
      if (socket.commandSent) return;
      socket.commandSent = true;
      const [type, data] = command ?? ['ping'];
      return socket.send(
        JSON.stringify(data === undefined ? { id: 1, type } : { id: 1, type, data }),
      );
    }
    case 'batch':
      for (const envelope of frame.data) received(user, envelope.data);
      return;
    default:
      if (frame.id === 1) {
        if (frame.type === 'error') return refusedOnce(frame);
        return markReady();
      }
      if (frame.data?.data?.timestamp !== undefined && !frame.data.replay)
        received(user, frame.data.data);
  }
}

let refusals = 0;
function refusedOnce(frame) {
  if (refusals++ === 0) console.error(`load worker: refused ${JSON.stringify(frame.data)}`);
}

/** The URL of connection `i`: the JSON face takes the token and `batch` in the query. */
function urlOf(url, user) {
  if (protocol === 'raw' && user !== undefined) return `${url}&user=${user}`;
  if (protocol !== 'json') return url;
  const query = new URLSearchParams();
  if (jwtSecret) query.set('token', token(user));
  if (config.batch) query.set('batch', 'true');
  const search = query.toString();
  return search ? `${url}${url.includes('?') ? '&' : '?'}${search}` : url;
}

/**
 * Handshakes in flight at once: the worker opens the next connection when one is ready or
 * given up, so the door is measured at the rate it sustains. Offering every handshake at
 * once instead overflows the listen backlog, and the kernel's SYN retries (1 s, 3 s, ...)
 * then set the connect rate (it moved between 300 and 1,000 a second from run to run).
 */
const IN_FLIGHT = config.inFlight ?? 64;
let nextConnection = 0;
const settled = new Uint8Array(connections);
/** Connection `i` is ready or given up: its slot goes to the next one. */
function settle(i) {
  if (settled[i]) return;
  settled[i] = 1;
  if (nextConnection < connections && !stopping) connect(nextConnection++);
}

/** Opens connection `i`; one that closes before it is ready is tried again, up to 5 times. */
function connect(i, attempt = 0) {
  let isReady = false;
  const markReady = () => {
    isReady = true;
    ready++;
    settle(i);
  };
  const user = userOf(i);
  const { url, command } = targets[i % targets.length];
  const target = urlOf(url, user);
  const socket = new WebSocket(target, { localAddress: address(i), perMessageDeflate: false });
  socket.on('message', (data) => {
    const text = data.toString();
    if (protocol === 'raw') received(user, JSON.parse(text).data);
    else if (protocol === 'json') onJson(socket, text, user, command, markReady);
    else onSocketIo(socket, text, user, command, markReady, i);
  });
  socket.on('open', () => {
    if (protocol === 'raw') markReady();
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    if (isReady) ready--;
    if (isReady || stopping) return;
    if (attempt < 5) setTimeout(() => connect(i, attempt + 1), 200);
    else settle(i);
  });
  sockets[i] = socket;
}

process.on('message', (message) => {
  if (message === 'connect') {
    while (nextConnection < Math.min(IN_FLIGHT, connections)) connect(nextConnection++);
  } else if (message === 'report') {
    const books = lastUpdateIds && {
      bookMessages,
      lastUpdateIds: {
        lowest: lastUpdateIds.reduce((a, b) => Math.min(a, b), Infinity),
        highest: lastUpdateIds.reduce((a, b) => Math.max(a, b), 0),
      },
    };
    bookMessages = 0;
    process.send({ protocol, ready, misrouted, latencies: latencies.splice(0), ...books });
  } else if (message === 'stop') {
    stopping = true;
    for (const socket of sockets) socket?.terminate();
    process.exit(0);
  }
});
process.send({ started: true });
