export * from './json-connection.js';
export * from './json-endpoint.service.js';
export * from './json-frames.js';
