import { OnEvent } from '@nestjs/event-emitter';
import type { EventDefinition } from '../events/event-catalogue.js';

export interface CatalogueEventHandler {
  handleCatalogueEvent(definition: EventDefinition, payload: unknown): void;
}

/**
 * Gives the class one `@OnEvent` listener per catalogue event, each bound to its definition,
 * so a new catalogue entry is delivered without touching the listener and no lookup by name
 * happens per event.
 */
export function OnCatalogueEvents(definitions: Iterable<EventDefinition>): ClassDecorator {
  return (target) => {
    for (const definition of definitions) {
      if (definition.builtByGateway) continue;
      const descriptor: PropertyDescriptor = {
        value(this: CatalogueEventHandler, payload: unknown): void {
          this.handleCatalogueEvent(definition, payload);
        },
        configurable: true,
        writable: true,
      };
      const key = `on ${definition.event}`;
      Object.defineProperty(target.prototype, key, descriptor);
      OnEvent(definition.event)(target.prototype, key, descriptor);
    }
  };
}
