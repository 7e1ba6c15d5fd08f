import { join, resolve, dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, TargetConnectError } from '../../../collectors/core/engine.js';
import { serializePayload } from '../../../collectors/core/payload.js';
import { type Policy, PolicySchema } from '../../../collectors/core/policy.js';
import { describeIssue, type Target } from '../../../collectors/core/target.js';
import { AuditLedger } from '../audit/ledger.js';
import { TargetMemoryStore } from '../collect/memory-store.js';
import { agentHome, auditDir, targetStateDir } from '../config/paths.js';
import { loadTargetFile, parseTarget, readJsonFile } from '../config/target-file.js';
import { LocalOutbox } from '../delivery/outbox.js';
import { loadAgentIdentity } from '../identity.js';
import { Scheduler } from '../scheduler.js';
import { KeychainVault } from '../secrets/keychain-vault.js';
import { NameKeyStore } from '../secrets/name-key.js';
import { type Vault, VaultError } from '../secrets/vault.js';
import { requireCollector, TargetOperations } from '../service.js';
import { AGENT_VERSION } from '../version.js';

export const EXIT = { ok: 0, internal: 1, badInput: 2, unreachable: 3 } as const;

const USAGE = `logstag-agent ${AGENT_VERSION}: read-only database monitoring, headless

Usage:
  logstag-agent check   --target FILE [--json]   connect, probe permissions, flag administrator identities
  logstag-agent collect --once --target FILE [--json]
                                                  one collection cycle; prints the payload exactly as it would be sent
  logstag-agent grants  --target FILE             the grant script for what the identity is missing
  logstag-agent run     --config FILE             collect every target on its interval until stopped (Ctrl-C)
  logstag-agent secret encrypt                    read a secret on stdin, print a machine-bound blob

Exit codes: 0 success, 2 bad input, 3 target unreachable or authentication failed, 1 internal error.
State (agent id, audit ledger, outbox) lives in $LOGSTAG_HOME or the OS's application data folder.`;

export interface Io {
  out(text: string): void;
  err(text: string): void;
  stdin(): Promise<string>;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
}

/** Thrown for a usage mistake; exit code 2. */
class UsageError extends ConfigError {}

function requireFlag(value: string | undefined, flag: string, command: string): string {
  if (value === undefined || value === '') throw new UsageError(`${command}: ${flag} FILE is required (see --help)`);
  return value;
}

function context(io: Io) {
  const home = agentHome(io.env);
  const agent = loadAgentIdentity(home);
  const audit = new AuditLedger(auditDir(home));
  let vault: Vault | undefined;
  const vaultOf = (): Vault => (vault ??= new KeychainVault());
  const nameKeys = new NameKeyStore(home, vaultOf);
  const ops = new TargetOperations(agent, audit, vaultOf, io.env, () => nameKeys.load(), new TargetMemoryStore(targetStateDir(home)));
  return { home, agent, audit, ops };
}

async function checkCommand(file: string, json: boolean, io: Io): Promise<number> {
  const target = await loadTargetFile(file);
  requireCollector(target.engine);
  const { ops } = context(io);
  const report = await ops.checkPermissions(target);
  if (json) {
    io.out(JSON.stringify({ target: { id: target.id, engine: target.engine }, ...report }));
    return EXIT.ok;
  }
  const lines = [
    `Target ${target.id} (${target.engine} ${target.host}:${target.port}${target.database ? `/${target.database}` : ''}) as ${report.identity.user}, server ${report.identity.serverVersion}`,
    report.identity.isAdministrator
      ? `WARNING: ${report.identity.user} is an administrator (${report.identity.reasons.join('; ')}). Use a dedicated monitoring identity: logstag-agent grants --target ${file}`
      : 'Administrator: no (good: a dedicated, least-privileged identity)',
    '',
    'Permission checklist:',
  ];
  for (const i of report.items) {
    lines.push(`  [${i.status}] ${i.grant}: ${i.detail} (${i.signals.join(', ')})`);
    if (i.fix !== undefined && i.status !== 'granted') lines.push(...i.fix.split('\n').map((l) => `      ${l}`));
  }
  io.out(lines.join('\n'));
  return EXIT.ok;
}

async function collectCommand(file: string, json: boolean, io: Io): Promise<number> {
  const target = await loadTargetFile(file);
  requireCollector(target.engine);
  const { ops } = context(io);
  const progress = io.isTTY ? (done: number, total: number, id: string) => io.err(`  [${done}/${total}] ${id}`) : undefined;
  const result = await ops.collect(target, progress ? { onProgress: progress } : {});
  if (result.connectError) throw result.connectError;
  // --json: the exact bytes the shipper sends; without it, the same object indented for reading.
  io.out(json ? serializePayload(result.payload) : JSON.stringify(result.payload, null, 2));
  return EXIT.ok;
}

async function grantsCommand(file: string, io: Io): Promise<number> {
  const target = await loadTargetFile(file);
  const collector = requireCollector(target.engine);
  const { ops } = context(io);
  try {
    io.out((await ops.checkPermissions(target)).script.trimEnd());
  } catch (err) {
    if (!(err instanceof TargetConnectError)) throw err;
    // The identity may not exist yet: give the DBA the full dedicated-identity script.
    io.err(`note: could not connect (${err.message}); printing the full script for a new dedicated identity`);
    io.out(collector.grantScript(target, 'all').trimEnd());
  }
  return EXIT.ok;
}

interface RunConfig {
  targets: Target[];
  outbox: string | undefined;
  concurrency: number;
  /** Workspace default policy for every target of this config (a target's own policy overrides it). */
  policy: Policy | undefined;
}

async function loadRunConfig(file: string): Promise<RunConfig> {
  const raw = await readJsonFile(file);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${file}: the config must be a JSON object`);
  const cfg = raw as Record<string, unknown>;
  const unknownKeys = Object.keys(cfg).filter((k) => !['targets', 'outbox', 'concurrency', 'policy'].includes(k));
  if (unknownKeys.length > 0) throw new ConfigError(`${file}: unknown field(s) ${unknownKeys.map((k) => `"${k}"`).join(', ')}`);
  if (!Array.isArray(cfg['targets']) || cfg['targets'].length === 0) throw new ConfigError(`${file}: targets must be a non-empty list`);
  const base = dirname(resolve(file));
  const targets: Target[] = [];
  for (const [i, entry] of (cfg['targets'] as unknown[]).entries()) {
    // An entry is a target object or {"file": "t.json"} relative to the config file.
    if (typeof entry === 'object' && entry !== null && 'file' in entry && typeof (entry as { file: unknown }).file === 'string') {
      targets.push(await loadTargetFile(resolve(base, (entry as { file: string }).file)));
    } else {
      targets.push(parseTarget(entry, `${file}: targets[${i}]`));
    }
  }
  const ids = new Set<string>();
  for (const t of targets) {
    if (ids.has(t.id)) throw new ConfigError(`${file}: target id "${t.id}" appears twice`);
    ids.add(t.id);
    requireCollector(t.engine);
  }
  const outbox = cfg['outbox'];
  if (outbox !== undefined && typeof outbox !== 'string') throw new ConfigError(`${file}: outbox must be a directory path`);
  const concurrency = cfg['concurrency'] ?? 4;
  if (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new ConfigError(`${file}: concurrency must be an integer from 1 to 64`);
  }
  let policy: Policy | undefined;
  if (cfg['policy'] !== undefined) {
    const parsed = PolicySchema.safeParse(cfg['policy']);
    if (!parsed.success) throw new ConfigError(`${file}: policy.${describeIssue(parsed.error)}`);
    policy = parsed.data;
  }
  return { targets, outbox: outbox === undefined ? undefined : resolve(base, outbox), concurrency, policy };
}

async function runCommand(file: string, io: Io, signal: AbortSignal): Promise<number> {
  const cfg = await loadRunConfig(file);
  const { ops, home } = context(io);
  // Resolve every secret up front: a bad reference is reported now, not at 3 a.m.
  for (const t of cfg.targets) await ops.password(t);
  const outbox = new LocalOutbox(cfg.outbox ?? join(home, 'outbox'));
  const byId = new Map(cfg.targets.map((t) => [t.id, t]));
  const scheduler = new Scheduler({
    concurrency: cfg.concurrency,
    runCycle: async (id) => {
      const target = byId.get(id)!;
      try {
        const { payload, connectError, durationMs, commitMemory } = await ops.collect(target, { workspacePolicy: cfg.policy });
        await outbox.put(payload);
        // Only now is the payload safe: advance the slow-log cursors past what it carries.
        await commitMemory();
        const down = payload.signals.filter((s) => s.status === 'unavailable').length;
        io.err(
          connectError
            ? `${id}: not collected: ${connectError.message}`
            : `${id}: ${payload.signals.length} signals (${down} unavailable) in ${Math.round(durationMs)} ms`,
        );
      } catch (err) {
        io.err(`${id}: cycle failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
    onSkip: (id, why) => io.err(`${id}: cycle skipped (${why === 'still_running' ? 'the previous cycle is still running' : 'paused'})`),
  });
  io.err(`collecting ${cfg.targets.length} target(s); payloads go to ${outbox.dir}; stop with Ctrl-C`);
  scheduler.start(cfg.targets.map((t) => ({ id: t.id, intervalMs: t.intervalSeconds * 1000 })));
  await new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true })));
  io.err('stopping: waiting for cycles in flight');
  await scheduler.stop();
  return EXIT.ok;
}

async function secretCommand(sub: string | undefined, io: Io): Promise<number> {
  if (sub !== 'encrypt') throw new UsageError('secret: the only subcommand is "secret encrypt" (the value on stdin)');
  const value = (await io.stdin()).replace(/\r?\n$/, '');
  if (value === '') throw new UsageError('secret encrypt: nothing on stdin (pipe the secret in, e.g. `read -rs PW; printf %s "$PW" | logstag-agent secret encrypt`)');
  const blob = await new KeychainVault().seal(value);
  io.out(blob);
  return EXIT.ok;
}

/** Runs one CLI invocation; returns the exit code. Never throws. */
export async function runCli(argv: readonly string[], io: Io, signal: AbortSignal = new AbortController().signal): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        target: { type: 'string' },
        config: { type: 'string' },
        json: { type: 'boolean', default: false },
        once: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
    const [command, sub, ...extra] = positionals;
    if (values.version) {
      io.out(AGENT_VERSION);
      return EXIT.ok;
    }
    if (values.help || command === undefined || command === 'help') {
      io.out(USAGE);
      return command === undefined && !values.help ? EXIT.badInput : EXIT.ok;
    }
    if ((command !== 'secret' && sub !== undefined) || extra.length > 0) throw new UsageError(`${command}: unexpected argument "${sub ?? extra[0]}"`);
    switch (command) {
      case 'check':
        return await checkCommand(requireFlag(values.target, '--target', 'check'), values.json, io);
      case 'collect':
        if (!values.once) throw new UsageError('collect: pass --once for one cycle (use `run --config FILE` to collect continuously)');
        return await collectCommand(requireFlag(values.target, '--target', 'collect'), values.json, io);
      case 'grants':
        return await grantsCommand(requireFlag(values.target, '--target', 'grants'), io);
      case 'run':
        return await runCommand(requireFlag(values.config, '--config', 'run'), io, signal);
      case 'secret':
        return await secretCommand(sub, io);
      default:
        throw new UsageError(`unknown command "${command}" (see --help)`);
    }
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: Io): number {
  const line = (m: string): string => m.replace(/\s+/g, ' ').trim();
  if (err instanceof TargetConnectError) {
    io.err(`error: ${line(err.message)}`);
    return EXIT.unreachable;
  }
  if (err instanceof ConfigError || err instanceof VaultError) {
    io.err(`error: ${line(err.message)}`);
    return EXIT.badInput;
  }
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) {
    io.err(`error: ${line(err.message)} (see --help)`);
    return EXIT.badInput;
  }
  io.err(`error: internal error: ${line(err instanceof Error ? err.message : String(err))}`);
  if (io.env['LOGSTAG_DEBUG'] === '1' && err instanceof Error && err.stack) io.err(err.stack);
  return EXIT.internal;
}
