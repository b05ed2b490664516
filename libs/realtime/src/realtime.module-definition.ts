import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { RealtimeAuthOptions } from './auth/realtime-auth-options.js';
import type { CustomEventDefinition } from './events/custom-events.js';
import type { RealtimeLimitsOptions } from './limits/realtime-limits-options.js';
import type { RealtimeRecoveryOptions } from './recovery/recovery-options.js';
import type { RealtimeRequestsOptions } from './requests/realtime-requests-options.js';
import type { DeadManSwitchOptions } from './session/dead-man-switch-options.js';

export interface RealtimeModuleOptions {
  /** Socket.IO namespace the gateway serves. Default `/ws`. */
  namespace?: string;
  /**
   * Path of the plain-WebSocket JSON endpoint for bots and other clients that do not speak
   * Socket.IO (docs/PROTOCOL.md), on the same HTTP server. Default `/ws/json`; `false` serves none.
   */
  jsonPath?: string | false;
  /**
   * Origins allowed to open a connection from a browser (exact `scheme://host[:port]`).
   * Unset or `'*'`: any origin. Requests without an `Origin` header (servers, bots, mobile
   * apps) are always allowed; a browser always sends one.
   */
  corsOrigins?: readonly string[] | '*';
  /**
   * Format every symbol must match; symbols sent by clients are upper-cased before the
   * check. Default `/^[A-Z0-9][A-Z0-9._/-]{0,31}$/`. A symbol can never contain `:`.
   */
  symbolPattern?: RegExp;
  /** When set and not empty, the only symbols clients may subscribe to and events may carry. */
  symbols?: readonly string[];
  /**
   * JWT verification for private channels. Without a key the gateway serves public
   * channels only and refuses every token (`AUTH_INVALID`).
   */
  auth?: RealtimeAuthOptions;
  /** Levels kept per side of each order book; worse ones are dropped. Default 1000. */
  orderBookDepth?: number;
  /** Trades a new `trades` subscriber gets first. Default 20. */
  recentTrades?: number;
  /**
   * Ticker conflation window in milliseconds: at most one `ticker.update` per symbol per
   * window, and the latest always at the window's end. 0 (default) sends every ticker.
   */
  tickerConflationMs?: number;
  /** How often `ticker:all` subscribers get `tickers.update` when a ticker changed. Default 1000. */
  allTickersIntervalMs?: number;
  /** This instance's name in operator counts and logs. Default `{hostname}-{pid}`. */
  instanceId?: string;
  /**
   * Stream positions and history, so a client that reconnects (to any instance) gets what it
   * missed: see RealtimeRecoveryOptions for each default.
   */
  recovery?: RealtimeRecoveryOptions;
  /** Limits against hostile and broken clients (see RealtimeLimitsOptions for each default). */
  limits?: RealtimeLimitsOptions;
  /**
   * Cancel-on-disconnect: tell the backend when an armed user's last connection closed,
   * once across the cluster (see DeadManSwitchOptions). Off when unset.
   */
  deadManSwitch?: DeadManSwitchOptions;
  /**
   * Client requests relayed to the backend (the `request` command): the methods, made with
   * `requestMethod`, and what their backends need (see RealtimeRequestsOptions). None when unset.
   */
  requests?: RealtimeRequestsOptions;
  /**
   * Events of your own beside the built-in ones, made with `symbolEvent`, `symbolKeyEvent`,
   * `userEvent` or `broadcastEvent`. A name that clashes stops start-up with one line.
   */
  events?: readonly CustomEventDefinition[];
}

export const {
  ConfigurableModuleClass: RealtimeConfigurableModule,
  MODULE_OPTIONS_TOKEN: REALTIME_MODULE_OPTIONS,
  OPTIONS_TYPE: REALTIME_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: REALTIME_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<RealtimeModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
