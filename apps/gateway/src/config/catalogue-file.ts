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
  required,
  symbolEvent,
  symbolKeyEvent,
  userEvent,
  type CustomEventDefinition,
  type FieldRule,
  type FieldType,
} from '#realtime/internal';

/** An operator's catalogue file is trusted less than code: bounded in size and count. */
const MAX_FILE_BYTES = 1024 * 1024;
const MAX_EVENTS = 500;
const MAX_FIELDS = 100;
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
 *
 * The definitions are made with the same helpers a host uses in code and checked against
 * the built-in catalogue here, so a bad file stops start-up with one line.
 */
export function loadCatalogueFile(file: string): CustomEventDefinition[] {
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
  if (!isObject(document) || !Array.isArray(document.events))
    fail('must hold an object with an "events" list');
  const entries = (document as { events: unknown[] }).events;
  if (entries.length > MAX_EVENTS) fail(`holds more than ${MAX_EVENTS} events`);
  const definitions = entries.map((entry, index) => definitionOf(entry, `events[${index}]`, fail));
  try {
    new RealtimeCatalogue(definitions, 'events');
  } catch (error) {
    if (!(error instanceof RealtimeOptionsError)) throw error;
    fail(`${error.option} ${error.problem}`);
  }
  return definitions;
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
