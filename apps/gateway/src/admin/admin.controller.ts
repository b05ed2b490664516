import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  UseGuards,
} from '@nestjs/common';
import {
  AppWebSocketGateway,
  ClusterBus,
  EventIngress,
  RealtimeEvent,
  userConnectionsRoom,
  type InstanceStats,
} from '#realtime/internal';
import { AdminRoleGuard } from './admin-role.guard.js';

const USER_ID = /^[A-Za-z0-9_.@-]{1,128}$/;

/** Operator endpoints, for holders of an admin token. */
@Controller('admin')
@UseGuards(AdminRoleGuard)
export class AdminController {
  constructor(
    @Inject(AppWebSocketGateway) private readonly gateway: AppWebSocketGateway,
    @Inject(ClusterBus) private readonly cluster: ClusterBus,
    @Inject(EventIngress) private readonly ingress: EventIngress,
  ) {}

  /** Connections and subscriptions on this instance and across the cluster. */
  @Get('stats')
  async stats(): Promise<{
    instance: InstanceStats;
    cluster: {
      instances: InstanceStats[];
      connections: number;
      subscriptions: Record<string, number>;
    };
  }> {
    const instance = this.gateway.localStats();
    const instances = [instance, ...(await this.cluster.otherInstances())];
    const subscriptions: Record<string, number> = {};
    for (const each of instances) {
      for (const [channel, count] of Object.entries(each.subscriptions)) {
        subscriptions[channel] = (subscriptions[channel] ?? 0) + count;
      }
    }
    const connections = instances.reduce((sum, each) => sum + each.connections, 0);
    return { instance, cluster: { instances, connections, subscriptions } };
  }

  /** Closes every connection of a user, on every instance. */
  @Post('users/:userId/disconnect')
  @HttpCode(202)
  disconnectUser(@Param('userId') userId: string): { userId: string } {
    if (!USER_ID.test(userId))
      throw new BadRequestException('userId must be 1-128 of A-Z a-z 0-9 _ . @ -');
    this.gateway.server.in(userConnectionsRoom(userId)).disconnectSockets(true);
    return { userId };
  }

  /** Sends `system.alert` to every connection of every instance. */
  @Post('alerts')
  @HttpCode(202)
  alert(@Body() body: unknown): { sent: true } {
    const outcome = this.ingress.accept('admin', { event: RealtimeEvent.SystemAlert, data: body });
    if (!outcome.ok) throw new BadRequestException(outcome.violation.message);
    return { sent: true };
  }
}
