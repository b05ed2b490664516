import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ReadinessChecks, type ReadinessStatus } from './readiness-check.js';

@Controller('health')
export class HealthController {
  constructor(@Inject(ReadinessChecks) private readonly checks: ReadinessChecks) {}

  /** Liveness: the process serves HTTP. */
  @Get()
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: every dependency is usable; 503 with each part's state otherwise. */
  @Get('ready')
  ready(@Res({ passthrough: true }) response: Response): {
    status: string;
    checks: Record<string, ReadinessStatus>;
  } {
    const checks = Object.fromEntries(this.checks.map((check) => [check.name, check.readiness()]));
    const ready = Object.values(checks).every((status) => status.ready);
    response.status(ready ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return { status: ready ? 'ready' : 'not ready', checks };
  }
}
