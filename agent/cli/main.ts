import { parseArgs } from 'node:util';
import { ConfigError, TargetConnectError } from '../../collectors/core/engine.js';
import { serializePayload, writePayload } from '../../collectors/core/payload.js';
import type { Target } from '../../collectors/target.js';
import { AuditLedger, ledgerOptionsFromEnv } from '../audit/ledger.js';
import { parseWhen, viewLedger } from '../audit/viewer.js';
import { describeSchedule, tickSeconds } from '../../collectors/core/schedule.js';
import { TargetMemoryStore } from '../state/target-memory-store.js';
import { LineBatch } from './line-batch.js';
import { agentHome, auditDir, targetStateDir } from '../config/paths.js';
import { describeDestination } from '../../contract/destination.js';
import { defaultSpoolDir, loadRunConfig } from '../config/run-config.js';
import { checkConfigPermissions } from '../config/permission-check.js';
import { loadTargetFile } from '../config/target-file.js';
import { Spool, SpoolError } from '../delivery/spool.js';
import { loadAgentIdentity } from '../identity.js';
import { type CycleReport, RunLoop, type TargetProblem } from '../run/run-loop.js';
import { describeTargetStatus, readTargetStatus, TargetStatusRecorder, targetStatusFile } from '../run/status-file.js';
import { AgentVault, parseBackendChoice } from '../secrets/agent-vault.js';
import { NameKeyStore } from '../secrets/name-key.js';
import { type CredentialAge, credentialAge, rotationMessage, targetCredentialAge } from '../secrets/rotation.js';
import { type Vault, VaultError } from '../secrets/vault.js';
import { CredentialsError } from '../secrets/resolve.js';
import { type PermissionReport, requireCollector, TargetOperations } from '../target-operations.js';
import { AGENT_VERSION } from '../version.js';
import { oneLine } from '../../collectors/core/text.js';
import { scrub } from '../../collectors/core/scrub.js';

export const EXIT = { ok: 0, internal: 1, badInput: 2, unreachable: 3 } as const;

const USAGE = `logstag-agent ${AGENT_VERSION}: read-only database monitoring, headless

Usage:
  logstag-agent check   --target FILE [--json]   connect, probe permissions, flag administrator identities
  logstag-agent collect --once --target FILE [--json]
                                                  one collection cycle; prints the payload exactly as it would be sent
  logstag-agent grants  --target FILE             the grant script for what the identity is missing
  logstag-agent run     --config FILE             collect every target on its interval, spool and deliver, until stopped (Ctrl-C)
  logstag-agent status  --config FILE [--json]    delivery status (backlog, oldest unsent, dropped, last success and error) and each target's state
  logstag-agent spool   --config FILE [--quarantine]
                                                  print every unsent payload in the spool, one JSON line each, oldest first;
                                                  --quarantine: the payloads the service refused, with why
  logstag-agent audit   [--target ID] [--since WHEN] [--until WHEN] [--cycle N] [--json]
                                                  what the agent sent: each cycle's statements, exact text, outcome,
                                                  duration (WHEN: 2026-12-05T22:00:00Z or an age such as 90m, 12h, 7d)
  logstag-agent secret encrypt [--backend keychain|host]
                                                  read a secret on stdin, print a machine-bound blob (host: for a service)

Exit codes: 0 success, 2 bad input, 3 target unreachable or authentication failed, 1 internal error.
State (agent id, audit ledger, spool) lives in $LOGSTAG_HOME or the OS's application data folder.`;

export interface Io {
  out(text: string): void;
  /** Writes a piece of stdout without a newline (a large payload, piece by piece); without it, out() gets the whole text. */
  write?(chunk: string): void;
  err(text: string): void;
  stdin(): Promise<string>;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
}

/** Thrown for a usage mistake; exit code 2. */
class UsageError extends ConfigError {}

/** A secret that cannot be resolved names the file it was configured in (the message names target and field). */
async function inFile<T>(file: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CredentialsError && !err.message.startsWith(`${file}: `)) throw new CredentialsError(`${file}: ${err.message}`);
    throw err;
  }
}

function requireFlag(value: string | undefined, flag: string, command: string): string {
  if (value === undefined || value === '') throw new UsageError(`${command}: ${flag} FILE is required (see --help)`);
  return value;
}

function context(io: Io) {
  const home = agentHome(io.env);
  const agent = loadAgentIdentity(home);
  const audit = new AuditLedger(auditDir(home), ledgerOptionsFromEnv(io.env));
  let vault: Vault | undefined;
  const vaultOf = (): Vault => (vault ??= new AgentVault(io.env));
  const nameKeys = new NameKeyStore(home, vaultOf);
  const ops = new TargetOperations(agent, audit, vaultOf, io.env, () => nameKeys.load(), new TargetMemoryStore(targetStateDir(home)));
  return { home, agent, audit, ops };
}

async function checkCommand(file: string, json: boolean, io: Io): Promise<number> {
  const target = await loadTargetFile(file);
  await requireCollector(target.engine);
  const { ops, home } = context(io);
  const credentials = targetCredentialAge(target);
  const configPermissions = checkConfigPermissions([file], home, { env: io.env });
  const report = await ops.checkPermissions(target);
  const schedule = describeSchedule(target.intervalSeconds, target.schedule);
  if (json) {
    io.out(
      JSON.stringify({
        target: { id: target.id, engine: target.engine },
        ...report,
        credentials,
        configPermissions,
        schedule: schedule.map(({ family, seconds, overridden }) => ({ family, seconds, overridden })),
      }),
    );
    return EXIT.ok;
  }
  const rotation = rotationMessage('the password', credentials);
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
  lines.push(
    '',
    `Schedule (wakes every ${tickSeconds(target.intervalSeconds, target.schedule)} s; each family is read when its period has passed):`,
    ...schedule.map((f) => `  ${f.family}: ${f.label}${f.overridden ? ' (set for this target)' : ''}`),
  );
  lines.push('', `Credentials: ${credentialsLine(target, credentials)}`);
  if (rotation !== undefined) lines.push(`WARNING: ${rotation}`);
  if (report.cloud !== undefined) lines.push(...cloudLines(target, report.cloud, file));
  for (const f of configPermissions) lines.push(`WARNING: ${f.problem}`);
  io.out(lines.join('\n'));
  return EXIT.ok;
}

/** The cloud binding's part of `check`: who the identity is, whether it is read-only, its rotation clock. */
function cloudLines(t: Target, cloud: NonNullable<PermissionReport['cloud']>, file: string): string[] {
  const out = ['', `Cloud metrics (${cloud.provider}, ${cloud.region}):`];
  const id = cloud.identity;
  if (id === undefined) out.push('  identity: not established (see the checklist above)');
  else {
    out.push(`  identity: ${id.principal}`);
    if (id.readOnly === 'no')
      out.push(
        `WARNING: the cloud identity can change resources (${id.reasons.join('; ')}). Use a dedicated read-only identity: logstag-agent grants --target ${file}`,
      );
    else out.push(`  read-only: ${id.readOnly}${id.reasons.length > 0 ? ` (${id.reasons.join('; ')})` : ''}`);
  }
  const secret = t.cloud?.secret;
  if (secret !== undefined && t.cloud?.secretSetAt !== undefined) {
    const rotation = rotationMessage('the cloud secret', credentialAge(t.cloud.secretSetAt, t.rotationDays));
    if (rotation !== undefined) out.push(`WARNING: ${rotation}`);
  } else if (secret !== undefined) out.push('  cloud secret: rotation not tracked (add "cloud.secretSetAt" to track it)');
  return out;
}

function credentialsLine(t: Target, c: CredentialAge): string {
  if (t.password === undefined) return 'no password';
  if ('env' in t.password && t.passwordSetAt === undefined) return `from ${t.password.env} (rotation not tracked; add "passwordSetAt" to track it)`;
  if (c.state === 'unknown') return 'rotation unknown (no record of when the password was set; add "passwordSetAt" or re-enter it)';
  return `set ${c.setAt}, rotate by ${c.dueAt} (${c.state})`;
}

async function collectCommand(file: string, json: boolean, io: Io): Promise<number> {
  const target = await loadTargetFile(file);
  await requireCollector(target.engine);
  const { ops } = context(io);
  const progress = io.isTTY ? (done: number, total: number, id: string) => io.err(`  [${done}/${total}] ${id}`) : undefined;
  const result = await ops.collect(target, progress ? { onProgress: progress } : {});
  if (result.connectError) throw result.connectError;
  // --json: the exact bytes the shipper sends (in pieces: a payload of many megabytes is never one string
  // here, nor one buffer); without it, the same object indented for reading.
  if (!json) io.out(JSON.stringify(result.payload, null, 2));
  else if (io.write === undefined) io.out(serializePayload(result.payload));
  else {
    const write = io.write;
    writePayload(result.payload, (chunk) => write(chunk));
    write('\n');
  }
  return EXIT.ok;
}

async function grantsCommand(file: string, io: Io): Promise<number> {
  const target = await loadTargetFile(file);
  const collector = await requireCollector(target.engine);
  const { ops } = context(io);
  try {
    const report = await ops.checkPermissions(target);
    io.out(report.script.trimEnd());
    if (report.cloud !== undefined) io.out(cloudScriptBlock(report.cloud));
  } catch (err) {
    if (!(err instanceof TargetConnectError)) throw err;
    // The identity may not exist yet: give the DBA the full dedicated-identity script.
    io.err(`note: could not connect (${err.message}); printing the full script for a new dedicated identity`);
    io.out(collector.grantScript(target, 'all').trimEnd());
    const cloud = await ops.checkCloud(target);
    if (cloud !== undefined) io.out(cloudScriptBlock(cloud));
  }
  return EXIT.ok;
}

/** The cloud access script, marked off from the DBA's script: a cloud administrator applies it. */
const cloudScriptBlock = (cloud: { provider: string; script: string }): string =>
  `\n==== Cloud metrics (${cloud.provider}): for the cloud administrator, not the DBA ====\n${cloud.script.trimEnd()}`;

async function runCommand(file: string, io: Io, signal: AbortSignal): Promise<number> {
  const cfg = await loadRunConfig(file);
  for (const { target } of cfg.targets) await requireCollector(target.engine);
  const { ops, home, agent } = context(io);
  // Resolve every secret up front: a bad reference is reported now, not at 3 a.m.
  for (const { target } of cfg.targets) {
    await ops.password(target);
    await ops.cloudSecret(target);
  }
  // Loaded only by the commands that deliver: the HTTP stack stays out of check/collect/grants.
  const { openDeliveryFromSettings, spoolDirOf } = await import('../delivery/from-settings.js');
  const settings = { agent, home, destination: cfg.destination, spool: { dir: cfg.spoolDir, maxBytes: cfg.spoolMaxBytes } };
  // The per-cycle lines, written together at most 100 ms later; every other line of the run flushes them first.
  const cycleLines = new LineBatch((text) => io.err(text));
  const flushOnExit = (): void => cycleLines.flush();
  process.once('exit', flushOnExit);
  const logLine = (line: string): void => {
    cycleLines.flush();
    io.err(line);
  };
  const delivery = await openDeliveryFromSettings({ ...settings, vault: ops.vault, env: io.env, log: logLine, onUnresolved: 'throw' });
  const spoolDir = spoolDirOf(settings);
  // The same loop the desktop app runs: per-cycle timeout, problems, cursors committed after the spool.
  const loop = new RunLoop({
    ops,
    deliver: (payload) => delivery.put(payload),
    policy: () => cfg.policy,
    concurrency: cfg.concurrency,
    maxConcurrency: cfg.maxConcurrency,
    ...(cfg.cycleTimeoutSeconds === undefined ? {} : { cycleTimeoutMs: () => cfg.cycleTimeoutSeconds! * 1000 }),
    sessions: cfg.sessions.reuse ? { maxOpen: cfg.sessions.maxOpen, idleMs: cfg.sessions.idleSeconds * 1000 } : false,
    log: (err) => logLine(`internal error: ${oneLine(err instanceof Error ? err.message : err)}`),
  });
  // Per-target status for `status` (no listener): a file next to the spool, written after every cycle.
  const recorder = new TargetStatusRecorder(targetStatusFile(spoolDir), { config: file, targets: cfg.targets });
  await recorder.start();
  loop.on('cycle', (r) => {
    recorder.record(r, loop.scheduleOf(r.id));
    cycleLines.add(cycleLine(r, loop.problemOf(r.id)));
  });
  loop.on('skip', (id, why) => {
    recorder.noteSchedule(id, loop.scheduleOf(id));
    cycleLines.add(`${id}: cycle skipped (${why === 'still_running' ? 'the previous cycle is still running' : 'paused'})`);
  });
  const where =
    cfg.destination === null
      ? `the spool ${spoolDir} (no destination configured; read it with \`logstag-agent spool --config ${file}\`)`
      : `${describeDestination(cfg.destination)} through the spool ${spoolDir}`;
  io.err(`collecting ${cfg.targets.length} target(s); payloads go to ${where}; stop with Ctrl-C`);
  loop.plan(cfg.targets);
  await new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true })));
  logLine(`stopping: finishing the cycles in flight (at most ${STOP_GRACE_SECONDS} s)`);
  if (!(await loop.stop(STOP_GRACE_SECONDS * 1000))) logLine('stopping: cycles still running were abandoned; they are collected again at the next start');
  // Makes the targets' state durable, so the next start goes on with deltas (without it: full values once).
  await ops.memory
    ?.close()
    .catch((err: unknown) =>
      logLine(
        `stopping: the targets' state was not made durable (${oneLine(err instanceof Error ? err.message : err)}); the next start ships full values once`,
      ),
    );
  if (cfg.destination !== null) logLine(`stopping: delivering the spool (at most ${cfg.flushTimeoutSeconds} s)`);
  const { remaining } = await delivery.shutdown(cfg.flushTimeoutSeconds * 1000);
  await recorder.stop();
  process.off('exit', flushOnExit);
  logLine(remaining === 0 ? 'stopped; the spool is empty' : `stopped; ${remaining} payload(s) wait in the spool for the next start`);
  return EXIT.ok;
}

/** How long a stop waits for the cycles in flight before abandoning them (then the spool is flushed). */
const STOP_GRACE_SECONDS = 3;

/** One stderr line per scheduled cycle, as an operator tailing the log reads it. */
function cycleLine(r: CycleReport, problem: TargetProblem | undefined): string {
  switch (r.outcome) {
    case 'spooled': {
      if (r.connectError) return `${r.id}: not collected: ${problem?.kind === 'credentials' ? problem.message : r.connectError.message}; spooled ${r.key}`;
      const down = r.payload.signals.filter((s) => s.status === 'unavailable').length;
      return `${r.id}: ${r.payload.signals.length} signals (${down} unavailable) in ${Math.round(r.durationMs)} ms; spooled ${r.key}`;
    }
    case 'failed':
      return `${r.id}: cycle failed: ${r.problem.message}`;
    case 'not_stored':
      return `${r.id}: ${r.message}`;
  }
}

/** The spool a run config uses, with its cap. */
async function spoolOf(file: string, io: Io): Promise<{ dir: string; maxBytes: number }> {
  const cfg = await loadRunConfig(file);
  return { dir: cfg.spoolDir ?? defaultSpoolDir(agentHome(io.env)), maxBytes: cfg.spoolMaxBytes };
}

async function statusCommand(file: string, json: boolean, io: Io): Promise<number> {
  const { dir, maxBytes } = await spoolOf(file, io);
  const { readStatus } = await import('../delivery/delivery.js');
  const s = await readStatus(dir, maxBytes);
  const targets = await readTargetStatus(targetStatusFile(dir));
  if (json) {
    io.out(
      JSON.stringify({
        ...s,
        run:
          targets.found && 'status' in targets
            ? {
                running: targets.running,
                pid: targets.status.pid,
                startedAt: targets.status.startedAt,
                updatedAt: targets.status.updatedAt,
                stoppedAt: targets.status.stoppedAt,
              }
            : null,
        targets: targets.found && 'status' in targets ? targets.status.targets : [],
      }),
    );
    return EXIT.ok;
  }
  const age = s.oldestUnsentAgeSeconds === null ? 'none' : `${Math.round(s.oldestUnsentAgeSeconds)} s old`;
  io.out(
    [
      `destination:     ${s.destination ?? 'none (payloads stay in the spool)'}`,
      `state:           ${s.state}`,
      `last success:    ${s.lastSuccessAt ?? 'never'}`,
      `backlog:         ${s.backlog.payloads} payload(s) (${s.backlog.bytes} bytes); oldest unsent: ${age}`,
      `dropped:         ${s.dropped.total} in total, ${s.dropped.count} not yet reported${s.dropped.since ? ` (since ${s.dropped.since})` : ''}`,
      ...(s.losses ?? []).slice(-5).map((l) => `  lost ${l.count} (seq ${l.seqs}) at ${l.at}: ${l.cause}`),
      ...(s.quarantined ? [`quarantined:     ${s.quarantined} payload(s) refused by the service (logstag-agent spool --config ${file} --quarantine)`] : []),
      `last error:      ${s.lastError ?? 'none'}`,
      ...(s.egressRefusals > 0 ? [`egress refused:  ${s.egressRefusals} connection(s) to hosts other than the destination`] : []),
      ...describeTargetStatus(targets),
    ].join('\n'),
  );
  return EXIT.ok;
}

async function spoolCommand(file: string, io: Io, quarantine = false): Promise<number> {
  const { dir, maxBytes } = await spoolOf(file, io);
  if (quarantine) {
    // Payloads the service refused (too large, malformed): kept, never sent again by the agent.
    const entries = await Spool.readQuarantine(dir);
    for (const e of entries) io.out(JSON.stringify(e));
    io.err(`${entries.length} quarantined payload(s) in the spool ${dir} (quarantine folder)`);
    return EXIT.ok;
  }
  const spool = await Spool.open(dir, { maxBytes, readOnly: true });
  try {
    let n = 0;
    for await (const r of spool.unsent()) {
      io.out(r.body.toString('utf8'));
      n++;
    }
    io.err(`${n} unsent payload(s) in ${dir}`);
  } finally {
    await spool.close();
  }
  return EXIT.ok;
}

async function secretCommand(sub: string | undefined, backend: string | undefined, io: Io): Promise<number> {
  if (sub !== 'encrypt') throw new UsageError('secret: the only subcommand is "secret encrypt" (the value on stdin)');
  const value = (await io.stdin()).replace(/\r?\n$/, '');
  if (value === '')
    throw new UsageError('secret encrypt: nothing on stdin (pipe the secret in, e.g. `read -rs PW; printf %s "$PW" | logstag-agent secret encrypt`)');
  const blob = await new AgentVault(io.env, parseBackendChoice(backend)).seal(value);
  io.out(blob);
  // The rotation clock starts now; stdout stays the bare blob so scripts can capture it.
  io.err(`note: put the blob in "password": {"secret": ...} and set "passwordSetAt": "${new Date().toISOString()}" to track rotation`);
  return EXIT.ok;
}

/** Lists what the ledger recorded: the exact text sent to which target, when. */
function auditCommand(
  v: { target?: string | undefined; since?: string | undefined; until?: string | undefined; cycle?: string | undefined; json: boolean },
  io: Io,
): number {
  const when = (value: string | undefined, flag: string): number | undefined => {
    if (value === undefined) return undefined;
    try {
      return parseWhen(value, flag);
    } catch (err) {
      throw new UsageError(`audit: ${(err as Error).message}`);
    }
  };
  if (v.cycle !== undefined && !/^-?\d+$/.test(v.cycle)) throw new UsageError(`audit: --cycle takes a cycle number, not "${v.cycle}"`);
  const since = when(v.since, '--since');
  const until = when(v.until, '--until');
  viewLedger(
    auditDir(agentHome(io.env)),
    {
      ...(v.target === undefined ? {} : { target: v.target }),
      ...(since === undefined ? {} : { since }),
      ...(until === undefined ? {} : { until }),
      ...(v.cycle === undefined ? {} : { cycle: Number(v.cycle) }),
    },
    v.json,
    (l) => io.out(l),
    (l) => io.err(l),
  );
  return EXIT.ok;
}

/** Runs one CLI invocation; returns the exit code. Never throws. */
export async function runCli(argv: readonly string[], rawIo: Io, signal: AbortSignal = new AbortController().signal): Promise<number> {
  // Every diagnostic line leaves without a live secret in it (a server that echoed the password or API key).
  const io: Io = { ...rawIo, err: (text) => rawIo.err(scrub(text)) };
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
        quarantine: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
        backend: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        cycle: { type: 'string' },
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
        return await inFile(values.target ?? '', () => checkCommand(requireFlag(values.target, '--target', 'check'), values.json, io));
      case 'collect':
        if (!values.once) throw new UsageError('collect: pass --once for one cycle (use `run --config FILE` to collect continuously)');
        return await inFile(values.target ?? '', () => collectCommand(requireFlag(values.target, '--target', 'collect'), values.json, io));
      case 'grants':
        return await inFile(values.target ?? '', () => grantsCommand(requireFlag(values.target, '--target', 'grants'), io));
      case 'run':
        return await inFile(values.config ?? '', () => runCommand(requireFlag(values.config, '--config', 'run'), io, signal));
      case 'status':
        return await statusCommand(requireFlag(values.config, '--config', 'status'), values.json, io);
      case 'spool':
        return await spoolCommand(requireFlag(values.config, '--config', 'spool'), io, values.quarantine);
      case 'secret':
        return await secretCommand(sub, values.backend, io);
      case 'audit':
        return auditCommand(values, io);
      default:
        throw new UsageError(`unknown command "${command}" (see --help)`);
    }
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: Io): number {
  const line = (m: string): string => oneLine(m, 1000);
  if (err instanceof TargetConnectError) {
    io.err(`error: ${line(err.message)}`);
    return EXIT.unreachable;
  }
  if (err instanceof ConfigError || err instanceof VaultError || err instanceof SpoolError) {
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
