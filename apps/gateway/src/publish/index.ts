export * from './publish-api-options.js';
export * from './publish-api-key.guard.js';
export * from './publish.controller.js';
export * from './publish-api.module.js';
export * from './utf8-json-content-type.js';
