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

const SENTINEL_URL = /^(redis-sentinel|rediss-sentinel):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)\/([^/?#]+)\/?(?:\?([^#]*))?$/;

/** Parses a redis-sentinel:// URL; a string saying what is wrong, when it is one but malformed; undefined for other schemes. */
export function parseSentinelUrl(url: string): SentinelTarget | string | undefined {
  if (!/^rediss?-sentinel:/.test(url)) return undefined;
  const m = SENTINEL_URL.exec(url);
  if (!m) return 'a Sentinel URL is redis-sentinel://[[user]:password@]host:port[,host:port…]/<group name>[?db=N&sentinelPassword=…]';
  const [, scheme, user, password, hostList, name, query] = m;
  const sentinels: SentinelTarget['sentinels'] = [];
  for (const entry of hostList!.split(',')) {
    const hp = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(entry.trim());
    const port = Number(hp?.[2]);
    if (!hp || port < 1 || port > 65535) return `"${entry}" is not host:port (every sentinel needs its port, usually 26379)`;
    sentinels.push({ host: hp[1]!.replace(/^\[|\]$/g, ''), port });
  }
  const params = new URLSearchParams(query ?? '');
  const db = params.get('db');
  if (db !== null && !/^\d{1,2}$/.test(db)) return '?db= must be a database number';
  const decode = (s: string | undefined) => (s ? decodeURIComponent(s) : undefined);
  return {
    sentinels, name: decodeURIComponent(name!), username: decode(user), password: decode(password),
    sentinelPassword: params.get('sentinelPassword') ?? undefined, db: db === null ? undefined : Number(db), tls: scheme === 'rediss-sentinel',
  };
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
    ...(target.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    // Learn of a promotion from the sentinels' +switch-master at once, not at the next failed command.
    failoverDetector: true,
  });
}
