import { Inject, UseFilters } from '@nestjs/common';
import {
  Ack,
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
} from '@nestjs/websockets';
import { GATEWAY_OPTIONS } from '@nestjs/websockets/constants.js';
import type { Namespace, Socket } from 'socket.io';
import { ConnectionAuthenticator } from '../auth/connection-authenticator.js';
import { SessionLifetime } from '../auth/session-lifetime.service.js';
import { roomEnvelope } from '../broadcast/envelope.js';
import { MessageBatcher } from '../broadcast/message-batcher.js';
import { RoomStreams } from '../recovery/room-streams.service.js';
import { isPlainFeed } from '../feeds/feed-choice.js';
import { SubscriberFeeds, type FeedSubscription } from '../feeds/subscriber-feeds.service.js';
import { RequestRelay } from '../requests/request-relay.service.js';
import type { RoomOpening, StreamPosition } from '../recovery/stream-position.js';
import { RealtimeSettings } from '../config/realtime-settings.js';
import { MarketState, type ReplayedEvent } from '../market/market-state.service.js';
import type { InstanceStats } from '../cluster/cluster-bus.js';
import { ConnectionDrain } from '../lifecycle/connection-drain.service.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { ConnectionGuard } from '../limits/connection-guard.service.js';
import { ClientEvent, ServerEvent } from '../events/protocol-events.js';
import {
  batchedRoom,
  channelOfRoom,
  feedRoom,
  subscriptionRoom,
  userConnectionsRoom,
  userRoom,
} from '../events/rooms.js';
import { RealtimeErrorCode, RealtimeException } from '../errors/index.js';
import type { ConnectionData } from './connection-data.js';
import { closeForCause } from './connection-release.js';
import { gatewayServerOptions } from './gateway-server-options.js';
import { guardNamespaceDoor } from './namespace-door.js';
import { REFUSED_PACKET, type RefusedPacket } from './packet-decoder.js';
import { inArrivalOrder } from './realtime-io.adapter.js';
import { RealtimeExceptionFilter, answerFailure, errorReply } from './realtime-exception.filter.js';
import { reply, type Ack as AckCallback } from './reply.js';
import { SubscriptionParser, type MarketSubscription } from './subscription-parser.js';

/** A subscription about to be opened: its channel and room, what the answer echoes, its `since`. */
interface OpenedSubscription {
  readonly channel: string;
  readonly room: string;
  readonly named: Readonly<Record<string, string | number>>;
  readonly since: StreamPosition | undefined;
  /** The feed it chose, when not its room's plain one (a rate, a partial book). */
  readonly feed?: FeedSubscription;
}

const knownCommands: ReadonlySet<string> = new Set(Object.values(ClientEvent));
const MAX_ECHOED_COMMAND = 64;
/** What an event that is no command arrives as, its name first (see `routeUnknownEvent`). */
const UNKNOWN_EVENT = Symbol('realtime.unknownEvent');

/**
 * Socket.IO middleware: an event that is no command arrives as `UNKNOWN_EVENT`, so its
 * answer takes its turn behind the commands sent before it, like every command's. After
 * the message rate limit: a dropped event gets only that refusal.
 */
function routeUnknownEvent(packet: unknown[], next: (error?: Error) => void): void {
  const event = packet[0];
  if (typeof event === 'string' && !knownCommands.has(event)) packet.unshift(UNKNOWN_EVENT);
  next();
}

/** Answers an event that is no command; one function for all connections (`this` is the socket). */
function answerUnknownEvent(this: Socket, event: string, ...args: unknown[]): void {
  const last = args[args.length - 1];
  const ack = typeof last === 'function' ? (last as AckCallback) : undefined;
  inArrivalOrder(this, event, ack, () =>
    reply(
      this,
      ack,
      ServerEvent.Error,
      errorReply(
        event.slice(0, MAX_ECHOED_COMMAND),
        RealtimeErrorCode.InvalidPayload,
        `unknown event; send one of: ${[...knownCommands].join(', ')}`,
      ),
    ),
  );
}

/** Answers an event the decoder refused, in its turn (`this` is the socket). */
function answerRefusedPacket(this: Socket, refused: RefusedPacket, ack?: AckCallback): void {
  const command = refused.command.slice(0, MAX_ECHOED_COMMAND);
  inArrivalOrder(this, command, ack, () =>
    reply(
      this,
      ack,
      ServerEvent.Error,
      errorReply(command, RealtimeErrorCode.InvalidPayload, refused.message),
    ),
  );
}

/**
 * The Socket.IO face of the module: connection greeting and the client commands. Its
 * server options come from the module's settings (see the constructor).
 */
@WebSocketGateway()
@UseFilters(RealtimeExceptionFilter)
export class AppWebSocketGateway
  implements OnGatewayInit<Namespace>, OnGatewayConnection<Socket>, OnGatewayDisconnect<Socket>
{
  @WebSocketServer()
  server!: Namespace;

  constructor(
    @Inject(RealtimeSettings) private readonly settings: RealtimeSettings,
    @Inject(SubscriptionParser) private readonly subscriptions: SubscriptionParser,
    @Inject(RoomStreams) private readonly streams: RoomStreams,
    @Inject(ConnectionAuthenticator) private readonly authenticator: ConnectionAuthenticator,
    @Inject(SessionLifetime) private readonly sessions: SessionLifetime,
    @Inject(MarketState) private readonly market: MarketState,
    @Inject(ConnectionDrain) private readonly drain: ConnectionDrain,
    @Inject(RealtimeMetrics) private readonly metrics: RealtimeMetrics,
    @Inject(ConnectionGuard) private readonly guard: ConnectionGuard,
    @Inject(MessageBatcher) private readonly batcher: MessageBatcher,
    @Inject(RequestRelay) private readonly requests: RequestRelay,
    @Inject(SubscriberFeeds) private readonly feeds: SubscriberFeeds,
  ) {
    // Nest reads gateway options when it connects gateways, after providers exist: this is
    // how options from forRoot() and forRootAsync() reach the static decorator's metadata.
    Reflect.defineMetadata(
      GATEWAY_OPTIONS,
      gatewayServerOptions(settings, drain, guard),
      AppWebSocketGateway,
    );
  }

  afterInit(server: Namespace): void {
    guardNamespaceDoor(server.server, server.name);
    server.use(this.guard.atTheDoor);
    server.use(this.authenticator.middleware);
    server.use(this.guard.afterAuth);
    this.guard.attach(server);
    this.authenticator.announce();
    this.batcher.attach(server);
    this.feeds.attach(server);
    // A feed ends with its last member here; a room without history starts a new stream once
    // nobody here listens to it (neither it, its twin nor a feed has a member).
    server.adapter.on('delete-room', (deleted: string) => {
      const room = subscriptionRoom(deleted);
      if (deleted !== room) this.feeds.emptied(deleted);
      const rooms = server.adapter.rooms;
      if (!rooms.has(room) && !rooms.has(batchedRoom(room)) && !this.feeds.follows(room))
        this.streams.forget(room);
    });
    this.drain.attach(server);
    this.metrics.countSubscriptionsWith(() => this.subscriptionCounts().entries());
  }

  /** This instance's connections and subscriptions, for operators. */
  localStats(): InstanceStats {
    return {
      instanceId: this.settings.instanceId,
      connections: this.server.sockets.size,
      subscriptions: Object.fromEntries(this.subscriptionCounts()),
    };
  }

  private subscriptionCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [room, members] of this.server.adapter.rooms) {
      const channel = channelOfRoom(room);
      if (channel && room !== channel)
        counts.set(channel, (counts.get(channel) ?? 0) + members.size);
    }
    counts.delete('user');
    return counts;
  }

  handleConnection(client: Socket): void {
    const data = client.data as ConnectionData;
    this.metrics.connections.inc();
    this.guard.connected(client);
    this.sessions.begin(client);
    data.batched = (client.handshake.auth as { batch?: unknown } | undefined)?.batch === true;
    if (data.userId !== null) client.join(userConnectionsRoom(data.userId));
    client.use(routeUnknownEvent);
    // Symbol events: Socket.IO's types know only string names.
    const emitter = client as unknown as NodeJS.EventEmitter;
    emitter.on(UNKNOWN_EVENT, answerUnknownEvent);
    emitter.on(REFUSED_PACKET, answerRefusedPacket);
    client.emit(ServerEvent.Connected, {
      connectionId: client.id,
      userId: data.userId,
      serverTime: Date.now(),
    });
  }

  handleDisconnect(client: Socket): void {
    this.metrics.connections.dec();
    this.guard.disconnected(client);
    this.sessions.end(client);
  }

  @SubscribeMessage(ClientEvent.Subscribe)
  subscribe(
    @ConnectedSocket() client: Socket,
    @MessageBody() body: unknown,
    @Ack() ack?: AckCallback,
  ): void | Promise<void> {
    let subscription: MarketSubscription;
    try {
      subscription = this.subscriptions.market(body, true);
    } catch (error) {
      const echo = this.subscriptions.echoMarket(body);
      return answerFailure(client, ack, ClientEvent.Subscribe, error, echo);
    }
    const { channel, symbol, key, room, named, since, feed: choice } = subscription;
    const unserved = this.streams.unservedGroup(room);
    if (unserved !== undefined) {
      const message = `${symbol} is in bus group ${unserved}, which this instance does not serve; connect to that group's instances`;
      const error = new RealtimeException(RealtimeErrorCode.WrongInstance, message);
      return answerFailure(client, ack, ClientEvent.Subscribe, error, named);
    }
    const feed = isPlainFeed(choice)
      ? undefined
      : { room, feedRoom: feedRoom(room, choice.rate, choice.depth), channel, symbol, key, choice };
    return this.open(
      client,
      ack,
      ClientEvent.Subscribe,
      { channel, room, named, since, feed },
      () => this.market.replay(channel, symbol, key),
    );
  }

  @SubscribeMessage(ClientEvent.Unsubscribe)
  unsubscribe(
    @ConnectedSocket() client: Socket,
    @MessageBody() body: unknown,
    @Ack() ack?: AckCallback,
  ): void {
    let named: MarketSubscription['named'];
    try {
      const subscription = this.subscriptions.market(body);
      named = subscription.named;
      for (const member of this.membershipsOf(client, subscription.room)) client.leave(member);
    } catch (error) {
      const echo = this.subscriptions.echoMarket(body);
      return answerFailure(client, ack, ClientEvent.Unsubscribe, error, echo);
    }
    reply(client, ack, ServerEvent.Unsubscribed, { ok: true, ...named });
  }

  @SubscribeMessage(ClientEvent.SubscribePrivate)
  subscribePrivate(
    @ConnectedSocket() client: Socket,
    @MessageBody() body: unknown,
    @Ack() ack?: AckCallback,
  ): void | Promise<void> {
    let channel: string;
    let since: StreamPosition | undefined;
    let room: string;
    try {
      ({ channel, since } = this.subscriptions.user(body, true));
      room = userRoom(this.verifiedUserId(client), channel);
    } catch (error) {
      const echo = this.subscriptions.echoUser(body);
      return answerFailure(client, ack, ClientEvent.SubscribePrivate, error, echo);
    }
    return this.open(client, ack, ClientEvent.SubscribePrivate, {
      channel,
      room,
      named: { channel },
      since,
    });
  }

  @SubscribeMessage(ClientEvent.UnsubscribePrivate)
  unsubscribePrivate(
    @ConnectedSocket() client: Socket,
    @MessageBody() body: unknown,
    @Ack() ack?: AckCallback,
  ): void {
    let channel: string;
    try {
      channel = this.subscriptions.user(body).channel;
      client.leave(this.memberRoom(client, userRoom(this.verifiedUserId(client), channel)));
    } catch (error) {
      const echo = this.subscriptions.echoUser(body);
      return answerFailure(client, ack, ClientEvent.UnsubscribePrivate, error, echo);
    }
    reply(client, ack, ServerEvent.Unsubscribed, { ok: true, channel });
  }

  @SubscribeMessage(ClientEvent.Ping)
  ping(@ConnectedSocket() client: Socket, @Ack() ack?: AckCallback): void {
    reply(client, ack, ServerEvent.Pong, { ok: true, timestamp: Date.now() });
  }

  @SubscribeMessage(ClientEvent.AuthRefresh)
  refresh(
    @ConnectedSocket() client: Socket,
    @MessageBody() body: unknown,
    @Ack() ack?: AckCallback,
  ): void {
    const outcome = this.sessions.refresh(client, body);
    if ('reply' in outcome) {
      reply(client, ack, ServerEvent.AuthRefreshed, outcome.reply);
      return;
    }
    const { code, message } = outcome.forbidden;
    reply(client, ack, ServerEvent.Error, errorReply(ClientEvent.AuthRefresh, code, message));
    // The answer is queued before the close, so the client reads why.
    closeForCause(client);
  }

  @SubscribeMessage(ClientEvent.Request)
  request(
    @ConnectedSocket() client: Socket,
    @MessageBody() body: unknown,
    @Ack() ack?: AckCallback,
  ): void {
    this.requests.handle(client, body, ack);
  }

  /** The room a connection joins for a subscription: the room, or its batched twin. */
  private memberRoom(client: Socket, room: string): string {
    return (client.data as ConnectionData).batched ? batchedRoom(room) : room;
  }

  /** The rooms through which `client` follows `room`: itself, its twin or one of its feeds. */
  private membershipsOf(client: Socket, room: string): string[] {
    const memberships: string[] = [];
    for (const joined of client.rooms)
      if (subscriptionRoom(joined) === room) memberships.push(joined);
    return memberships;
  }

  /**
   * Opens a subscription within the limit: finds the room's position (and, with `since`,
   * what the client missed), then in one turn answers, sends the missed messages or the
   * current state, and joins, so the live stream follows without a hole or a repeat.
   * Clustered, the position comes from Redis and the command waits for it (bounded).
   */
  private open(
    client: Socket,
    ack: AckCallback | undefined,
    command: string,
    subscription: OpenedSubscription,
    currentState?: () => readonly ReplayedEvent[],
  ): void | Promise<void> {
    const { channel, room, named, since, feed } = subscription;
    const member = feed ? feed.feedRoom : this.memberRoom(client, room);
    if (client.rooms.has(member))
      return reply(client, ack, ServerEvent.Subscribed, { ok: true, ...named });
    // Another rate or depth of a subscription it holds: switched, in the slot it has.
    const switched = this.membershipsOf(client, room);
    try {
      if (switched.length === 0) this.admitSubscription(client);
    } catch (error) {
      return answerFailure(client, ack, command, error, named);
    }
    let finished = false;
    let commandDone: (() => void) | undefined;
    const finish = (found: RoomOpening): void => {
      finished = true;
      if (client.connected)
        this.opened(client, ack, member, switched, subscription, found, currentState);
      commandDone?.();
    };
    // A partial or merged book is never caught up from raw updates: a snapshot serves it.
    const fromSnapshot = feed !== undefined && this.feeds.isBookChannel(channel);
    this.streams.open(room, channel, since, finish, fromSnapshot);
    if (finished) return;
    // The next command of this connection waits for this answer.
    return new Promise<void>((resolve) => (commandDone = resolve));
  }

  /**
   * Answers an opened subscription, sends what it missed or the current state, and joins:
   * all in one call, so the next message of the room reaches the new member and nothing
   * before it does.
   */
  private opened(
    client: Socket,
    ack: AckCallback | undefined,
    member: string,
    switched: readonly string[],
    subscription: OpenedSubscription,
    found: RoomOpening,
    currentState?: () => readonly ReplayedEvent[],
  ): void {
    const { channel, named, since } = subscription;
    const feed = subscription.feed && this.feeds.open(subscription.feed);
    const { position, missed, failure } = found;
    const answer: Record<string, unknown> = { ok: true, ...named, position };
    if (feed?.conflated) answer.conflated = true;
    if (since) {
      answer.recovered = missed !== undefined;
      answer.reason = failure;
      this.metrics.recovery(channel, failure ?? 'recovered', missed?.length ?? 0);
    }
    reply(client, ack, ServerEvent.Subscribed, answer);
    if (missed) {
      for (const { definition, data, offset, ts } of missed)
        client.emit(definition.event, roomEnvelope(definition, data, offset, position.epoch, ts));
    } else if (currentState) {
      const now = Date.now();
      const { offset, epoch } = position;
      for (const { definition, data } of feed ? feed.replay() : currentState())
        client.emit(definition.event, roomEnvelope(definition, data, offset, epoch, now, true));
    }
    // What the room collected this turn predates this member's position: out it goes first.
    for (const previous of switched) this.settle(previous);
    this.settle(member);
    client.join(member);
    // Left after joining: for no moment does the room lack this listener (its stream would
    // start over).
    for (const previous of switched) client.leave(previous);
  }

  /** Sends what a room (its batched twin, a feed) holds for the members it has now. */
  private settle(member: string): void {
    this.batcher.flush(member);
    this.feeds.settle(member);
  }

  /** Refuses a subscription past the limit; otherwise the subscribe deadline is met. */
  private admitSubscription(client: Socket): void {
    if (!this.guard.hasRoomForSubscription(client)) {
      this.metrics.refusedMessage(RealtimeErrorCode.SubscriptionLimit);
      throw new RealtimeException(
        RealtimeErrorCode.SubscriptionLimit,
        `at most ${this.guard.maxSubscriptions} subscriptions per connection`,
      );
    }
    this.guard.subscribed(client);
  }

  /** Private rooms use only the id the server verified, never one a client sends. */
  private verifiedUserId(client: Socket): string {
    const { userId } = client.data as ConnectionData;
    if (userId === null) {
      throw new RealtimeException(
        RealtimeErrorCode.AuthRequired,
        'private channels need a signed-in connection',
      );
    }
    return userId;
  }
}
