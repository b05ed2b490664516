#!/usr/bin/env node
// Bundles the demo page (React + the client SDK) into dist/demo-web/app.js.
import { build } from 'esbuild';

await build({
  entryPoints: [new URL('../apps/demo/web/main.tsx', import.meta.url).pathname],
  outfile: new URL('../dist/demo-web/app.js', import.meta.url).pathname,
  bundle: true,
  format: 'esm',
  minify: true,
  sourcemap: true,
  target: ['es2022'],
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
