import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Namespace } from 'socket.io';
import { AppWebSocketGateway, subscriptionRoom, userRoom } from '#realtime/internal';
import { DEMO_USERS } from '../auth/demo-users.js';
import { UserActivitySimulator } from './user-activity.simulator.js';

/**
 * A signed-in user's current balance and portfolio the moment they subscribe to
 * `user.balances` or `user.portfolio`: private channels replay nothing, so without this the
 * page would show "-" until the user's next fill. A wallet service would answer the same way.
 *
 * When a connection joins one of those rooms (Socket.IO's adapter announces every join), the
 * simulator publishes the user's state as it is now, as ordinary events: each takes the
 * room's next position and reaches the new subscriber right after its `subscribed` answer,
 * before anything else of that room. The user's other connections get the same values again.
 */
@Injectable()
export class AccountOnSubscribe implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: Namespace | undefined;
  private readonly publishers = new Map<string, () => void>();

  constructor(
    @Inject(AppWebSocketGateway) private readonly gateway: AppWebSocketGateway,
    @Inject(UserActivitySimulator) private readonly users: UserActivitySimulator,
  ) {
    for (const user of DEMO_USERS) {
      this.publishers.set(userRoom(user, 'user.balances'), () => this.users.publishBalance(user));
      this.publishers.set(userRoom(user, 'user.portfolio'), () =>
        this.users.publishPortfolio(user),
      );
    }
  }

  onApplicationBootstrap(): void {
    // The gateway's server exists once the app has bound its gateways (before bootstrap).
    this.server = this.gateway.server;
    this.server?.adapter.on('join-room', this.joined);
  }

  onApplicationShutdown(): void {
    this.server?.adapter.off('join-room', this.joined);
  }

  /** A connection joined `room` (a subscription room, its batched twin, or any other). */
  private readonly joined = (room: string): void => {
    const publish = this.publishers.get(subscriptionRoom(room));
    // Once the join is done; still in this turn of the event loop, before any simulator timer.
    if (publish) setImmediate(publish);
  };
}
