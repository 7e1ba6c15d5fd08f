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
  ok: 'All signals available',
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
