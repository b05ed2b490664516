export * from './admin-options.js';
export * from './admin-role.guard.js';
export * from './admin.controller.js';
export * from './admin.module.js';
