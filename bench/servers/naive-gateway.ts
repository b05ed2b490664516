// Baseline `naive`: a minimal NestJS Socket.IO gateway the way the original services were
// written: JWT checked in handleConnection, one emit per socket per event (each encoded
// again), no batching, no conflation.
import 'reflect-metadata';
import { Body, Controller, HttpCode, Inject, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { JwtModule, JwtService } from '@nestjs/jwt';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
  type OnGatewayConnection,
} from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';

type Subscribers = Map<string, Set<Socket>>;

function add(map: Subscribers, key: string, socket: Socket): void {
  const set = map.get(key) ?? new Set<Socket>();
  set.add(socket);
  map.set(key, set);
  socket.on('disconnect', () => set.delete(socket));
}

@WebSocketGateway({ namespace: '/ws' })
class NaiveGateway implements OnGatewayConnection {
  @WebSocketServer() server!: Namespace;
  readonly bySymbol: Subscribers = new Map();
  readonly byUser: Subscribers = new Map();

  constructor(@Inject(JwtService) private readonly jwt: JwtService) {}

  handleConnection(socket: Socket): void {
    const token = (socket.handshake.auth as { token?: string }).token;
    if (!token) return;
    try {
      socket.data.userId = String(this.jwt.verify<{ sub: string }>(token).sub);
    } catch {
      socket.disconnect(true);
    }
  }

  @SubscribeMessage('subscribe')
  subscribe(@ConnectedSocket() socket: Socket, @MessageBody() body: { symbol: string }) {
    add(this.bySymbol, body.symbol, socket);
    return { ok: true };
  }

  @SubscribeMessage('subscribe.private')
  subscribePrivate(@ConnectedSocket() socket: Socket) {
    if (!socket.data.userId) return { ok: false };
    add(this.byUser, socket.data.userId, socket);
    return { ok: true };
  }
}

@Controller('api')
class PublishController {
  constructor(@Inject(NaiveGateway) private readonly gateway: NaiveGateway) {}

  @Post('publish')
  @HttpCode(202)
  publish(@Body() events: Array<{ event: string; data: { symbol?: string; userId?: string } }>) {
    for (const { event, data } of events) {
      const sockets =
        data.userId === undefined
          ? this.gateway.bySymbol.get(data.symbol!)
          : this.gateway.byUser.get(data.userId);
      for (const socket of sockets ?? []) {
        socket.emit(event, { event, symbol: data.symbol, ts: Date.now(), data });
      }
    }
  }
}

@Module({
  imports: [JwtModule.register({ secret: process.env.JWT_SECRET ?? 'unset' })],
  providers: [NaiveGateway],
  controllers: [PublishController],
})
class NaiveModule {}

const app = await NestFactory.create(NaiveModule, { logger: ['error'], bodyParser: true });
await app.listen(Number(process.env.PORT), '127.0.0.1');
