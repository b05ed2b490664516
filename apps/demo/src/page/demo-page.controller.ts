import { Controller, Get, Header } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** apps/demo/public, found from this file in the source tree (tests) and in dist/ (npm start). */
function publicDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'apps', 'demo', 'public');
    try {
      readFileSync(join(candidate, 'index.html'));
      return candidate;
    } catch {
      dir = dirname(dir);
    }
  }
  throw new Error('apps/demo/public/index.html not found');
}

@Controller()
export class DemoPageController {
  private readonly page = readFileSync(join(publicDir(), 'index.html'), 'utf8');

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  index(): string {
    return this.page;
  }
}
