import type { RoutingKey } from './custom-events.js';
import type { Routing } from './event-catalogue.js';
import type { PayloadSchema } from './payload-schema.js';

/** What delivery, ingress and docs read of any catalogue entry, built-in or added. */
export interface CatalogueEvent {
  readonly event: string;
  readonly channel: string;
  readonly routing: Routing;
  /** For `symbolKey` routing: the payload field that is the room's second part. */
  readonly key?: RoutingKey;
  readonly schema: PayloadSchema;
  /** Built by the gateway from other events; never accepted from an ingress. */
  readonly builtByGateway?: boolean;
  /** Each one supersedes the last (latest value wins): skipped first for slow consumers. */
  readonly conflatable?: boolean;
  /** A new subscriber gets the room's last event first. */
  readonly replayLast?: boolean;
  /** A check across fields, run once the schema passed: why the payload is wrong, or null. */
  readonly refine?: (payload: Readonly<Record<string, unknown>>) => string | null;
  /** One line for the generated docs. */
  readonly description?: string;
}
