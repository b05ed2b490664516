import {
  BadRequestException,
  Body,
  Controller,
  Headers,
  HttpCode,
  Inject,
  Post,
  UnsupportedMediaTypeException,
  UseGuards,
} from '@nestjs/common';
import { EventIngress } from '#realtime';
import { PublishApiKeyGuard } from './publish-api-key.guard.js';
import { PublishApiOptions } from './publish-api-options.js';
import { nonUtf8JsonReason } from './utf8-json-content-type.js';

/** `POST /api/publish`: one `{ event, data }` or an array of them, published in order. */
@Controller('api')
@UseGuards(PublishApiKeyGuard)
export class PublishController {
  constructor(
    @Inject(EventIngress) private readonly ingress: EventIngress,
    @Inject(PublishApiOptions) private readonly options: PublishApiOptions,
  ) {}

  @Post('publish')
  @HttpCode(202)
  publish(
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
  ): { accepted: number } {
    const unsupported = nonUtf8JsonReason(contentType);
    if (unsupported !== undefined) throw new UnsupportedMediaTypeException(unsupported);
    if (body === undefined) {
      throw new BadRequestException(
        'the body must be JSON (Content-Type: application/json): { "event": ..., "data": ... } or an array of them',
      );
    }
    const messages = Array.isArray(body) ? body : [body];
    if (messages.length === 0) throw new BadRequestException('the array is empty');
    if (messages.length > this.options.maxBatch) {
      throw new BadRequestException(
        `at most ${this.options.maxBatch} events per request, got ${messages.length}`,
      );
    }
    const refused = this.ingress.acceptBatch('http', messages);
    if (refused.length > 0) {
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: `${refused.length} of ${messages.length} events refused; none was published`,
        refused: refused.map(({ index, violation }) => ({
          index,
          code: violation.code,
          field: violation.field,
          message: violation.message,
        })),
      });
    }
    return { accepted: messages.length };
  }
}
