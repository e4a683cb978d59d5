// The Redis connection from REDIS_URL: one endpoint (redis://, rediss://) or a Sentinel group
// (redis-sentinel://host:26379,host:26379/<group>), so that a promoted replica takes over without a proxy
// in front of the group (docs/scaling.md).
import { Redis, type RedisOptions } from 'ioredis';

export interface SentinelTarget {
  sentinels: { host: string; port: number }[];
  /** The group name the sentinels monitor (`sentinel monitor <name> …`). */
  name: string;
  username?: string;
  password?: string;
  /** The sentinels' own password, when they have one (`?sentinelPassword=`); else none. */
  sentinelPassword?: string;
  db?: number;
  tls: boolean;
}

/** Parses a redis-sentinel:// URL; a string saying what is wrong, when it is one but malformed; undefined for other schemes. */
export function parseSentinelUrl(url: string): SentinelTarget | string | undefined {
  const scheme = /^(rediss?)-sentinel:\/\//.exec(url);
  if (!scheme) return undefined;
  const usage = 'a Sentinel URL is redis-sentinel://[[user]:password@]host:port[,host:port…]/<group name>[?db=N&sentinelPassword=…]';
  // Never quote the input back: it may hold a password. Userinfo ends at the authority's last '@'
  // (a password may contain '@'); the authority ends at the first '/'.
  const rest = url.slice(scheme[0].length);
  const slash = rest.indexOf('/');
  if (slash < 0) return usage;
  const authority = rest.slice(0, slash);
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? undefined : authority.slice(0, at);
  const hostList = authority.slice(at + 1);
  const path = /^\/([^/?#]+)\/?(?:\?([^#]*))?$/.exec(rest.slice(slash));
  if (!path || !hostList) return usage;
  const sentinels: SentinelTarget['sentinels'] = [];
  for (const [i, entry] of hostList.split(',').entries()) {
    const hp = /^(\[[0-9a-fA-F:]+\]|[^:\s@\[\]]+):(\d{1,5})$/.exec(entry.trim());
    const port = Number(hp?.[2]);
    if (!hp || port < 1 || port > 65535) return `sentinel #${i + 1} is not host:port (every sentinel needs its port, usually 26379)`;
    sentinels.push({ host: hp[1]!.replace(/^\[|\]$/g, ''), port });
  }
  let target: SentinelTarget;
  try {
    const colon = userinfo?.indexOf(':') ?? -1;
    const decode = (s: string | undefined) => (s ? decodeURIComponent(s) : undefined);
    const params = new URLSearchParams(path[2] ?? '');
    const db = params.get('db');
    if (db !== null && !/^\d{1,2}$/.test(db)) return '?db= must be a database number';
    target = {
      sentinels, name: decodeURIComponent(path[1]!),
      username: decode(colon < 0 ? userinfo : userinfo!.slice(0, colon)), password: decode(colon < 0 ? undefined : userinfo!.slice(colon + 1)),
      sentinelPassword: params.get('sentinelPassword') ?? undefined, db: db === null ? undefined : Number(db), tls: scheme[1] === 'rediss',
    };
  } catch {
    return 'a user name, password or group name holds a malformed %-escape';
  }
  return target;
}

// Shared by both forms. After a failover the old primary answers writes with READONLY until the
// connection moves: reconnect (and, with Sentinel, ask the sentinels again) and resend the command.
const COMMON: RedisOptions = {
  lazyConnect: true,
  maxRetriesPerRequest: 2,
  enableAutoPipelining: true,
  reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
};

/** A connection (not yet connected: call connect()) to what REDIS_URL names. */
export function createRedis(url: string): Redis {
  const target = parseSentinelUrl(url);
  if (typeof target === 'string') throw new Error(`REDIS_URL: ${target}`);
  if (!target) return new Redis(url, COMMON);
  return new Redis({
    ...COMMON,
    sentinels: target.sentinels,
    name: target.name,
    username: target.username,
    password: target.password,
    sentinelPassword: target.sentinelPassword,
    db: target.db,
    // TLS to the sentinels (sentinelTLS: their password and their answer travel there) and to the data nodes.
    ...(target.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
    // Learn of a promotion from the sentinels' +switch-master at once, not at the next failed command.
    failoverDetector: true,
  });
}

export type Script = (...args: (string | number)[]) => Promise<unknown>;

/** A Lua script as a command of this connection: EVALSHA, falling back to EVAL once per server. */
export function script(redis: Redis, name: string, numberOfKeys: number, lua: string): Script {
  redis.defineCommand(name, { numberOfKeys, lua });
  return (...args) => (redis as unknown as Record<string, Script>)[name]!(...args);
}
