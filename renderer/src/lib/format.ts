import type { Result } from '../api.js';

type Verdict = Result<'targets.test'>['verdict'];
type TargetState = Result<'status.get'>['targets'][number]['state'];
type ChecklistStatus = Result<'targets.checkPermissions'>['items'][number]['status'];
type Reason = Extract<Result<'collect.now'>['signals'][number], { status: 'unavailable' }>['reason'];

export const VERDICT_LABEL: Record<Verdict, string> = {
  ok: 'Connection OK',
  unreachable: 'Server unreachable',
  tls: 'TLS problem',
  authentication: 'Authentication failed',
  timeout: 'Timed out',
  config: 'Configuration problem',
};

export const STATE_LABEL: Record<TargetState, string> = {
  never_collected: 'Not collected yet',
  ok: 'All required signals available',
  limited: 'Some signals unavailable',
  unreachable: 'Unreachable',
};

export const CHECKLIST_LABEL: Record<ChecklistStatus, string> = {
  granted: 'Granted',
  missing: 'Missing',
  not_enabled: 'Not enabled',
  not_licensed: 'Not licensed',
  opt_in: 'Opt-in',
  not_applicable: 'Not applicable',
};

export const REASON_LABEL: Record<Reason, string> = {
  permission: 'No permission',
  not_enabled: 'Not enabled on the server',
  not_licensed: 'Not licensed',
  unsupported: 'Not supported by this server',
  disabled: 'Disabled',
  error: 'Error',
  timeout: 'Timed out',
};

/** Tone of a badge: drives its colour only; the text always says what it means. */
export type Tone = 'ok' | 'warn' | 'bad' | 'neutral';

export const stateTone = (s: TargetState): Tone => (s === 'ok' ? 'ok' : s === 'limited' ? 'warn' : s === 'unreachable' ? 'bad' : 'neutral');
/** A required grant the identity lacks. Optional items (superuser-only views, opt-ins, not applicable) never count. */
export const isMissingItem = (i: { status: ChecklistStatus; optional?: true }): boolean => i.status === 'missing' && i.optional !== true;
/** Badge text and tone of a checklist item: an optional item that is not granted is neutral, and says it is optional. */
export const checklistBadge = (i: { status: ChecklistStatus; optional?: true }): { label: string; tone: Tone } =>
  i.optional === true && i.status !== 'granted' && i.status !== 'not_applicable'
    ? { label: `${CHECKLIST_LABEL[i.status]} (optional)`, tone: 'neutral' }
    : { label: CHECKLIST_LABEL[i.status], tone: checklistTone(i.status) };
export const checklistTone = (s: ChecklistStatus): Tone => (s === 'granted' ? 'ok' : s === 'missing' ? 'bad' : s === 'not_applicable' ? 'neutral' : 'warn');

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : timeFormat.format(d);
}
export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTimeFormat.format(d);
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** A one-line description of a collected value (an available signal only). */
export function summarizeValue(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? 'no rows (the server reported none)' : plural(value.length, 'row', 'rows');
  if (value !== null && typeof value === 'object') return `1 record, ${plural(Object.keys(value).length, 'field', 'fields')}`;
  return String(value);
}

type Category = Result<'policy.get'>['effective'] extends Record<infer K, unknown> ? K : never;
type Action = Result<'policy.get'>['effective'][Category];

/** The seven categories, in the order the security model lists them. */
export const CATEGORY_ORDER: readonly Category[] = [
  'query_text',
  'slowlog_args',
  'current_ops',
  'object_names',
  'identity_metadata',
  'client_metadata',
  'config_posture',
];

export const CATEGORY_LABEL: Record<Category, string> = {
  query_text: 'Query text',
  slowlog_args: 'Slow-log arguments',
  current_ops: 'Current operations',
  object_names: 'Object names',
  identity_metadata: 'Users, roles, privileges',
  client_metadata: 'Client host, application, session',
  config_posture: 'Configuration and security posture',
};

/** A short name for a chip's category tag (the Live feed's collapsed entries); the full name is in CATEGORY_LABEL. */
export const CATEGORY_SHORT: Record<Category, string> = {
  query_text: 'Query',
  slowlog_args: 'Slow-log',
  current_ops: 'Ops',
  object_names: 'Objects',
  identity_metadata: 'Identity',
  client_metadata: 'Client',
  config_posture: 'Config',
};

export const ACTION_LABEL: Record<Action, string> = { collect: 'Collected', redact: 'Redacted', exclude: 'Excluded' };
export const ACTION_VERB: Record<Action, string> = { collect: 'Collect', redact: 'Redact', exclude: 'Exclude' };
/** What redaction does to the category, in a few words (docs/policy.md has the full table). */
export const REDACT_EFFECT: Record<Category, string> = {
  query_text: 'literals replaced by ?',
  slowlog_args: 'command, argument count and lengths only',
  current_ops: 'values replaced, keys kept',
  object_names: 'hashed with this agent’s key',
  identity_metadata: 'hashed with this agent’s key',
  client_metadata: 'hashed with this agent’s key',
  config_posture: 'values replaced, names kept',
};

/** What kind of connection failure a verdict (or an unread signal's detail) is, in plain words. */
export type FailureKind = 'dns' | 'refused' | 'network' | 'timeout' | 'tls' | 'authentication' | 'unreachable' | 'config';
export const FAILURE: Record<FailureKind, { title: string; next: string }> = {
  dns: { title: 'Host name not found', next: 'Check the host name for typos, and that this machine’s DNS can resolve it (try it from this host).' },
  refused: {
    title: 'Connection refused',
    next: 'The host answered but nothing listens there: check the port, and that the database server is running and accepts TCP connections.',
  },
  network: { title: 'Network unreachable', next: 'This machine has no route to that host: check the address, VPN and routing.' },
  timeout: {
    title: 'No answer in time',
    next: 'Check that a firewall or security group lets this machine reach the port, and that the server is not overloaded.',
  },
  tls: { title: 'Secure connection failed', next: 'Check the TLS mode and the CA file; verify-full also checks that the host name matches the certificate.' },
  authentication: {
    title: 'Sign-in refused',
    next: 'Check the user and the password (or the environment variable that holds it), and that the server allows this user from this host.',
  },
  unreachable: { title: 'Server unreachable', next: 'Check the address, the port and any firewall between this machine and the server.' },
  config: { title: 'Configuration problem', next: 'Fix the setting named in the details below.' },
};

/**
 * A signal's unavailable detail in plain words for a heading or a chart tile: a cycle that
 * never reached the target says why (host name not found, refused, …), never the driver's
 * code; any other detail is shown as the agent wrote it.
 */
export function plainUnavailable(reason: string, detail: string): string {
  const m = /^target not collected: ([\s\S]*)$/.exec(detail);
  if (m === null) return detail;
  return `${FAILURE[failureKind(reason === 'timeout' ? 'timeout' : 'unreachable', m[1] ?? '')].title.toLowerCase()}, the target was not reached`;
}

/** The failure kind from the agent's verdict and its one-line detail (driver error codes are matched here, never shown as headings). */
export function failureKind(verdict: 'unreachable' | 'tls' | 'authentication' | 'timeout' | 'config' | 'error' | string, detail: string): FailureKind {
  if (verdict === 'authentication') return 'authentication';
  if (verdict === 'tls') return 'tls';
  if (verdict === 'config') return 'config';
  if (/\b(ENOTFOUND|EAI_AGAIN|EAI_NONAME)\b|getaddrinfo|does not resolve/i.test(detail)) return 'dns';
  if (/\bECONNREFUSED\b|connection refused/i.test(detail)) return 'refused';
  if (/\b(EHOSTUNREACH|ENETUNREACH)\b/.test(detail)) return 'network';
  if (verdict === 'timeout' || /\bETIMEDOUT\b|timed out|timeout/i.test(detail)) return 'timeout';
  if (/certificate|\bTLS\b|\bSSL\b/i.test(detail)) return 'tls';
  if (/authentication|password/i.test(detail)) return 'authentication';
  return 'unreachable';
}
