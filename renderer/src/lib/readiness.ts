/**
 * The pre-production checklist (security model), each item judged from what the
 * agent API reports. An item the API has no data for is "not checked by this
 * build": never a green it did not earn.
 */
import type { Result } from '../../../contract/api.js';
import { cloudFix, cloudIdentityItem } from './readiness-cloud.js';
import { FAILURE, failureKind, isMissingItem } from './format.js';

/** 'unknown': the agent checked and cannot tell (e.g. when a password from an environment variable was set). */
export type ReadinessState = 'pass' | 'fail' | 'pending' | 'unknown' | 'not_checked';

/** Where the fix for a problem is: a button on the Readiness screen goes there. */
export type ReadinessFix =
  /** The target's permission report (grant script, administrator warning). */
  | { kind: 'permissions'; targetId: string; label: string }
  /** The cloud access script in the target's permission report. */
  | { kind: 'cloud'; targetId: string; label: string }
  /** The target's connection test, with the plain-words reason and next step. */
  | { kind: 'connection'; targetId: string; label: string }
  /** Settings → Logstag destination. */
  | { kind: 'destination'; label: string }
  /** Settings → Workspace default policy. */
  | { kind: 'policy'; label: string };

export interface ReadinessItem {
  id: string;
  title: string;
  state: ReadinessState;
  detail: string;
  /** Buttons that go where the fix is. */
  fixes?: ReadinessFix[];
  /** Commands shown with a Copy button. */
  commands?: string[];
}

/** Worst first: what needs action, then what cannot be told yet, then what is fine. */
export const STATE_ORDER: readonly ReadinessState[] = ['fail', 'pending', 'unknown', 'not_checked', 'pass'];

/** The items sorted by state, worst first (stable within a state). */
export function sortByState<T extends { state: ReadinessState }>(items: readonly T[]): T[] {
  return items
    .map((item, i) => ({ item, i }))
    .sort((a, b) => STATE_ORDER.indexOf(a.item.state) - STATE_ORDER.indexOf(b.item.state) || a.i - b.i)
    .map((x) => x.item);
}

/** How many items are in each state, in STATE_ORDER, states with none left out. */
export function countByState(items: readonly { state: ReadinessState }[]): Array<{ state: ReadinessState; count: number }> {
  return STATE_ORDER.map((state) => ({ state, count: items.filter((i) => i.state === state).length })).filter((c) => c.count > 0);
}

/** One target as Readiness sees it, from its live permission check. */
export type TargetState = 'unreachable' | 'attention' | 'ready';
export interface TargetReadiness {
  id: string;
  name: string;
  state: TargetState;
  problems: string[];
  fixes: ReadinessFix[];
}
export const TARGET_STATE_ORDER: readonly TargetState[] = ['unreachable', 'attention', 'ready'];
export const TARGET_STATE_LABEL: Record<TargetState, string> = { unreachable: 'Not reachable', attention: 'Needs attention', ready: 'Ready' };

/** Every target's state (not reachable / needs attention / ready), worst first. */
export function targetReadiness(targets: readonly Target[], permissions: ReadonlyMap<string, PermissionOutcome>): TargetReadiness[] {
  const out = targets.map((t): TargetReadiness => {
    const p = permissions.get(t.id);
    if (p === undefined) return { id: t.id, name: t.name, state: 'unreachable', problems: ['Not checked yet.'], fixes: [connectionFix(t)] };
    if ('error' in p) {
      // Plain words first (the driver's code only in the details, as the dashboard does).
      const f = FAILURE[failureKind('unreachable', p.error)];
      return { id: t.id, name: t.name, state: 'unreachable', problems: [`${f.title}. ${f.next} Details: ${p.error}`], fixes: [connectionFix(t)] };
    }
    const problems: string[] = [];
    const fixes: ReadinessFix[] = [];
    const missing = p.report.items.filter(isMissingItem).length;
    if (p.report.identity.isAdministrator) problems.push(`Signs in as an administrator (${p.report.identity.user}).`);
    if (missing > 0) problems.push(`${missing} grant${missing === 1 ? '' : 's'} missing.`);
    if (problems.length > 0) fixes.push(permissionsFix(t));
    const identity = p.report.cloud?.identity;
    if (identity?.readOnly === 'no') {
      problems.push(`The cloud identity can change resources (${identity.reasons.join('; ')}).`);
      fixes.push(cloudFix(t));
    }
    return { id: t.id, name: t.name, state: problems.length > 0 ? 'attention' : 'ready', problems, fixes };
  });
  return out
    .map((t, i) => ({ t, i }))
    .sort((a, b) => TARGET_STATE_ORDER.indexOf(a.t.state) - TARGET_STATE_ORDER.indexOf(b.t.state) || a.i - b.i)
    .map((x) => x.t);
}

const permissionsFix = (t: Target): ReadinessFix => ({ kind: 'permissions', targetId: t.id, label: `Open the permission report of ${t.name}` });
const connectionFix = (t: Target): ReadinessFix => ({ kind: 'connection', targetId: t.id, label: `Test the connection of ${t.name}` });

export type Target = Result<'targets.list'>[number];
type Report = Result<'targets.checkPermissions'>;
type Settings = Result<'settings.get'>;
type Status = Result<'status.get'>;
type CredentialAge = Status['targets'][number]['credentials'];

/** A target's permission check: its report, or the error the check ended with. */
export type PermissionOutcome = { report: Report } | { error: string };

const names = (ts: readonly Target[]): string => ts.map((t) => t.name).join(', ');

const day = (iso: string | undefined): string => (iso === undefined ? 'an unknown date' : iso.slice(0, 10));

export function readinessItems(
  targets: readonly Target[],
  permissions: ReadonlyMap<string, PermissionOutcome>,
  settings: Settings | null,
  status: Status | null = null,
): ReadinessItem[] {
  const items: ReadinessItem[] = [];
  const none = targets.length === 0;

  // Dedicated, non-administrator identity per target.
  {
    const admins = targets.filter((t) => {
      const p = permissions.get(t.id);
      return p !== undefined && 'report' in p && p.report.identity.isAdministrator;
    });
    const unchecked = targets.filter((t) => {
      const p = permissions.get(t.id);
      return p === undefined || 'error' in p;
    });
    const users = new Map<string, Target[]>();
    for (const t of targets) users.set(`${t.host}:${t.port}/${t.user}`, [...(users.get(`${t.host}:${t.port}/${t.user}`) ?? []), t]);
    items.push({
      id: 'identity',
      title: 'A dedicated, non-administrator identity per target',
      state: none ? 'pending' : admins.length > 0 ? 'fail' : unchecked.length > 0 ? 'pending' : 'pass',
      detail: none
        ? 'No target yet.'
        : admins.length > 0
          ? `Administrator identity used by: ${names(admins)}. Create a dedicated monitoring user with the script from its permission check.`
          : unchecked.length > 0
            ? `Could not check: ${names(unchecked)} (the server must be reachable).`
            : 'Every target signs in with an identity that is not an administrator.',
      fixes: admins.length > 0 ? admins.map(permissionsFix) : unchecked.map(connectionFix),
    });
  }

  // Least privilege: nothing missing, nothing more than needed.
  {
    const missing: string[] = [];
    const fixes: ReadinessFix[] = [];
    const unchecked: Target[] = [];
    let checked = 0;
    for (const t of targets) {
      const p = permissions.get(t.id);
      if (p === undefined || 'error' in p) {
        unchecked.push(t);
        continue;
      }
      checked += 1;
      const m = p.report.items.filter(isMissingItem).length;
      if (m > 0) {
        missing.push(`${t.name} (${m} missing)`);
        fixes.push(permissionsFix(t));
      }
    }
    items.push({
      id: 'least-privilege',
      title: 'Least privilege: exactly the grants the signals need',
      state: none ? 'pending' : missing.length > 0 ? 'fail' : checked < targets.length ? 'pending' : 'pass',
      detail: none
        ? 'No target yet.'
        : missing.length > 0
          ? `Missing grants: ${missing.join(', ')}. Run the grant script from the target's permission check, then re-check.`
          : checked < targets.length
            ? `Could not check: ${names(unchecked)} (the server must be reachable).`
            : 'No grant missing on any target.',
      fixes: missing.length > 0 ? fixes : unchecked.map(connectionFix),
    });
  }

  // Secrets encrypted: no plaintext password anywhere.
  {
    const noPassword = targets.filter((t) => t.password === 'none');
    items.push({
      id: 'secrets',
      title: 'Secrets encrypted (no plain-text passwords)',
      state: none ? 'pending' : 'pass',
      detail: none
        ? 'No target yet.'
        : `Every password is sealed on this machine or read from an environment variable; the agent API never accepts a plain-text password in the configuration.${
            noPassword.length > 0 ? ` Without a password: ${names(noPassword)}.` : ''
          }`,
    });
  }

  // Destination configured over https.
  {
    const d = settings?.destination ?? null;
    let https = false;
    if (d !== null) {
      try {
        https = new URL(d.url).protocol === 'https:';
      } catch {
        https = false;
      }
    }
    items.push({
      id: 'destination',
      title: 'Destination configured, over HTTPS',
      state: settings === null ? 'not_checked' : d === null ? 'fail' : https ? 'pass' : 'fail',
      detail:
        settings === null
          ? 'The settings could not be read.'
          : d === null
            ? 'No destination: payloads stay in the local spool. Set it in Settings.'
            : https
              ? `Sends to ${d.url}; API key ${d.apiKey === 'vault' ? 'sealed on this machine' : 'from an environment variable'}.`
              : `${d.url} is not https.`,
      ...(settings !== null && !https ? { fixes: [{ kind: 'destination' as const, label: 'Open Settings → Logstag destination' }] } : {}),
    });
  }

  // Network scope: a proxy or the private-address switch are the only scope settings the API exposes.
  {
    const d = settings?.destination ?? null;
    items.push({
      id: 'network',
      title: 'Network scope configured',
      state: 'not_checked',
      detail:
        d === null
          ? 'Not checked by this build: the agent API does not report the host firewall or egress rules.'
          : `Not checked by this build beyond the destination: ${d.proxy ? `proxy ${d.proxy.url}` : 'no proxy'}, private addresses ${d.allowPrivateAddress ? 'allowed' : 'refused'}.`,
    });
  }

  // Categories reviewed: a policy set, on the workspace or on every target.
  {
    const workspaceSet = settings !== null && Object.keys(settings.policy).length > 0;
    const unreviewed = targets.filter((t) => Object.keys(t.policy).length === 0);
    items.push({
      id: 'categories',
      title: 'Sensitive categories reviewed',
      state: settings === null ? 'not_checked' : workspaceSet || (!none && unreviewed.length === 0) ? 'pass' : 'fail',
      detail: workspaceSet
        ? 'A workspace default policy is set.'
        : !none && unreviewed.length === 0
          ? 'Every target has its own policy.'
          : `No policy chosen yet${unreviewed.length > 0 ? ` for ${names(unreviewed)}` : ''}: the built-in defaults apply. Review them in Settings or in the wizard.`,
      ...(settings !== null && !workspaceSet && (none || unreviewed.length > 0)
        ? { fixes: [{ kind: 'policy' as const, label: 'Open Settings → Workspace default policy' }] }
        : {}),
    });
  }

  items.push(cloudIdentityItem(targets, permissions));
  items.push(configPermissionsItem(status), rotationItem(targets, status), {
    id: 'workspace-access',
    title: 'Workspace access reviewed',
    state: 'not_checked',
    detail: 'A reminder: review who in the Logstag workspace can see this data. The agent cannot check this.',
  });
  return items;
}

/** The agent's state file and folder, as status.get checked them. */
function configPermissionsItem(status: Status | null): ReadinessItem {
  const base = { id: 'config-permissions', title: 'Configuration file permissions' };
  const findings = status?.configPermissions;
  if (findings === undefined) {
    return { ...base, state: 'not_checked', detail: 'Not checked by this build: this agent does not report the permissions of its files.' };
  }
  if (findings.length > 0) {
    // The agent words each finding "<what>; run: <command>": the command gets its own line and a Copy button.
    const commands = findings.map((f) => f.problem.split('; run: ')[1]).filter((c): c is string => c !== undefined && c !== '');
    return {
      ...base,
      state: 'fail',
      detail: `Other users of this machine can reach the agent's configuration: ${findings.map((f) => f.problem).join('; ')}.`,
      ...(commands.length > 0 ? { commands } : {}),
    };
  }
  return {
    ...base,
    state: 'pass',
    detail: "The agent's state file and folder are private to this user. Target files of the command-line agent are checked by its “check” command.",
  };
}

/** Every stored credential against its rotation period (status.get's clocks). */
function rotationItem(targets: readonly Target[], status: Status | null): ReadinessItem {
  const base = { id: 'rotation', title: 'Credential rotation schedule' };
  if (status === null) return { ...base, state: 'not_checked', detail: "Not checked: the agent's status could not be read." };
  const name = new Map(targets.map((t) => [t.id, t]));
  const creds: Array<{ what: string; age: CredentialAge; source?: Target['password'] }> = status.targets.map((t) => ({
    what: `${name.get(t.id)?.name ?? t.id} (password)`,
    age: t.credentials,
    ...(name.get(t.id) === undefined ? {} : { source: name.get(t.id)!.password }),
  }));
  // A cloud binding's secret has its own clock (secretSetAt), on the target's rotation period.
  for (const t of status.targets) {
    if (t.cloudCredentials !== undefined) creds.push({ what: `${name.get(t.id)?.name ?? t.id} (cloud secret)`, age: t.cloudCredentials });
  }
  if (status.destinationApiKey !== undefined) creds.push({ what: 'the destination API key', age: status.destinationApiKey });
  if (creds.length === 0) return { ...base, state: 'pending', detail: 'No credential yet.' };
  const of = (state: CredentialAge['state']) => creds.filter((c) => c.age.state === state);
  const overdue = of('overdue');
  const due = of('due');
  const unknown = of('unknown');
  const parts: string[] = [];
  if (overdue.length > 0) parts.push(`Overdue for rotation: ${overdue.map((c) => `${c.what}, was due ${day(c.age.dueAt)}`).join('; ')}.`);
  if (due.length > 0) parts.push(`Due for rotation soon: ${due.map((c) => `${c.what}, by ${day(c.age.dueAt)}`).join('; ')}.`);
  if (overdue.length + due.length > 0)
    parts.push('Rotate a password from its target (the new one is tested before it replaces the old) and the API key in Settings.');
  if (unknown.length > 0) {
    const why = (c: (typeof creds)[number]) =>
      c.source === 'env' ? 'from an environment variable' : c.source === 'none' ? 'no password' : 'no record of when it was set';
    parts.push(
      `The agent cannot tell when these were set: ${unknown.map((c) => `${c.what}: ${why(c)}`).join('; ')}. Store the password in the app so its age is tracked, or keep the rotation schedule with your DBA.`,
    );
  }
  if (parts.length === 0) {
    const next = creds.map((c) => c.age.dueAt ?? '').sort()[0];
    return { ...base, state: 'pass', detail: `Every stored credential is within its rotation period; the next is due ${day(next)}.` };
  }
  return { ...base, state: overdue.length + due.length > 0 ? 'fail' : 'unknown', detail: parts.join(' ') };
}

export const READINESS_LABEL: Record<ReadinessState, string> = {
  pass: 'Ready',
  fail: 'Action needed',
  pending: 'Waiting',
  unknown: 'Cannot tell',
  not_checked: 'Not checked by this build',
};
