export * from './asyncapi.controller.js';
