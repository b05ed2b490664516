export * from './ingress-message.js';
export * from './event-ingress.service.js';
