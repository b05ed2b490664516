import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  FIELD_TYPES,
  RealtimeCatalogue,
  RealtimeOptionsError,
  broadcastEvent,
  describeValue,
  optional,
  requestMethod,
  required,
  resolveRequests,
  symbolEvent,
  symbolKeyEvent,
  userEvent,
  type CustomEventDefinition,
  type FieldRule,
  type FieldType,
  type RequestMethodDefinition,
} from '#realtime/internal';

/** An operator's catalogue file is trusted less than code: bounded in size and count. */
const MAX_FILE_BYTES = 1024 * 1024;
const MAX_EVENTS = 500;
const MAX_FIELDS = 100;
const MAX_METHODS = 500;
const MAX_DESCRIPTION_LENGTH = 1000;
const MAX_URL_LENGTH = 2048;
const ENTRY_KEYS = new Set([
  'event',
  'routing',
  'channel',
  'key',
  'values',
  'conflatable',
  'replayLast',
  'description',
  'fields',
]);

const METHOD_KEYS = new Set([
  'method',
  'params',
  'user',
  'rate',
  'timeoutMs',
  'http',
  'kafka',
  'description',
]);

/** What a catalogue file declares: events, and request methods clients may call. */
export interface CatalogueFile {
  readonly events: CustomEventDefinition[];
  readonly methods: RequestMethodDefinition[];
}

/** A problem in the file; the message names the file, the entry and the field. */
export class CatalogueFileError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'CatalogueFileError';
  }
}

/**
 * Reads an operator's own events from a JSON or YAML file:
 *
 *     events:
 *       - event: funding.rate
 *         routing: symbol          # symbol | symbolKey | user | everyone
 *         channel: funding
 *         replayLast: true
 *         fields:
 *           rate: { type: decimal, required: true }
 *           nextFundingTime: integer   # a type alone: optional
 *     methods:
 *       - method: order.place
 *         params:
 *           symbol: { type: symbol, required: true }
 *           quantity: { type: decimal, required: true }
 *         user: required          # required (default) | optional
 *         rate: { perSecond: 5, burst: 10 }
 *         timeoutMs: 5000
 *         http: { url: https://orders.internal/rpc }   # or kafka: { topic: orders.requests }
 *
 * Either list may be left out, not both. The definitions are made with the same helpers a
 * host uses in code (`symbolEvent`, `requestMethod`, ...) and checked here, so a bad file
 * stops start-up with one line.
 */
export function loadCatalogueFile(file: string): CatalogueFile {
  let text: string;
  try {
    const buffer = readFileSync(file);
    if (buffer.length > MAX_FILE_BYTES)
      throw new CatalogueFileError(file, `is larger than ${MAX_FILE_BYTES} bytes`);
    text = buffer.toString('utf8');
  } catch (error) {
    if (error instanceof CatalogueFileError) throw error;
    throw new CatalogueFileError(
      file,
      `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  let document: unknown;
  try {
    document = /\.ya?ml$/i.test(extname(file))
      ? parseYaml(text, { maxAliasCount: 100 })
      : JSON.parse(text);
  } catch (error) {
    throw new CatalogueFileError(
      file,
      `is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  const fail = (problem: string): never => {
    throw new CatalogueFileError(file, problem);
  };
  if (!isObject(document) || (document.events === undefined && document.methods === undefined))
    fail('must hold an object with an "events" list, a "methods" list or both');
  const { events: eventEntries = [], methods: methodEntries = [] } = document as {
    events?: unknown;
    methods?: unknown;
  };
  if (!Array.isArray(eventEntries))
    fail(`"events" must be a list, got ${describeValue(eventEntries)}`);
  if (!Array.isArray(methodEntries))
    fail(`"methods" must be a list, got ${describeValue(methodEntries)}`);
  const entries = eventEntries as unknown[];
  if (entries.length > MAX_EVENTS) fail(`holds more than ${MAX_EVENTS} events`);
  const definitions = entries.map((entry, index) => definitionOf(entry, `events[${index}]`, fail));
  try {
    new RealtimeCatalogue(definitions, 'events');
  } catch (error) {
    if (!(error instanceof RealtimeOptionsError)) throw error;
    fail(`${error.option} ${error.problem}`);
  }
  return { events: definitions, methods: methodsOf(methodEntries as unknown[], fail) };
}

/** The `methods:` section, checked by the same rules as `requests.methods` in code. */
function methodsOf(
  entries: unknown[],
  fail: (problem: string) => never,
): RequestMethodDefinition[] {
  if (entries.length > MAX_METHODS) fail(`holds more than ${MAX_METHODS} methods`);
  const methods = entries.map((entry, index) => methodOf(entry, `methods[${index}]`, fail));
  try {
    // The secret and Kafka come from the environment: checked there, once the methods are.
    resolveRequests({ methods });
  } catch (error) {
    if (!(error instanceof RealtimeOptionsError)) throw error;
    const at = /^requests\.methods\[(\d+)\](.*)$/.exec(error.option);
    if (at) {
      const [, index, field] = at;
      const method = (entries[Number(index)] as { method?: unknown }).method;
      fail(
        `methods[${index}]${typeof method === 'string' ? ` (${method})` : ''}${field!.replace(/^\.backend\./, '.')} ${error.problem}`,
      );
    }
  }
  return methods;
}

function methodOf(
  entry: unknown,
  at: string,
  fail: (problem: string) => never,
): RequestMethodDefinition {
  if (!isObject(entry)) return fail(`${at} must be an object, got ${describeValue(entry)}`);
  for (const key of Object.keys(entry))
    if (!METHOD_KEYS.has(key))
      fail(
        key === 'provider'
          ? `${at}.provider: a provider backend is a class of a host app, and the standalone gateway has none; use http: { url } or kafka: { topic }`
          : `${at} has unknown field ${describeValue(key)}; allowed: ${[...METHOD_KEYS].join(', ')}`,
      );
  const method = entry.method;
  if (typeof method !== 'string')
    fail(`${at}.method must be a string, got ${describeValue(method)}`);
  const label = `${at} (${method as string})`;
  const params = fieldsOf(entry.params, `${label}.params`, fail);
  const user = entry.user;
  if (user !== undefined && user !== 'required' && user !== 'optional')
    fail(`${label}.user must be required or optional, got ${describeValue(user)}`);
  const rate = entry.rate;
  if (rate !== undefined) {
    if (!isObject(rate) || Object.keys(rate).some((k) => k !== 'perSecond' && k !== 'burst'))
      fail(`${label}.rate must be { perSecond, burst }, got ${describeValue(rate)}`);
    const { perSecond, burst } = rate as Record<string, unknown>;
    if (typeof perSecond !== 'number')
      fail(`${label}.rate.perSecond must be a number, got ${describeValue(perSecond)}`);
    if (burst !== undefined && typeof burst !== 'number')
      fail(`${label}.rate.burst must be a number, got ${describeValue(burst)}`);
  }
  const timeoutMs = entry.timeoutMs;
  if (timeoutMs !== undefined && typeof timeoutMs !== 'number')
    fail(`${label}.timeoutMs must be a number, got ${describeValue(timeoutMs)}`);
  const description = entry.description;
  if (description !== undefined) {
    if (typeof description !== 'string')
      fail(`${label}.description must be a string, got ${describeValue(description)}`);
    if ((description as string).length > MAX_DESCRIPTION_LENGTH)
      fail(`${label}.description is longer than ${MAX_DESCRIPTION_LENGTH} characters`);
  }
  const { http, kafka } = entry;
  if ((http === undefined) === (kafka === undefined))
    fail(
      `${label} must have exactly one of http: { url } or kafka: { topic } (a provider backend needs a host app; the standalone gateway has none)`,
    );
  const backendOf = (kind: 'http' | 'kafka', field: 'url' | 'topic') => {
    const given = entry[kind];
    if (!isObject(given) || Object.keys(given).some((k) => k !== field))
      fail(`${label}.${kind} must be { ${field} }, got ${describeValue(given)}`);
    const value = (given as Record<string, unknown>)[field];
    if (typeof value !== 'string')
      fail(`${label}.${kind}.${field} must be a string, got ${describeValue(value)}`);
    if ((value as string).length > MAX_URL_LENGTH)
      fail(`${label}.${kind}.${field} is longer than ${MAX_URL_LENGTH} characters`);
    return value as string;
  };
  return requestMethod({
    method: method as string,
    params,
    user: user as 'required' | 'optional' | undefined,
    rate: rate as { perSecond: number; burst?: number } | undefined,
    timeoutMs: timeoutMs as number | undefined,
    backend:
      http !== undefined
        ? { http: { url: backendOf('http', 'url') } }
        : { kafka: { topic: backendOf('kafka', 'topic') } },
    description: description as string | undefined,
  });
}

function definitionOf(
  entry: unknown,
  at: string,
  fail: (problem: string) => never,
): CustomEventDefinition {
  if (!isObject(entry)) return fail(`${at} must be an object, got ${describeValue(entry)}`);
  for (const key of Object.keys(entry))
    if (!ENTRY_KEYS.has(key))
      fail(`${at} has unknown field ${describeValue(key)}; allowed: ${[...ENTRY_KEYS].join(', ')}`);
  const name = (field: string): string => {
    const value = entry[field];
    if (typeof value !== 'string')
      fail(`${at}.${field} must be a string, got ${describeValue(value)}`);
    return value as string;
  };
  const flag = (field: string): boolean | undefined => {
    const value = entry[field];
    if (value !== undefined && typeof value !== 'boolean')
      fail(`${at}.${field} must be true or false, got ${describeValue(value)}`);
    return value as boolean | undefined;
  };
  const event = name('event');
  const label = `${at} (${event})`;
  const schema = fieldsOf(entry.fields, `${label}.fields`, fail);
  const description = entry.description === undefined ? undefined : name('description');
  const routing = name('routing');
  const market = {
    channel: '',
    schema,
    conflatable: flag('conflatable'),
    replayLast: flag('replayLast'),
    description,
  };
  if (routing !== 'symbolKey' && (entry.key !== undefined || entry.values !== undefined))
    fail(`${label}.key applies only to routing symbolKey`);
  switch (routing) {
    case 'symbol':
      return symbolEvent(event, { ...market, channel: name('channel') });
    case 'symbolKey': {
      const values = entry.values;
      if (
        values !== undefined &&
        (!Array.isArray(values) || !values.every((v) => typeof v === 'string'))
      )
        fail(`${label}.values must be a list of strings`);
      return symbolKeyEvent(event, {
        ...market,
        channel: name('channel'),
        key: name('key'),
        values: values as string[] | undefined,
      });
    }
    case 'user':
      if (entry.conflatable !== undefined || entry.replayLast !== undefined)
        fail(`${label}: conflatable and replayLast apply to public events only`);
      return userEvent(event, {
        channel: name('channel') as `user.${string}`,
        schema,
        description,
      });
    case 'everyone':
      if (entry.channel !== undefined) fail(`${label}.channel is not set for routing everyone`);
      return broadcastEvent(event, { schema, description });
    default:
      return fail(
        `${label}.routing must be one of symbol, symbolKey, user, everyone, got ${describeValue(routing)}`,
      );
  }
}

function fieldsOf(
  fields: unknown,
  at: string,
  fail: (problem: string) => never,
): Record<string, FieldRule> {
  if (fields === undefined) return {};
  if (!isObject(fields))
    return fail(`${at} must be an object of field: type, got ${describeValue(fields)}`);
  const names = Object.keys(fields);
  if (names.length > MAX_FIELDS) fail(`${at} names more than ${MAX_FIELDS} fields`);
  const schema: Record<string, FieldRule> = {};
  for (const field of names) {
    const rule = fields[field];
    const spec = typeof rule === 'string' ? { type: rule } : rule;
    if (!isObject(spec) || Object.keys(spec).some((k) => k !== 'type' && k !== 'required'))
      fail(`${at}.${field} must be a type name or { type, required }, got ${describeValue(rule)}`);
    const { type, required: isRequired = false } = spec as { type: unknown; required?: unknown };
    if (typeof type !== 'string' || !(FIELD_TYPES as readonly string[]).includes(type))
      fail(
        `${at}.${field}.type must be one of ${FIELD_TYPES.join(', ')}, got ${describeValue(type)}`,
      );
    if (typeof isRequired !== 'boolean')
      fail(`${at}.${field}.required must be true or false, got ${describeValue(isRequired)}`);
    schema[field] = isRequired ? required(type as FieldType) : optional(type as FieldType);
  }
  return schema;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
