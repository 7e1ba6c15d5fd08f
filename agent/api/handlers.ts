import { randomUUID } from 'node:crypto';
import { scrubDeep } from '../../collectors/core/scrub.js';
import { dirname } from 'node:path';
import { ConfigError, TargetConnectError } from '../../collectors/core/engine.js';
import { describeIssue, type SecretRef, type Target, TargetSchema } from '../../collectors/target.js';
import { CATEGORIES } from '../../collectors/core/category.js';
import { type Policy, resolvePolicy } from '../../collectors/core/policy.js';
import { operatorName } from '../audit/ledger.js';
import type { CycleResult } from '../../collectors/cycle.js';
import { type Destination, DestinationSchema } from '../../contract/destination.js';
import { checkConfigPermissions, type PermissionFinding } from '../config/permission-check.js';
import type { Settings, StateStore } from '../config/state-store.js';
import type { DeliveryStatus } from '../../contract/delivery-status.js';
import { NotFoundError, type TargetOperations } from '../target-operations.js';
import { credentialAge, targetCredentialAge } from '../secrets/rotation.js';
import { draftOperations, probeWithPassword } from '../secrets/probe.js';
import { VaultError } from '../secrets/vault.js';
import {
  API,
  type DestinationView,
  type Draft,
  type ErrorCode,
  type FeedEvent,
  type Method,
  type Params,
  type Preview,
  RequestSchema,
  type Response,
  type Result,
  type TargetView,
} from '../../contract/api.js';
import { oneLine } from '../../collectors/core/text.js';
import { testSendFromSettings } from '../delivery/from-settings.js';
import { RecentHistory } from '../state/recent-history.js';
import { FEED_BYTES_KEPT, feedEntryOf } from '../../contract/feed.js';
import { serializePayload } from '../../collectors/core/payload.js';
import { RecentPayloadBytes } from './feed-bytes.js';

export type Handlers = { [M in Method]: (params: Params<M>, conn: Connection) => Promise<Result<M>> };

/** One transport connection (a window, a test page): where its feed events go. */
export interface Connection {
  emit(event: FeedEvent): void;
}

export class ConflictError extends Error {}

function view(t: Target): TargetView {
  return {
    id: t.id,
    engine: t.engine,
    name: t.name ?? t.id,
    host: t.host,
    port: t.port,
    user: t.user,
    ...(t.database === undefined ? {} : { database: t.database }),
    ...(t.service === undefined ? {} : { service: t.service }),
    intervalSeconds: t.intervalSeconds,
    password: t.password === undefined ? 'none' : 'env' in t.password ? 'env' : 'vault',
    policy: t.policy ?? {},
    ...(t.cloud === undefined ? {} : { cloud: cloudView(t.cloud) }),
  };
}

/** The binding as the UI sees it: the secret reduced to where it comes from. */
function cloudView(b: NonNullable<Target['cloud']>): Record<string, unknown> {
  const { secret, ...rest } = b;
  return { ...rest, secret: secret === undefined ? 'none' : 'env' in secret ? 'env' : 'vault' };
}

/** The API's view of a cycle: the shipped payload object itself, plus what the policy did. */
const previewOf = (r: CycleResult): Preview => ({
  payload: r.payload,
  annotations: r.annotations,
  policy: { ...r.policy },
  ...(r.schedule === undefined ? {} : { schedule: r.schedule }),
});

/** The same overrides, in a canonical order, so a no-op change is not recorded as a change. */
function canonicalPolicy(p: Policy | undefined): Policy {
  const out: Policy = {};
  for (const c of CATEGORIES) if (p?.[c] !== undefined) out[c] = p[c];
  return out;
}
const samePolicy = (a: Policy | undefined, b: Policy | undefined): boolean => JSON.stringify(canonicalPolicy(a)) === JSON.stringify(canonicalPolicy(b));

function validTarget(raw: unknown): Target {
  const parsed = TargetSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssue(parsed.error));
  return parsed.data;
}

export interface HandlerDeps {
  store: StateStore;
  ops: TargetOperations;
  /** The running delivery pipeline, if this process has one (status.get reports it). */
  delivery?: { status(): Promise<DeliveryStatus> };
  /** The recent cycles per target (history.get); without it, an in-memory one for this handler table. */
  history?: RecentHistory;
  /** Where a failure to keep the history is reported. */
  log?: (err: unknown) => void;
  /** How many recent entries' payload bytes feed.bytes can answer, and their total size (default FEED_BYTES_KEPT). */
  feedBytes?: { entries: number; bytes: number };
}

const secretSource = (ref: SecretRef): 'env' | 'vault' => ('env' in ref ? 'env' : 'vault');

function destinationView(d: Destination): DestinationView {
  return {
    url: d.url,
    apiKey: secretSource(d.apiKey),
    ...(d.caFile === undefined ? {} : { caFile: d.caFile }),
    ...(d.pin === undefined ? {} : { pin: d.pin }),
    ...(d.proxy === undefined
      ? {}
      : {
          proxy: {
            url: d.proxy.url,
            ...(d.proxy.username === undefined ? {} : { username: d.proxy.username }),
            password: d.proxy.password === undefined ? ('none' as const) : secretSource(d.proxy.password),
          },
        }),
    allowPrivateAddress: d.allowPrivateAddress,
    maxBatchesPerSecond: d.maxBatchesPerSecond,
    maxBytesPerSecond: d.maxBytesPerSecond,
  };
}

const settingsView = (s: Settings, verifiedAt?: string): Result<'settings.get'> => ({
  paused: s.paused,
  destination: s.destination === null ? null : destinationView(s.destination),
  policy: s.policy,
  ...(verifiedAt === undefined ? {} : { verified: { at: verifiedAt } }),
});

/** A connection test's verdict in the contract's terms (a failure to connect is a verdict, not an error). */
async function verdictOf(ops: TargetOperations, t: Target): Promise<Result<'targets.test'>> {
  try {
    const identity = await ops.testConnection(t);
    const admin = identity.isAdministrator ? `; warning: ${identity.user} ${identity.reasons.join(', ')}` : '';
    return { verdict: 'ok' as const, detail: `connected as ${identity.user}${admin}`, serverVersion: identity.serverVersion };
  } catch (err) {
    if (err instanceof TargetConnectError) return { verdict: err.kind, detail: err.message };
    if (err instanceof ConfigError) return { verdict: 'config' as const, detail: err.message };
    throw err;
  }
}

/** The handler table: one implementation of the contract for every transport. */
export function createHandlers({ store, ops, delivery, history = new RecentHistory(), log, feedBytes = FEED_BYTES_KEPT }: HandlerDeps): {
  handlers: Handlers;
  disconnect(conn: Connection): void;
} {
  /** Each feed subscription's connection, and its first entry (it may read the bytes of entries from then on). */
  const subscriptions = new Map<string, { conn: Connection; from: number }>();
  const recent = new RecentPayloadBytes(feedBytes.entries, feedBytes.bytes);
  let nextEntry = 0;
  const unsubscribe = (subscription: string): void => {
    subscriptions.delete(subscription);
    // No window listens: nothing is kept (the headless agent never pays for the feed).
    if (subscriptions.size === 0) recent.clear();
  };
  ops.cycles.on('cycle', (result: CycleResult) => {
    // Only stored targets have a history (a deleted one's late cycle is not kept).
    if (store.target(result.payload.target.id) !== undefined) history.record(result.payload).catch((err: unknown) => log?.(err));
    if (subscriptions.size === 0) return;
    // The window gets the row only; the text is the payload's once-serialised string (the spool is given the same one).
    const json = serializePayload(result.payload);
    const bytes = Buffer.byteLength(json);
    const entry = feedEntryOf(nextEntry++, result, bytes);
    recent.keep(entry.entry, json, bytes);
    for (const [subscription, { conn }] of subscriptions) conn.emit({ subscription, entry } satisfies FeedEvent);
  });
  const recordPolicyChange = (scope: 'workspace' | 'target', before: Policy | undefined, after: Policy | undefined, targetId?: string): void => {
    ops.audit.recordPolicyChange({
      time: new Date().toISOString(),
      kind: 'policy_change',
      scope,
      ...(targetId === undefined ? {} : { targetId }),
      actor: operatorName(),
      via: 'api',
      before: canonicalPolicy(before),
      after: canonicalPolicy(after),
    });
  };
  const policyView = (t: Target): Result<'policy.get'> => ({
    targetId: t.id,
    target: canonicalPolicy(t.policy),
    workspace: canonicalPolicy(store.settings.policy),
    inherited: { ...resolvePolicy(store.settings.policy) },
    effective: { ...resolvePolicy(store.settings.policy, t.policy) },
  });
  // Read at the start of each cycle: a policy change applies from the next cycle on.
  const collect = (t: Target): Promise<CycleResult> => ops.collect(t, { workspacePolicy: store.settings.policy });
  /** A draft target: validated like a stored one, its id still free, its secrets only in an isolated, in-memory operations object. */
  const draft = ({ target, password, cloudSecret }: Draft): { ops: TargetOperations; target: Target } => {
    if (store.target(target.id) !== undefined) throw new ConflictError(`a target with id "${target.id}" already exists; choose another ID`);
    return draftOperations(ops, validTarget(target), {
      ...(password === undefined ? {} : { password }),
      ...(cloudSecret === undefined ? {} : { cloudSecret }),
    });
  };
  // The last acknowledged test send, for the exact destination configuration it was made with: any change unverifies it.
  let verified: { config: string; at: string } | undefined;
  const destinationConfig = (): string => JSON.stringify(store.settings.destination);
  const verifiedAt = (): string | undefined => (store.settings.destination !== null && verified?.config === destinationConfig() ? verified.at : undefined);
  const get = (id: string): Target => {
    const t = store.target(id);
    if (t === undefined) throw new NotFoundError(`no target with id "${id}"`);
    return t;
  };

  // The same check as the CLI's `check`, on the app's own state file and home (readiness page).
  // status.get is polled (after each cycle). On POSIX the check is two stat calls, done every time so a
  // chmod shows at once; on Windows it runs icacls, so it is redone at most every 30 s.
  const reuseFor = process.platform === 'win32' ? 30_000 : 0;
  let permissions: { at: number; findings: PermissionFinding[] } | undefined;
  const configPermissions = (): PermissionFinding[] => {
    const now = Date.now();
    if (permissions === undefined || now - permissions.at >= reuseFor)
      permissions = { at: now, findings: checkConfigPermissions([store.file], dirname(store.file)) };
    return permissions.findings;
  };

  const handlers: Handlers = {
    'status.get': async () => ({
      agent: ops.agent,
      paused: store.settings.paused,
      delivery: (await delivery?.status()) ?? null,
      targets: store.targets.map((t) => ({
        id: t.id,
        engine: t.engine,
        ...ops.healthOf(t.id),
        credentials: targetCredentialAge(t),
        ...(t.cloud === undefined
          ? {}
          : { cloudCredentials: t.cloud.secret === undefined ? { state: 'unknown' as const } : credentialAge(t.cloud.secretSetAt, t.rotationDays) }),
      })),
      ...(store.settings.destination === null ? {} : { destinationApiKey: credentialAge(store.settings.destination.apiKeySetAt) }),
      configPermissions: configPermissions(),
    }),
    'targets.list': async () => store.targets.map(view),
    'targets.get': async ({ id }) => view(get(id)),
    'targets.create': async ({ target, password, cloudSecret }) => {
      if (store.target(target.id) !== undefined) throw new ConflictError(`a target with id "${target.id}" already exists`);
      let t = validTarget(target);
      if (cloudSecret !== undefined && t.cloud === undefined) throw new ConfigError('cloudSecret: the target has no cloud binding');
      // Secrets are sealed first and stored with the target in one write: a failure stores nothing.
      const now = new Date().toISOString();
      if (password !== undefined) t = { ...t, password: { secret: await ops.vault().seal(password) }, passwordSetAt: now };
      if (cloudSecret !== undefined && t.cloud !== undefined)
        t = { ...t, cloud: { ...t.cloud, secret: { secret: await ops.vault().seal(cloudSecret) }, secretSetAt: now } };
      t = validTarget(t);
      // Re-checked after sealing (an await): another window may have created it meanwhile.
      if (store.target(target.id) !== undefined) throw new ConflictError(`a target with id "${target.id}" already exists`);
      await store.putTarget(t);
      if (!samePolicy(t.policy, {})) recordPolicyChange('target', {}, t.policy, t.id);
      return view(t);
    },
    'targets.update': async ({ id, patch }, _conn) => {
      const current = get(id);
      // Only the keys the caller sent: schema defaults must not overwrite stored values.
      const sent = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      // A password switched to an environment variable: when that was set is unknown.
      const { passwordSetAt: _setAt, ...base } = current;
      // A binding sent without a secret keeps the sealed one (the UI never sees it to send it back), as long as the provider is the same.
      if (sent.cloud !== undefined && sent.cloud !== null && current.cloud !== undefined) {
        const next = sent.cloud as NonNullable<Target['cloud']>;
        if (next.secret === undefined && next.provider === current.cloud.provider && current.cloud.secret !== undefined) {
          sent.cloud = {
            ...next,
            secret: current.cloud.secret,
            ...(current.cloud.secretSetAt === undefined ? {} : { secretSetAt: current.cloud.secretSetAt }),
          };
        }
      }
      const merged: Record<string, unknown> = { ...('password' in sent ? base : current), ...sent };
      if (sent.cloud === null) delete merged.cloud;
      const t = validTarget(merged);
      await store.putTarget(t);
      return view(t);
    },
    'targets.delete': async ({ id }) => {
      get(id);
      await store.deleteTarget(id);
      await history.forget(id);
      return { deleted: true as const };
    },
    'targets.setPassword': async ({ id, password }) => {
      const t = get(id);
      const secret = await ops.vault().seal(password);
      await store.putTarget({ ...t, password: { secret }, passwordSetAt: new Date().toISOString() });
      return { stored: true as const };
    },
    'targets.rotatePassword': async ({ id, password }) => {
      const t = get(id);
      try {
        await probeWithPassword(ops, t, password);
      } catch (err) {
        // The stored password is untouched; say why the new one was refused.
        if (err instanceof TargetConnectError) throw new TargetConnectError(err.kind, `new password not stored (the current one is kept): ${err.message}`);
        throw err;
      }
      const secret = await ops.vault().seal(password);
      const setAt = new Date().toISOString();
      // Re-read: the target may have been edited while the probe ran.
      await store.putTarget({ ...get(id), password: { secret }, passwordSetAt: setAt });
      return { stored: true as const, setAt };
    },
    'targets.setCloudSecret': async ({ id, secret }) => {
      const t = get(id);
      if (t.cloud === undefined) throw new ConfigError(`target "${id}" has no cloud binding; add one before its secret`);
      const sealed = await ops.vault().seal(secret);
      await store.putTarget({ ...t, cloud: { ...t.cloud, secret: { secret: sealed }, secretSetAt: new Date().toISOString() } });
      return { stored: true as const };
    },
    'targets.test': async ({ id }) => verdictOf(ops, get(id)),
    'targets.checkPermissions': async ({ id }) => ops.checkPermissions(get(id)),
    'collect.now': async ({ id }) => (await collect(get(id))).payload,
    // The preview is a cycle like any other (and goes to the feed and the shipper): what you see is what leaves.
    'preview.get': async ({ id }) => previewOf(await collect(get(id))),
    'history.get': async ({ id }) => ({ payloads: await history.get(get(id).id) }),
    'drafts.test': async (params) => {
      const d = draft(params);
      return verdictOf(d.ops, d.target);
    },
    'drafts.checkPermissions': async (params) => {
      const d = draft(params);
      return d.ops.checkPermissions(d.target);
    },
    // Under the draft's own policy over the workspace default; the cycle goes nowhere (see draftOperations).
    'drafts.preview': async (params) => {
      const d = draft(params);
      return previewOf(await d.ops.collect(d.target, { workspacePolicy: store.settings.policy }));
    },
    'drafts.policy': async ({ policy }) => ({
      targetId: '',
      target: canonicalPolicy(policy),
      workspace: canonicalPolicy(store.settings.policy),
      inherited: { ...resolvePolicy(store.settings.policy) },
      effective: { ...resolvePolicy(store.settings.policy, policy) },
    }),
    'policy.get': async ({ id }) => policyView(get(id)),
    'policy.set': async ({ id, policy }) => {
      const current = get(id);
      if (!samePolicy(current.policy, policy)) {
        const { policy: _old, ...rest } = current;
        const next = canonicalPolicy(policy);
        await store.putTarget(Object.keys(next).length === 0 ? rest : { ...rest, policy: next });
        recordPolicyChange('target', current.policy, next, id);
      }
      return policyView(get(id));
    },
    'feed.subscribe': async (_p, conn) => {
      const subscription = randomUUID();
      subscriptions.set(subscription, { conn, from: nextEntry });
      return { subscription };
    },
    'feed.unsubscribe': async ({ subscription }, conn) => {
      const owned = subscriptions.get(subscription)?.conn === conn;
      if (owned) unsubscribe(subscription);
      return { unsubscribed: owned };
    },
    'feed.bytes': async ({ subscription, entry }, conn) => {
      const sub = subscriptions.get(subscription);
      // Another window's subscription reads as no subscription at all: whether it exists is not told.
      if (sub?.conn !== conn) throw new NotFoundError('no live feed subscription with that id on this connection; reopen the Live feed');
      if (entry < sub.from || entry >= nextEntry) throw new NotFoundError(`entry ${entry} is not an entry of this subscription`);
      const json = recent.get(entry);
      if (json === undefined) {
        const mb = (feedBytes.bytes / (1024 * 1024)).toFixed(1);
        throw new NotFoundError(
          `the agent no longer keeps this entry’s payload bytes (it keeps those of the newest ${feedBytes.entries} entries, at most ${mb} MB); open a newer entry`,
        );
      }
      return { json };
    },
    'settings.get': async () => settingsView(store.settings, verifiedAt()),
    'destination.testSend': async () => {
      const destination = store.settings.destination;
      const at = new Date().toISOString();
      if (destination === null) return { verdict: 'config' as const, detail: 'no destination is set: payloads stay in the local spool', at };
      const config = destinationConfig();
      const result = await testSendFromSettings({ agent: ops.agent, destination, vault: ops.vault, env: ops.env });
      if (result.verdict === 'acknowledged') verified = { config, at };
      else if (verified?.config === config) verified = undefined;
      return { ...result, at };
    },
    'settings.update': async ({ paused, destination, policy }) => {
      const next: Partial<Settings> = {};
      if (paused !== undefined) next.paused = paused;
      const before = store.settings.policy;
      if (policy !== undefined) next.policy = canonicalPolicy(policy);
      if (destination === null) next.destination = null;
      else if (destination !== undefined) {
        // A secret value typed in the UI is sealed here and never stored or returned in plaintext.
        const secret = async (input: { env: string } | { value: string } | undefined, keep: SecretRef | undefined): Promise<SecretRef | undefined> =>
          input === undefined ? keep : 'env' in input ? { env: input.env } : { secret: await ops.vault().seal(input.value) };
        const current = store.settings.destination;
        const apiKey = await secret(destination.apiKey, current?.apiKey);
        // A new key (sealed value or another variable) restarts its rotation clock.
        const apiKeySetAt = destination.apiKey === undefined ? current?.apiKeySetAt : new Date().toISOString();
        if (apiKey === undefined) throw new ConfigError('destination.apiKey: required (an environment variable name or the key itself)');
        const { proxy, ...rest } = destination;
        let proxyPassword: SecretRef | undefined;
        if (proxy !== undefined && proxy.password !== null) {
          const kept = proxy.password === undefined ? current?.proxy?.password : undefined;
          // A stored proxy password is for the proxy it was entered for: never sent to another proxy host.
          if (kept !== undefined && current?.proxy !== undefined && new URL(proxy.url).host !== new URL(current.proxy.url).host)
            throw new ConfigError(
              `destination.proxy.password: the proxy changed (${new URL(current.proxy.url).host} → ${new URL(proxy.url).host}); enter the password for the new proxy, or none — the stored one is not sent to another proxy`,
            );
          proxyPassword = await secret(proxy.password, current?.proxy?.password);
        }
        const { password: _typed, ...proxyRest } = proxy ?? { password: undefined };
        const parsed = DestinationSchema.safeParse({
          ...rest,
          apiKey,
          ...(apiKeySetAt === undefined ? {} : { apiKeySetAt }),
          ...(proxy === undefined ? {} : { proxy: { ...proxyRest, ...(proxyPassword === undefined ? {} : { password: proxyPassword }) } }),
        });
        if (!parsed.success) throw new ConfigError(`destination: ${describeIssue(parsed.error)}`);
        next.destination = parsed.data;
      }
      const settings = await store.updateSettings(next);
      if (policy !== undefined && !samePolicy(before, settings.policy)) recordPolicyChange('workspace', before, settings.policy);
      return settingsView(settings, verifiedAt());
    },
  };

  return {
    handlers,
    disconnect(conn) {
      for (const [id, s] of subscriptions) if (s.conn === conn) unsubscribe(id);
    },
  };
}

const fail = (code: ErrorCode, message: string, id?: string | number): Response => ({
  ...(id === undefined ? {} : { id }),
  ok: false,
  error: { code, message },
});

/** Maps what a handler threw to an error code and a one-line message; never a stack trace. */
function errorResponse(err: unknown, id?: string | number): Response {
  if (err instanceof ConfigError) return fail('bad_request', oneLine(err.message, 500), id);
  if (err instanceof NotFoundError) return fail('not_found', oneLine(err.message, 500), id);
  if (err instanceof ConflictError) return fail('conflict', oneLine(err.message, 500), id);
  if (err instanceof TargetConnectError) return fail('target_unreachable', oneLine(err.message, 500), id);
  if (err instanceof VaultError) return fail('unavailable', oneLine(err.message, 500), id);
  return fail('internal', 'internal error in the agent; see the agent log', id);
}

/**
 * Validates a message from any transport, runs its handler, validates the result.
 * Never throws: every failure is an error response with a clear message.
 */
/** Every response, results and errors alike, leaves without a live secret in it (collectors/core/scrub.ts). */
export async function dispatch(handlers: Handlers, message: unknown, conn: Connection, log: (err: unknown) => void = () => {}): Promise<Response> {
  return scrubDeep(await dispatchUnscrubbed(handlers, message, conn, log));
}

async function dispatchUnscrubbed(handlers: Handlers, message: unknown, conn: Connection, log: (err: unknown) => void): Promise<Response> {
  const req = RequestSchema.safeParse(message);
  if (!req.success) return fail('bad_request', `malformed request: ${describeIssue(req.error)}`);
  const { id, method } = req.data;
  if (!Object.hasOwn(API, method)) return fail('unknown_method', `unknown method "${method.slice(0, 64)}"`, id);
  const spec = API[method as Method];
  const params = spec.params.safeParse(req.data.params ?? {});
  if (!params.success) return fail('bad_request', `${method}: ${describeIssue(params.error)}`, id);
  try {
    const handler = handlers[method as Method] as (p: unknown, c: Connection) => Promise<unknown>;
    const result = await handler(params.data, conn);
    const checked = spec.result.safeParse(result);
    if (!checked.success) {
      log(new Error(`${method} produced an invalid result: ${describeIssue(checked.error)}`));
      return fail('internal', `internal error in the agent: ${method} produced an invalid result`, id);
    }
    return { ...(id === undefined ? {} : { id }), ok: true, result: checked.data };
  } catch (err) {
    const res = errorResponse(err, id);
    if (!res.ok && res.error.code === 'internal') log(err);
    return res;
  }
}
