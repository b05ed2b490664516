import type { MetricsOptions as GatewayMetricsOptions } from '../config/gateway-config.js';

/** Who may scrape `GET /metrics` (`METRICS_TOKEN`). */
export type MetricsOptions = GatewayMetricsOptions;

/** Injection token of the MetricsOptions. */
export const MetricsOptions = Symbol('MetricsOptions');
