/*
 * Everything of the module, for the standalone gateway, the demo and the tests of this
 * repository (`#realtime/internal`). Host apps use the package's entry point (index.ts).
 */
export * from './realtime.module.js';
export * from './realtime.module-definition.js';
export * from './config/index.js';
export * from './auth/index.js';
export * from './events/index.js';
export * from './errors/index.js';
export * from './market/index.js';
export * from './metrics/index.js';
export * from './gateway/index.js';
export * from './json-endpoint/index.js';
export * from './broadcast/index.js';
export * from './ingress/index.js';
export * from './cluster/index.js';
export * from './lifecycle/index.js';
export * from './limits/index.js';
export * from './docs/index.js';
export * from './recovery/index.js';
export * from './session/index.js';
export * from './requests/index.js';
export * from './feeds/index.js';
