import { Controller, Get, Inject, Req } from '@nestjs/common';
import type { Request } from 'express';
import {
  RealtimeCatalogue,
  RealtimeSettings,
  asyncApiDocument,
  asyncApiServer,
  type AsyncApiDocument,
} from '#realtime/internal';

/** A host name, IPv4 address or bracketed IPv6 address, with an optional port. */
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;
const MAX_HOST = 261;

@Controller()
export class AsyncApiController {
  /** The catalogue is fixed once the gateway started: the document is built once. */
  private readonly document: AsyncApiDocument;

  constructor(
    @Inject(RealtimeCatalogue) catalogue: RealtimeCatalogue,
    @Inject(RealtimeSettings) private readonly settings: RealtimeSettings,
  ) {
    this.document = asyncApiDocument(catalogue, { namespace: settings.namespace });
  }

  /**
   * The AsyncAPI 3.0 document of this gateway's merged catalogue. Its server is where the
   * request came to (behind a trusted proxy: where the proxy says), when that is a well-formed
   * host; otherwise the document names no server.
   */
  @Get('asyncapi.json')
  asyncApi(@Req() request: Request): AsyncApiDocument {
    const serverUrl = this.serverUrl(request);
    if (serverUrl === undefined) return this.document;
    const { asyncapi, info, ...rest } = this.document;
    const servers = { gateway: asyncApiServer(serverUrl, this.settings.namespace) };
    return { asyncapi, info, servers, ...rest };
  }

  private serverUrl(request: Request): string | undefined {
    const proxied = this.settings.limits.trustProxy;
    const host =
      (proxied && firstForwarded(request.headers['x-forwarded-host'])) || request.headers.host;
    if (!host || host.length > MAX_HOST || !HOST.test(host)) return undefined;
    const secure = proxied
      ? firstForwarded(request.headers['x-forwarded-proto'])?.toLowerCase() === 'https'
      : request.secure;
    const url = `${secure ? 'https' : 'http'}://${host}`;
    return URL.canParse(url) ? url : undefined;
  }
}

/** The first entry of a forwarded header: the one the outermost trusted proxy wrote. */
function firstForwarded(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(',')[0]?.trim() || undefined;
}
