import { readBoundedFile } from '../../collectors/core/bounded-read.js';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../collectors/core/engine.js';
import { type Policy, PolicySchema } from '../../collectors/core/policy.js';
import { addKnownFields, describeIssue, type Target } from '../../collectors/target.js';
import { DEFAULT_SPOOL_MAX_BYTES, type Destination, DestinationSchema, SpoolSettingsSchema } from '../../contract/destination.js';
import { parseTarget, readJsonFile } from './target-file.js';

/**
 * The headless agent's configuration (`logstag-agent run --config FILE`): what
 * to collect, how often, where payloads go and where they wait. Destination and
 * spool are the same schemas as the app's settings.
 */
export const RunConfigSchema = z
  .object({
    /**
     * Default cycle interval for targets that do not set their own. The minimum
     * is 1 s (short cycles are for trials and tests; each cycle opens a session
     * per target); a target's own intervalSeconds keeps its minimum of 10.
     */
    intervalSeconds: z.number().int().min(1).max(86_400).default(60),
    /** Target objects (as `collect --target` takes) or {"file": "t.json"} relative to this file. */
    targets: z.array(z.unknown()).min(1, 'must be a non-empty list'),
    destination: DestinationSchema.nullable().default(null),
    spool: SpoolSettingsSchema.default({ maxBytes: DEFAULT_SPOOL_MAX_BYTES }),
    concurrency: z.number().int().min(1).max(64).default(4),
    /** The most cycles at once: the limit grows from `concurrency` while cycles run late and CPU allows. */
    maxConcurrency: z.number().int().min(1).max(256).default(64),
    /** On SIGTERM/SIGINT: how long to keep shipping the spool before exiting (the rest stays on disk). */
    flushTimeoutSeconds: z.number().min(0).max(600).default(10),
    /**
     * How long one cycle of one target may take before it is abandoned and the
     * target reported as timed out. Default: the target's interval, at least 30 s
     * and at most 10 min (the same rule as the desktop app).
     */
    cycleTimeoutSeconds: z.number().int().min(1).max(3600).optional(),
    /**
     * Sessions kept across cycles (docs/sessions-and-scheduling.md): at most
     * `maxOpen` open at once over all targets (least recently used closed first),
     * each closed after `idleSeconds` unused; `reuse: false` logs in every cycle.
     */
    sessions: z
      .object({
        reuse: z.boolean().default(true),
        maxOpen: z.number().int().min(0).max(100_000).default(1000),
        idleSeconds: z.number().int().min(1).max(86_400).default(300),
      })
      .strict()
      .default({ reuse: true, maxOpen: 1000, idleSeconds: 300 }),
    /** Workspace default sensitive-metadata policy for every target here (a target's own policy overrides it). */
    policy: PolicySchema.optional(),
  })
  .strict();

// "did you mean" knows the run config's, destination's and spool's fields too.
addKnownFields([
  ...Object.keys(RunConfigSchema.shape),
  'file',
  'url',
  'apiKey',
  'apiKeySetAt',
  'pin',
  'proxy',
  'allowPrivateAddress',
  'maxBatchesPerSecond',
  'maxBytesPerSecond',
  'username',
  'password',
  'dir',
  'maxBytes',
  'reuse',
  'maxOpen',
  'idleSeconds',
]);

export interface RunTarget {
  target: Target;
  intervalSeconds: number;
}

export interface RunConfig {
  file: string;
  targets: RunTarget[];
  destination: Destination | null;
  /** Absolute; null means `<agent home>/spool`. */
  spoolDir: string | null;
  spoolMaxBytes: number;
  concurrency: number;
  maxConcurrency: number;
  flushTimeoutSeconds: number;
  cycleTimeoutSeconds: number | undefined;
  policy: Policy | undefined;
  sessions: { reuse: boolean; maxOpen: number; idleSeconds: number };
}

/** Reads, validates and resolves a run config; every problem is one ConfigError line naming the file and field. */
export async function loadRunConfig(file: string): Promise<RunConfig> {
  const raw = await readJsonFile(file);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${file}: the config must be a JSON object`);
  if ('outbox' in raw) {
    throw new ConfigError(
      `${file}: "outbox" was replaced by "spool": {"dir": …, "maxBytes": …} (payloads now wait in the durable spool; read them with \`logstag-agent spool --config FILE\`)`,
    );
  }
  const parsed = RunConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${file}: ${describeIssue(parsed.error)}`);
  const cfg = parsed.data;
  const base = dirname(resolve(file));
  const targets: RunTarget[] = [];
  for (const [i, entry] of cfg.targets.entries()) {
    let rawTarget: unknown = entry;
    let where = `${file}: targets[${i}]`;
    if (typeof entry === 'object' && entry !== null && Object.keys(entry).length === 1 && typeof (entry as { file?: unknown }).file === 'string') {
      where = resolve(base, (entry as { file: string }).file);
      rawTarget = await readJsonFile(where);
    }
    const target = parseTarget(rawTarget, where);
    const own = typeof rawTarget === 'object' && rawTarget !== null && 'intervalSeconds' in rawTarget;
    targets.push({ target, intervalSeconds: own ? target.intervalSeconds : cfg.intervalSeconds });
  }
  const ids = new Set<string>();
  for (const { target } of targets) {
    if (ids.has(target.id)) throw new ConfigError(`${file}: target id "${target.id}" appears twice`);
    ids.add(target.id);
  }
  const destination =
    cfg.destination === null ? null : { ...cfg.destination, ...(cfg.destination.caFile ? { caFile: resolve(base, cfg.destination.caFile) } : {}) };
  return {
    file,
    targets,
    destination,
    spoolDir: cfg.spool.dir === undefined ? null : resolve(base, cfg.spool.dir),
    spoolMaxBytes: cfg.spool.maxBytes,
    concurrency: cfg.concurrency,
    maxConcurrency: Math.max(cfg.concurrency, cfg.maxConcurrency),
    flushTimeoutSeconds: cfg.flushTimeoutSeconds,
    cycleTimeoutSeconds: cfg.cycleTimeoutSeconds,
    policy: cfg.policy,
    sessions: cfg.sessions,
  };
}

/** The CA file's contents, with a one-line error that names the field. */
export async function readCaFile(path: string): Promise<Buffer> {
  const pem = await readBoundedFile(path, { what: 'destination.caFile' });
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`destination.caFile ${path}: not a PEM certificate file`);
  return pem;
}

export const defaultSpoolDir = (home: string): string => join(home, 'spool');
