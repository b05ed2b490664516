import { sameFeed } from '../market-feed.js';
import { subscriptionKey, type Subscription } from '../realtime-client.js';

/** What `SharedSubscriptions` needs of a client (a `RealtimeClient` is one). */
export interface Subscriber {
  subscribe(subscription: Subscription): Promise<unknown>;
  unsubscribe(subscription: Subscription): Promise<unknown>;
}

/** One room's holders, oldest first, and what was last asked of the gateway for it. */
interface HeldRoom {
  readonly holders: Subscription[];
  sent?: Subscription;
}

/** Whether `b` asks for nothing `a` does not (same room assumed): the same feed. */
function sameSubscription(a: Subscription, b: Subscription): boolean {
  if (!('symbol' in a) || !('symbol' in b)) return true;
  return sameFeed(a, b);
}

/**
 * The subscriptions the hooks hold for their components, one per room (channel, symbol, key):
 * components that hold one room share its subscription. The newest holder's feed (`rate`,
 * `depth`) is the one subscribed; when it lets go, the room switches to the newest left, and
 * it ends when the last lets go. Letting go takes effect a microtask later, so a component
 * whose feed changed (React releases the old subscription, then holds the new, in one commit)
 * switches the feed instead of unsubscribing and subscribing again.
 */
export class SharedSubscriptions {
  private readonly rooms = new Map<string, HeldRoom>();

  constructor(private readonly client: Subscriber) {}

  /** Holds `subscription` until the returned function is called (once is enough). */
  hold(subscription: Subscription): () => void {
    const key = subscriptionKey(subscription);
    let room = this.rooms.get(key);
    if (!room) this.rooms.set(key, (room = { holders: [] }));
    const held = room;
    held.holders.push(subscription);
    this.settle(key, held);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      held.holders.splice(held.holders.lastIndexOf(subscription), 1);
      queueMicrotask(() => this.settle(key, held));
    };
  }

  /** How many holders `subscription`'s room has. */
  holders(subscription: Subscription): number {
    return this.rooms.get(subscriptionKey(subscription))?.holders.length ?? 0;
  }

  /** Asks the gateway for what the room's newest holder wants, or ends it with none left. */
  private settle(key: string, room: HeldRoom): void {
    if (this.rooms.get(key) !== room) return;
    const newest = room.holders.at(-1);
    if (!newest) {
      this.rooms.delete(key);
      if (room.sent) void this.client.unsubscribe(room.sent).catch(() => undefined);
      return;
    }
    if (room.sent && sameSubscription(room.sent, newest)) return;
    room.sent = newest;
    void this.client.subscribe(newest).catch(() => undefined);
  }
}
