/**
 * What the tray shows for an agent status: the icon state, the tooltip and the
 * menu. Pure (no Electron): tray.ts turns this into a Tray and a Menu.
 *
 * States, most urgent first, so one glance says whether to look closer:
 *   paused     collection is stopped (whatever else is true, nothing is collected)
 *   error      a target is not collected (unreachable, timed out, failing) or
 *              payloads cannot be stored
 *   attention  the operator must act: credentials due, a target's configuration,
 *              the state file open to other users, a delivery backlog, no targets
 *   limited    collecting, but some signals lack a grant (permission-limited) or are
 *              otherwise missing from the setup: the same targets the dashboard shows
 *              as "Some signals unavailable" (optional grants and opt-ins never count)
 *   healthy    everything configured is collected in full
 */
import type { RuntimeStatus, RuntimeTargetStatus } from '../../agent/run/app-runtime.js';

export const TRAY_STATES = ['healthy', 'limited', 'attention', 'error', 'paused'] as const;
export type TrayState = (typeof TRAY_STATES)[number];

export interface TrayView {
  state: TrayState;
  /** One line: the menu's first (disabled) item. */
  headline: string;
  /** Headline plus the most important details, at most TOOLTIP_MAX characters. */
  tooltip: string;
  paused: boolean;
  /** "Collect now" makes sense: not paused and at least one target. */
  canCollect: boolean;
}

/** Windows truncates tray tooltips to 127 characters; the same limit everywhere keeps them alike. */
export const TOOLTIP_MAX = 127;
const APP = 'Logstag Agent';
const MAX_DETAILS = 3;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

const PROBLEM_TEXT: Record<NonNullable<RuntimeTargetStatus['problem']>['kind'], string> = {
  credentials: 'credentials due (re-enter the password)',
  unreachable: 'not reachable',
  timeout: 'collection timed out',
  config: 'configuration needs fixing',
  internal: 'collection failing',
};

function isErrorTarget(t: RuntimeTargetStatus): boolean {
  if (t.problem !== undefined) return t.problem.kind === 'unreachable' || t.problem.kind === 'timeout' || t.problem.kind === 'internal';
  return t.state === 'unreachable';
}
const isAttentionTarget = (t: RuntimeTargetStatus): boolean => t.problem?.kind === 'credentials' || t.problem?.kind === 'config' || t.rotation !== undefined;
// The dashboard's "limited" (TargetOperations: setupGaps) or a grant gap: the tray and the window agree.
const isLimitedTarget = (t: RuntimeTargetStatus): boolean => t.state === 'limited' || (t.permissionGaps ?? 0) > 0;

function targetDetail(t: RuntimeTargetStatus): string {
  if (t.problem !== undefined) return `${t.id}: ${PROBLEM_TEXT[t.problem.kind]}`;
  if (t.state === 'unreachable') return `${t.id}: ${PROBLEM_TEXT.unreachable}`;
  if (t.rotation !== undefined) return `${t.id}: password ${t.rotation.state === 'overdue' ? 'overdue' : 'due'} for rotation`;
  if ((t.permissionGaps ?? 0) > 0) return `${t.id}: ${plural(t.permissionGaps ?? 0, 'signal')} need a grant`;
  if (isLimitedTarget(t)) return `${t.id}: some signals unavailable`;
  return t.id;
}

/** Joins lines into a tooltip no longer than `max`, cutting whole lines first, then the last line. */
export function fitTooltip(lines: readonly string[], max = TOOLTIP_MAX): string {
  const kept: string[] = [];
  for (const line of lines) {
    const next = [...kept, line].join('\n');
    if (next.length <= max) {
      kept.push(line);
      continue;
    }
    if (kept.length === 0) return `${line.slice(0, max - 1)}…`;
    const room = max - kept.join('\n').length - 1;
    if (room >= 12) kept.push(`${line.slice(0, room - 1)}…`);
    break;
  }
  return kept.join('\n');
}

export function trayViewOf(status: RuntimeStatus): TrayView {
  const targets = status.targets;
  const errors = targets.filter(isErrorTarget);
  const attention = targets.filter((t) => !isErrorTarget(t) && isAttentionTarget(t));
  const limited = targets.filter((t) => !isErrorTarget(t) && !isAttentionTarget(t) && isLimitedTarget(t));

  const agentAttention: string[] = [];
  if (status.configTooOpen !== undefined) agentAttention.push('state file is open to other users');
  if (status.apiKeyRotation !== undefined) agentAttention.push(`API key ${status.apiKeyRotation.state} for rotation`);
  if (status.delivery?.backlog === true) {
    agentAttention.push(
      status.delivery.failing !== undefined
        ? `delivery failing, ${plural(status.delivery.pending, 'payload')} waiting`
        : `delivery backlog: ${plural(status.delivery.pending, 'payload')} waiting`,
    );
  }
  if (targets.length === 0) agentAttention.push('no targets configured yet');

  let state: TrayState;
  let headline: string;
  let details: string[];
  if (status.paused) {
    state = 'paused';
    headline = `collection paused (${plural(targets.length, 'target')})`;
    details = ['Resume from this menu', ...(status.deliveryError === undefined ? [] : ['payloads cannot be stored']), ...errors.map(targetDetail)];
  } else if (errors.length > 0 || status.deliveryError !== undefined) {
    state = 'error';
    headline = errors.length > 0 ? `${errors.length} of ${plural(targets.length, 'target')} not collected` : 'payloads cannot be stored';
    details = [
      ...(errors.length > 0 && status.deliveryError !== undefined ? ['payloads cannot be stored'] : []),
      ...errors.map(targetDetail),
      ...attention.map(targetDetail),
      ...agentAttention,
    ];
  } else if (attention.length > 0 || agentAttention.length > 0) {
    state = 'attention';
    headline = 'attention needed';
    details = [...attention.map(targetDetail), ...agentAttention];
  } else if (limited.length > 0) {
    state = 'limited';
    headline = limited.every((t) => (t.permissionGaps ?? 0) > 0)
      ? `permission-limited: ${limited.length} of ${plural(targets.length, 'target')} lack grants`
      : `limited: ${limited.length} of ${plural(targets.length, 'target')} missing signals`;
    details = limited.map(targetDetail);
  } else {
    state = 'healthy';
    const waiting = targets.filter((t) => t.state === 'never_collected').length;
    headline = waiting === targets.length ? `${plural(targets.length, 'target')}, first collection pending` : `all ${plural(targets.length, 'target')} healthy`;
    details = [];
  }
  if (details.length > MAX_DETAILS) details = [...details.slice(0, MAX_DETAILS - 1), `and ${details.length - (MAX_DETAILS - 1)} more`];
  return {
    state,
    headline,
    tooltip: fitTooltip([`${APP}: ${headline}`, ...details]),
    paused: status.paused,
    canCollect: !status.paused && targets.length > 0,
  };
}

/** The tray icon file for a state, relative to build/icons/tray (see make-tray-icon.mjs). */
export function trayIconFile(state: TrayState, platform: NodeJS.Platform): string {
  // macOS: "…Template" makes a template image (black + alpha, tinted by the menu bar); @2x is found next to it.
  if (platform === 'darwin') return `macos/${state}Template.png`;
  if (platform === 'win32') return `windows/${state}.ico`;
  return `linux/${state}.png`;
}

export type TrayAction = 'open' | 'pause' | 'resume' | 'collect' | 'ledger' | 'login' | 'quit';

/** A menu entry, free of Electron types (tray.ts maps it to MenuItemConstructorOptions). */
export type TrayMenuEntry =
  | { type: 'separator' }
  | { type: 'normal'; label: string; action?: TrayAction; enabled: boolean }
  | { type: 'checkbox'; label: string; action: TrayAction; checked: boolean; enabled: boolean };

export interface LoginItemState {
  /** The OS lets the app register itself to start at login (macOS, Windows). */
  supported: boolean;
  enabled: boolean;
}

export function trayMenu(view: TrayView, login: LoginItemState): TrayMenuEntry[] {
  return [
    { type: 'normal', label: view.headline.charAt(0).toUpperCase() + view.headline.slice(1), enabled: false },
    { type: 'separator' },
    { type: 'normal', label: `Open ${APP}`, action: 'open', enabled: true },
    view.paused
      ? { type: 'normal', label: 'Resume collection', action: 'resume', enabled: true }
      : { type: 'normal', label: 'Pause collection', action: 'pause', enabled: true },
    { type: 'normal', label: 'Collect now', action: 'collect', enabled: view.canCollect },
    { type: 'normal', label: 'Open audit ledger', action: 'ledger', enabled: true },
    ...(login.supported
      ? ([
          { type: 'separator' },
          { type: 'checkbox', label: 'Start at login', action: 'login', checked: login.enabled, enabled: true },
        ] satisfies TrayMenuEntry[])
      : []),
    { type: 'separator' },
    { type: 'normal', label: `Quit ${APP}`, action: 'quit', enabled: true },
  ];
}
