import type { ValidationContext } from '../events/payload-schema.js';
import { SymbolRule } from '../market/symbol-rule.js';
import type { RealtimeModuleOptions } from '../realtime.module-definition.js';

/** The module's options with defaults applied and checked once, at start-up. */
export class RealtimeSettings implements ValidationContext {
  readonly namespace: string;
  readonly corsOrigins: readonly string[] | '*';
  readonly symbols: SymbolRule;

  constructor(options: RealtimeModuleOptions = {}) {
    this.namespace = options.namespace ?? '/ws';
    if (!/^\/[A-Za-z0-9/_.-]*$/.test(this.namespace)) {
      throw new Error(`RealtimeModule: namespace must start with "/", got "${this.namespace}"`);
    }
    const origins = options.corsOrigins ?? '*';
    if (origins !== '*') {
      for (const origin of origins) {
        if (origin !== new URL(origin).origin) {
          throw new Error(`RealtimeModule: CORS origin "${origin}" must be scheme://host[:port]`);
        }
      }
    }
    this.corsOrigins = origins === '*' || origins.includes('*') ? '*' : [...origins];
    this.symbols = new SymbolRule(options.symbolPattern, options.symbols);
  }
}
