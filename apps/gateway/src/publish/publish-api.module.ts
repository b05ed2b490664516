import { Module, type DynamicModule } from '@nestjs/common';
import { PublishApiKeyGuard } from './publish-api-key.guard.js';
import { PublishApiOptions } from './publish-api-options.js';
import { PublishController } from './publish.controller.js';

/** The HTTP publish API; imported only when a key is configured. */
@Module({})
export class PublishApiModule {
  static forRoot(options: PublishApiOptions): DynamicModule {
    return {
      module: PublishApiModule,
      controllers: [PublishController],
      providers: [{ provide: PublishApiOptions, useValue: options }, PublishApiKeyGuard],
    };
  }
}
