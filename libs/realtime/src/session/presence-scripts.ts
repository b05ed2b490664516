/** The commands presence needs of a `redis` client (the module's publisher). */
export interface PresenceRedisClient {
  readonly isReady: boolean;
  sendCommand(args: string[]): Promise<unknown>;
}

/**
 * A Lua script run by its digest, loaded again when Redis does not know it (a Redis that
 * restarted). Each script is one atomic step: two instances can never both see a user's
 * last connection go, nor both claim one notice.
 */
export class RedisScript {
  private sha: string | undefined;

  constructor(private readonly body: string) {}

  async run(client: PresenceRedisClient, keys: string[], args: string[]): Promise<unknown> {
    const call = (sha: string) =>
      client.sendCommand(['EVALSHA', sha, String(keys.length), ...keys, ...args]);
    if (this.sha !== undefined) {
      try {
        return await call(this.sha);
      } catch (error) {
        if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      }
    }
    this.sha = String(await client.sendCommand(['SCRIPT', 'LOAD', this.body]));
    return call(this.sha);
  }
}

/**
 * Where presence lives in Redis. Every key shares one hash tag, so the scripts also run on a
 * Redis Cluster. A connection's field value is its armed flag (`1`/`0`) followed by the
 * presence id of the instance holding it.
 */
export class PresenceKeys {
  constructor(readonly prefix: string) {}

  /** Hash of a user's open connections: connection id → flag + presence id. */
  user(userId: string): string {
    return `${this.prefix}user:${userId}`;
  }

  /** The users with a connection on one instance (what a sweep walks when it died). */
  on(presenceId: string): string {
    return `${this.prefix}on:${presenceId}`;
  }

  /** An instance's heartbeat; it expires when the instance stops refreshing it. */
  alive(presenceId: string): string {
    return `${this.prefix}alive:${presenceId}`;
  }

  /** Every instance that registered and was not swept yet. */
  get instances(): string {
    return `${this.prefix}instances`;
  }

  /** Users whose switch fires at the score (ms since the epoch) unless they come back. */
  get pending(): string {
    return `${this.prefix}pending`;
  }

  /** The notice of each pending user, as JSON without the user id. */
  get notices(): string {
    return `${this.prefix}notices`;
  }

  /** Made once per Redis data set: another value means Redis lost what it held. */
  get epoch(): string {
    return `${this.prefix}epoch`;
  }
}

/*
 * A connection opened (or is registered again). `cancel`: the user is back, so a pending
 * notice (a last close within its grace) is dropped.
 * KEYS: user, on(mine), pending, notices. ARGV: connection id, value, user id, cancel.
 */
export const CONNECT = new RedisScript(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
if ARGV[4] == '1' and redis.call('ZREM', KEYS[3], ARGV[3]) == 1 then
  redis.call('HDEL', KEYS[4], ARGV[3])
  return 'cancelled'
end
return 'ok'`);

/*
 * A connection closed. Only the call that removes a user's last field sees the user go,
 * and it schedules the notice when that field was armed. 'stale' when this instance's
 * registration is not the one Redis holds (Redis lost its data, or the instance was swept):
 * nothing is touched, the instance registers again first.
 * KEYS: user, on(mine), pending, notices, alive(mine), epoch.
 * ARGV: connection id, presence id, user id, due, notice, epoch known.
 */
export const DISCONNECT = new RedisScript(`
if redis.call('GET', KEYS[6]) ~= ARGV[6] or redis.call('EXISTS', KEYS[5]) == 0 then
  return 'stale'
end
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then return 'missing' end
redis.call('HDEL', KEYS[1], ARGV[1])
local left = redis.call('HVALS', KEYS[1])
local mine = false
for _, other in ipairs(left) do
  if string.sub(other, 2) == ARGV[2] then
    mine = true
    break
  end
end
if not mine then redis.call('SREM', KEYS[2], ARGV[3]) end
if #left > 0 then return 'kept' end
if string.sub(value, 1, 1) ~= '1' then return 'last' end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
redis.call('HSET', KEYS[4], ARGV[3], ARGV[5])
return 'armed'`);

/*
 * This instance is alive for another `ttl` ms. Returns whether its heartbeat was still
 * there (not: it was swept, or Redis lost its data) and the data set's epoch.
 * KEYS: alive(mine), instances, epoch. ARGV: presence id, ttl, epoch to create.
 */
export const HEARTBEAT = new RedisScript(`
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[3]
  redis.call('SET', KEYS[3], epoch)
end
return {existed, epoch}`);

/*
 * One user of an instance whose heartbeat expired: removes that instance's connections of
 * the user, and schedules the notice when none is left anywhere and one of those was armed.
 * One user per call, so a sweeper that dies mid-way leaves the rest for the next one, and
 * two sweepers never take the same user. 'alive' when the instance came back, 'done' when
 * nothing of it is left.
 * KEYS: instances, alive(dead), on(dead), pending, notices.
 * ARGV: dead presence id, now, due, user key prefix, reason.
 */
export const SWEEP = new RedisScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return {'alive'} end
local user = redis.call('SPOP', KEYS[3])
if not user then
  redis.call('SREM', KEYS[1], ARGV[1])
  return {'done'}
end
local key = ARGV[4] .. user
local fields = redis.call('HGETALL', key)
local removed, left, armed = 0, 0, false
for i = 1, #fields, 2 do
  local value = fields[i + 1]
  if string.sub(value, 2) == ARGV[1] then
    redis.call('HDEL', key, fields[i])
    removed = removed + 1
    if not armed and string.sub(value, 1, 1) == '1' then armed = fields[i] end
  else
    left = left + 1
  end
end
if removed == 0 or left > 0 or not armed then return {'user', user, '0'} end
redis.call('ZADD', KEYS[4], ARGV[3], user)
redis.call('HSET', KEYS[5], user,
  '{"reason":' .. cjson.encode(ARGV[5]) .. ',"lastConnectionId":' .. cjson.encode(armed) ..
  ',"at":' .. ARGV[2] .. '}')
return {'user', user, '1'}`);

/*
 * Takes the notices due by `now`: each goes to exactly one caller. A notice of a user who
 * has a connection again is dropped. Returns how many were due, then user and notice pairs.
 * KEYS: pending, notices. ARGV: now, most to take, user key prefix.
 */
export const CLAIM = new RedisScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {#due}
for _, user in ipairs(due) do
  redis.call('ZREM', KEYS[1], user)
  local notice = redis.call('HGET', KEYS[2], user)
  redis.call('HDEL', KEYS[2], user)
  if notice and redis.call('EXISTS', ARGV[3] .. user) == 0 then
    out[#out + 1] = user
    out[#out + 1] = notice
  end
end
return out`);
