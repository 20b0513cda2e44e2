import { hostname } from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/**
 * Typed configuration from the environment. The only module that reads
 * `process.env`: everything else receives a `Config`. Invalid values fail the
 * start with every problem listed, instead of surfacing later as odd behaviour.
 */
const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DATA_DIR: z.string().min(1).default('.data'),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  EMBEDDED_POSTGRES_PORT: z.coerce
    .number()
    .int()
    .min(1)
    .max(65535)
    .refine((port) => port !== 5432, {
      message: 'must not be 5432, which a system PostgreSQL may hold',
    })
    .default(54329),
  EMBEDDED_POSTGRES_FALLBACK_DIR: z.string().min(1).default('/var/lib/scanops'),
  SCAN_ALLOWED_TARGETS: z.string().default('127.0.0.0/8,::1/128'),
  SCAN_MAX_HOSTS: z.coerce.number().int().min(1).max(16_777_216).default(65_536),
  SCAN_MAX_TARGETS: z.coerce.number().int().min(1).max(10_000).default(256),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  RUN_WORKER: z.enum(['true', 'false']).default('true'),
  SCAN_JOB_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  NMAP_PATH: z.string().min(1).default('nmap'),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(5).max(86_400).default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  AUTH_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  ADMIN_EMAIL: z.string().optional(),
  ADMIN_PASSWORD: z.string().optional(),
  LOGIN_MAX_FAILURES_PER_EMAIL: z.coerce.number().int().min(1).max(10_000).default(5),
  LOGIN_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).max(100_000).default(30),
  LOGIN_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
  GRAPHIQL: z.enum(['true', 'false']).optional(),
  INTROSPECTION: z.enum(['true', 'false']).optional(),
  TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  WS_AUTH_GRACE_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  MAX_BODY_BYTES: z.coerce.number().int().min(1_024).max(10_485_760).default(102_400),
  EVIDENCE_STORE: z.enum(['fs', 'postgres']).default('fs'),
  EVIDENCE_DIR: z.string().min(1).optional(),
  EVIDENCE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(2 ** 40)
    .default(10 * 2 ** 20),
  EVIDENCE_MAX_CAPTURE_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(2 ** 44)
    .default(2 ** 30),
  EVIDENCE_QUOTA_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 50)
    .default(10 * 2 ** 30),
  EVIDENCE_SWEEP_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  SENSOR_NAME: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, dots, dashes and underscores, at most 63')
    .optional(),
  SENSOR_NETNS: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'a network namespace name (ip netns)')
    .optional(),
  TCPDUMP_PATH: z.string().min(1).default('tcpdump'),
  CAPTURE_MAX_SECONDS: z.coerce.number().int().min(1).max(604_800).default(3_600),
  CAPTURE_MAX_PACKETS: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(10_000_000),
  CAPTURE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(Number.MAX_SAFE_INTEGER)
    .default(1024 ** 3),
  CAPTURE_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  TRAFFIC_DELIVERY_MAX_PPS: z.coerce.number().int().min(1).max(100_000_000).default(50_000),
});

export type Config = {
  env: 'development' | 'production' | 'test';
  http: { host: string; port: number };
  logLevel: string;
  /** A PostgreSQL URL, or `undefined` to run the embedded server under `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPostgresPort: number;
  /** As root, where the embedded PostgreSQL goes when the user `postgres` cannot reach the project or `dataDir`. */
  embeddedPostgresFallbackDir: string;
  /** Redis carrying events between processes; `undefined` keeps them in memory (single node). */
  redisUrl: string | undefined;
  worker: {
    /** Scans one worker process runs at once. */
    concurrency: number;
    /** Whether `npm start` also runs a worker in the API process (the single-node default). */
    inProcess: boolean;
    /** Times a scan whose worker failed or died is tried again before it ends FAILED. */
    retries: number;
    /** The nmap binary SYN, UDP and VERSION scans run. */
    nmapPath: string;
  };
  auth: {
    /** HS256 key for access tokens; `undefined`: one generated once and kept in `dataDir`. */
    jwtSecret: string | undefined;
    accessTokenTtlSeconds: number;
    refreshTokenTtlDays: number;
    /**
     * How long a verified credential is reused without asking the database,
     * while the database's change notifications are heard (LISTEN); 0 turns
     * the cache and the listening off, and every request and stream checks
     * the database as before.
     */
    identityCacheSeconds: number;
    /** The admin the first start creates when the database has no user. */
    bootstrapAdmin: { email: string; password: string } | undefined;
    /** Failed logins allowed per email and per client address within `loginFailureWindowSeconds`. */
    loginMaxFailuresPerEmail: number;
    loginMaxFailuresPerIp: number;
    loginFailureWindowSeconds: number;
  };
  graphql: {
    /** GraphiQL in a browser; @default on, except in production */
    graphiql: boolean;
    /** Schema introspection; @default on, except in production */
    introspection: boolean;
    /** Largest request body (and graphql-ws message) accepted, in bytes. */
    maxBodyBytes: number;
    /** How long a graphql-ws connection without a token may stay open without authenticating an operation. */
    wsAuthGraceMs: number;
    /** Reverse proxies in front that append to `X-Forwarded-For`; 0 trusts none. */
    trustedProxyHops: number;
  };
  scans: {
    /** CIDRs a scan may target; anything else is refused before a packet is sent. */
    allowedTargets: string[];
    /** Most addresses one scan may expand to (CIDRs included). */
    maxHosts: number;
    /** Most target entries one scan may list. */
    maxTargets: number;
  };
  evidence: {
    /** Where evidence content lives: files under `dir`, or PostgreSQL. @default 'fs' */
    store: 'fs' | 'postgres';
    /** The `fs` store's folder. @default `<DATA_DIR>/evidence` */
    dir: string;
    /** Largest image or PDF accepted, in bytes (exactly this is accepted). @default 10 MiB */
    maxBytes: number;
    /** Largest packet capture (pcap, pcapng) accepted, in bytes. @default 1 GiB */
    maxCaptureBytes: number;
    /** Bytes of evidence each user may have stored in all. @default 10 GiB */
    quotaBytes: number;
    /** How often blobs no record points to (left by deleted scans, or a crash) are removed. @default 300 */
    sweepSeconds: number;
  };
  traffic: {
    /** This worker's name as a capture sensor. @default the host name */
    sensorName: string;
    /** A network namespace (`ip netns`) the sensor captures in, instead of its own: its interfaces are the sensor's. */
    sensorNetns: string | undefined;
    /** The tcpdump binary live captures run. */
    tcpdumpPath: string;
    /** Ceilings of a capture's limits, and their defaults. */
    maxSeconds: number;
    maxPackets: number;
    maxBytes: number;
    /** Captures one worker runs at once (live and replays). */
    concurrency: number;
    /** Packets all `trafficEvents` subscribers of one API process are sent per second, together. */
    deliveryMaxPps: number;
  };
};

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  const values = parsed.data;
  return {
    env: values.NODE_ENV,
    http: { host: values.HOST, port: values.PORT },
    logLevel: values.LOG_LEVEL,
    databaseUrl: values.DATABASE_URL,
    dataDir: path.resolve(values.DATA_DIR),
    embeddedPostgresPort: values.EMBEDDED_POSTGRES_PORT,
    embeddedPostgresFallbackDir: path.resolve(values.EMBEDDED_POSTGRES_FALLBACK_DIR),
    redisUrl: values.REDIS_URL,
    worker: {
      concurrency: values.WORKER_CONCURRENCY,
      inProcess: values.RUN_WORKER === 'true',
      retries: values.SCAN_JOB_RETRIES,
      nmapPath: values.NMAP_PATH,
    },
    auth: {
      jwtSecret: values.JWT_SECRET,
      accessTokenTtlSeconds: values.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlDays: values.REFRESH_TOKEN_TTL_DAYS,
      identityCacheSeconds: values.AUTH_CACHE_SECONDS,
      bootstrapAdmin:
        values.ADMIN_EMAIL && values.ADMIN_PASSWORD ? { email: values.ADMIN_EMAIL, password: values.ADMIN_PASSWORD } : undefined,
      loginMaxFailuresPerEmail: values.LOGIN_MAX_FAILURES_PER_EMAIL,
      loginMaxFailuresPerIp: values.LOGIN_MAX_FAILURES_PER_IP,
      loginFailureWindowSeconds: values.LOGIN_FAILURE_WINDOW_SECONDS,
    },
    graphql: {
      graphiql: (values.GRAPHIQL ?? String(values.NODE_ENV !== 'production')) === 'true',
      introspection: (values.INTROSPECTION ?? String(values.NODE_ENV !== 'production')) === 'true',
      maxBodyBytes: values.MAX_BODY_BYTES,
      wsAuthGraceMs: values.WS_AUTH_GRACE_MS,
      trustedProxyHops: values.TRUST_PROXY_HOPS,
    },
    scans: {
      allowedTargets: values.SCAN_ALLOWED_TARGETS.split(',')
        .map((cidr) => cidr.trim())
        .filter(Boolean),
      maxHosts: values.SCAN_MAX_HOSTS,
      maxTargets: values.SCAN_MAX_TARGETS,
    },
    evidence: {
      store: values.EVIDENCE_STORE,
      dir: path.resolve(values.EVIDENCE_DIR ?? path.join(values.DATA_DIR, 'evidence')),
      maxBytes: values.EVIDENCE_MAX_BYTES,
      maxCaptureBytes: values.EVIDENCE_MAX_CAPTURE_BYTES,
      quotaBytes: values.EVIDENCE_QUOTA_BYTES,
      sweepSeconds: values.EVIDENCE_SWEEP_SECONDS,
    },
    traffic: {
      sensorName: values.SENSOR_NAME ?? sensorNameOf(hostname()),
      sensorNetns: values.SENSOR_NETNS,
      tcpdumpPath: values.TCPDUMP_PATH,
      maxSeconds: values.CAPTURE_MAX_SECONDS,
      maxPackets: values.CAPTURE_MAX_PACKETS,
      maxBytes: values.CAPTURE_MAX_BYTES,
      concurrency: values.CAPTURE_CONCURRENCY,
      deliveryMaxPps: values.TRAFFIC_DELIVERY_MAX_PPS,
    },
  };
}

/** A host name as a sensor name: what `SENSOR_NAME` allows, `sensor` if nothing of it is left. */
function sensorNameOf(host: string): string {
  const name = host
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63);
  return name || 'sensor';
}
