// Baseline `naive`: a minimal NestJS Socket.IO gateway the way the original services were
// written: one emit per socket per event (each encoded again), no batching, no conflation.
import 'reflect-metadata';
import { Body, Controller, HttpCode, Inject, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
} from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';

@WebSocketGateway({ namespace: '/ws' })
class NaiveGateway {
  @WebSocketServer() server!: Namespace;
  readonly bySymbol = new Map<string, Set<Socket>>();

  @SubscribeMessage('subscribe')
  subscribe(@ConnectedSocket() socket: Socket, @MessageBody() body: { symbol: string }) {
    const set = this.bySymbol.get(body.symbol) ?? new Set<Socket>();
    set.add(socket);
    this.bySymbol.set(body.symbol, set);
    socket.on('disconnect', () => set.delete(socket));
    return { ok: true };
  }
}

@Controller('api')
class PublishController {
  constructor(@Inject(NaiveGateway) private readonly gateway: NaiveGateway) {}

  @Post('publish')
  @HttpCode(202)
  publish(@Body() events: Array<{ event: string; data: { symbol: string } }>) {
    for (const { event, data } of events) {
      for (const socket of this.gateway.bySymbol.get(data.symbol) ?? []) {
        socket.emit(event, { channel: 'trades', event, symbol: data.symbol, ts: Date.now(), data });
      }
    }
  }
}

@Module({ providers: [NaiveGateway], controllers: [PublishController] })
class NaiveModule {}

const app = await NestFactory.create(NaiveModule, { logger: ['error'], bodyParser: true });
await app.listen(Number(process.env.PORT), '127.0.0.1');
console.log('naive listening');
