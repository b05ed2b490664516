import type { EventEmitter2 } from '@nestjs/event-emitter';
import type { CustomEventDefinition, CustomEventPayloads } from './custom-events.js';
import type { RealtimeEventPayloads } from './event-catalogue.js';

/** The payload of every event a host can emit: the built-in ones plus its own. */
export type CataloguePayloads<D extends readonly CustomEventDefinition[] = []> = Omit<
  RealtimeEventPayloads,
  'tickers.update'
> &
  CustomEventPayloads<D>;

/**
 * EventEmitter2 with the catalogue's types: `emit` takes only catalogue events, each with
 * its payload type, so a wrong payload is a compile error. It emits on the same emitter, so
 * events take the one path to clients. The module provides one; type it by your events:
 *
 *     const events = [fundingRate, portfolioUpdate] as const;
 *     constructor(
 *       @Inject(RealtimeEmitter) private readonly realtime: RealtimeEmitter<CataloguePayloads<typeof events>>,
 *     ) {}
 *     this.realtime.emit('funding.rate', { symbol: 'BTCUSDT', rate: '0.0001' });
 */
export class RealtimeEmitter<P extends object = CataloguePayloads> {
  constructor(private readonly emitter: EventEmitter2) {}

  emit<E extends keyof P & string>(event: E, data: P[E]): void {
    this.emitter.emit(event, data);
  }
}
