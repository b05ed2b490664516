import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ReadinessRegistry, type ReadinessStatus } from '#realtime';

@Controller('health')
export class HealthController {
  constructor(@Inject(ReadinessRegistry) private readonly readiness: ReadinessRegistry) {}

  /** Liveness: the process serves HTTP. */
  @Get()
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: every dependency is usable and the instance is not draining; 503 otherwise. */
  @Get('ready')
  ready(@Res({ passthrough: true }) response: Response): {
    status: string;
    checks: Record<string, ReadinessStatus>;
  } {
    const { ready, checks } = this.readiness.report();
    response.status(ready ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return { status: ready ? 'ready' : 'not ready', checks };
  }
}
