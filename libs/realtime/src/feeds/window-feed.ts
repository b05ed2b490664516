import type { Envelope } from '../broadcast/envelope.js';
import { MAX_BATCH } from '../broadcast/message-batcher.js';
import type { CatalogueEvent } from '../events/catalogue-event.js';
import { ServerEvent } from '../events/protocol-events.js';
import type { ReplayedEvent } from '../market/market-state.service.js';
import type { Feed, FeedOutlet } from './feed.js';

type Payload = Record<string, unknown>;

/**
 * A rate feed of any channel but order books. Conflatable events (tickers, klines) keep
 * their latest per window, one per event and candle (`openTime`), so a candle's last update
 * survives the next candle's start; at the window's end each goes out as itself. Other
 * events (trades) are never dropped: the window's messages go out as one `batch`, in order.
 */
export class WindowFeed implements Feed {
  private pending: Envelope[] = [];
  /** Whether everything pending is conflatable (sent one by one, skippable). */
  private conflatedOnly = true;

  constructor(
    readonly room: string,
    readonly windowMs: number,
    /** Whether its channel has conflatable events (which it leaves out, so offsets skip). */
    readonly conflated: boolean,
    private readonly outlet: FeedOutlet,
    private readonly currentState: () => readonly ReplayedEvent[],
  ) {}

  take(definition: CatalogueEvent, data: Payload, envelope: Envelope): void {
    if (definition.conflatable) this.dropReplaced(envelope.event, data.openTime);
    else this.conflatedOnly = false;
    this.pending.push(envelope);
    if (this.pending.length >= MAX_BATCH) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const envelopes = this.pending;
    this.pending = [];
    if (this.conflatedOnly) {
      for (const envelope of envelopes) this.outlet(this.room, envelope.event, envelope, true);
    } else {
      this.conflatedOnly = true;
      this.outlet(this.room, ServerEvent.Batch, envelopes, false);
    }
  }

  settle(): void {
    // Latest values may reach a new member twice (its replay, then the window's end): the
    // same value. A batch must not: its trades are in the member's replay or history.
    if (!this.conflatedOnly) this.flush();
  }

  replay(): readonly ReplayedEvent[] {
    return this.currentState();
  }

  dispose(): void {
    this.pending = [];
  }

  /** Drops the pending message the new one replaces: same event, same candle. */
  private dropReplaced(event: string, openTime: unknown): void {
    const pending = this.pending;
    for (let i = 0; i < pending.length; i++) {
      const held = pending[i]!;
      if (held.event === event && (held.data as Payload).openTime === openTime) {
        pending.splice(i, 1);
        return;
      }
    }
  }
}
