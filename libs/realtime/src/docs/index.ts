export * from './payload-json-schema.js';
export * from './asyncapi-document.js';
