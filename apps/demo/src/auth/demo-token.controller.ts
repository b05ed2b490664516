import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import {
  DEMO_JWT_SECRET,
  DEMO_TOKEN_TTL_SECONDS,
  DEMO_USERS,
  type DemoUser,
} from './demo-users.js';

/** Demo only: hands out tokens for the simulated users. A real deployment never has this. */
@Controller('demo')
export class DemoTokenController {
  private readonly jwt = new JwtService({ secret: DEMO_JWT_SECRET });

  @Get('token')
  token(@Query('user') user: string | undefined): {
    token: string;
    userId: string;
    expiresAt: number;
  } {
    if (!DEMO_USERS.includes(user as DemoUser)) {
      throw new BadRequestException(`user must be one of ${DEMO_USERS.join(', ')}`);
    }
    const exp = Math.floor(Date.now() / 1000) + DEMO_TOKEN_TTL_SECONDS;
    return {
      token: this.jwt.sign({ sub: user, exp, role: 'demo' }),
      userId: user!,
      expiresAt: exp * 1000,
    };
  }
}
