import { Controller, Get, Header, NotFoundException } from '@nestjs/common';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A repository file found from this one, in the source tree (tests) and in dist/ (npm start). */
function fromRepository(relativePath: string): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, relativePath);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}

function read(relativePath: string): string {
  const path = fromRepository(relativePath);
  if (!path) throw new Error(`${relativePath} not found; run npm run build`);
  return readFileSync(path, 'utf8');
}

/** The demo page: an HTML shell and its bundle (React + the client SDK, built by npm run build). */
@Controller()
export class DemoPageController {
  private readonly page = read('apps/demo/public/index.html');
  private readonly script = read('dist/demo-web/app.js');
  private readonly sourceMap = fromRepository('dist/demo-web/app.js.map');

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  index(): string {
    return this.page;
  }

  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  app(): string {
    return this.script;
  }

  @Get('app.js.map')
  @Header('Content-Type', 'application/json')
  map(): string {
    if (!this.sourceMap) throw new NotFoundException();
    return readFileSync(this.sourceMap, 'utf8');
  }
}
