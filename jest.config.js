/** Jest in native ESM mode (Nest 12 is ESM-only); @swc/jest strips types and keeps decorator metadata. */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^#realtime$': '<rootDir>/libs/realtime/src/index.ts',
    '^#realtime/internal$': '<rootDir>/libs/realtime/src/internal.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  testTimeout: 30000,
  // Stops the Kafka broker the tests share (test/support/kafka.ts), once, after every file.
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  maxWorkers: 2,
};
