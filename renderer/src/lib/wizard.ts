/**
 * The setup wizard's model: its steps, which form fields each step owns, and the
 * `targets.update` patch for a target the wizard already created. Validation is
 * the Add target form's (the contract's own schema), split per step.
 */
import type { Params } from '../../../contract/api.js';
import type { FieldErrors, FieldName, TargetFormValues, TargetInput } from './target-form.js';
import { validateTargetForm } from './target-form.js';

export const STEPS = ['engine', 'connection', 'credentials', 'test', 'permissions', 'cloud', 'review', 'done'] as const;
export type Step = (typeof STEPS)[number];

export const STEP_LABEL: Record<Step, string> = {
  engine: 'Engine',
  connection: 'Connection',
  credentials: 'Credentials',
  test: 'Test connection',
  permissions: 'Permissions',
  cloud: 'Cloud metrics',
  review: 'Sensitive categories',
  done: 'Save',
};

/** The form fields each step owns (the later steps work on the saved target). */
export const STEP_FIELDS: Partial<Record<Step, readonly FieldName[]>> = {
  engine: ['engine'],
  connection: ['id', 'name', 'host', 'port', 'database', 'service', 'tlsMode', 'caFile'],
  credentials: ['user', 'passwordEnv', 'password', 'intervalSeconds'],
};

/**
 * The errors that belong to `step`, with the whole form validated (so cross-field
 * rules still apply). Fields of later steps are not reported yet: they are left
 * out by checking a copy where they hold placeholder valid values.
 */
export function validateStep(step: Step, v: TargetFormValues): FieldErrors {
  const own = STEP_FIELDS[step];
  if (own === undefined) return {};
  const probe: TargetFormValues = { ...v };
  const idx = STEPS.indexOf(step);
  // Later steps not reached yet: neutral values so their emptiness is not this step's problem.
  if (idx < STEPS.indexOf('credentials')) {
    probe.user = probe.user.trim() === '' ? 'placeholder' : probe.user;
    probe.passwordMode = 'none';
    probe.intervalSeconds = /^\d+$/.test(probe.intervalSeconds.trim()) ? probe.intervalSeconds : '60';
  }
  if (idx < STEPS.indexOf('connection')) {
    probe.id = probe.id.trim() === '' ? 'placeholder' : probe.id;
    probe.host = probe.host.trim() === '' ? 'placeholder' : probe.host;
    probe.database = probe.database.trim() === '' ? 'placeholder' : probe.database;
    probe.service = probe.service.trim() === '' ? 'placeholder' : probe.service;
  }
  const result = validateTargetForm(probe);
  if (result.errors === undefined) return {};
  const out: FieldErrors = {};
  for (const f of own) if (result.errors[f] !== undefined) out[f] = result.errors[f];
  if (Object.keys(out).length === 0 && result.errors.form !== undefined && step === 'credentials') out.form = result.errors.form;
  return out;
}

export type TargetPatch = Params<'targets.update'>['patch'];

/** What `targets.update` needs to bring a created target to the form's values (id and engine never change). */
export function patchFor(target: TargetInput): TargetPatch {
  const { id: _id, engine: _engine, policy: _policy, ...rest } = target;
  return rest as TargetPatch;
}

/** The plain-words verdict of a connection test. */
export function verdictMessage(verdict: 'ok' | 'unreachable' | 'tls' | 'authentication' | 'timeout' | 'config'): { tone: 'ok' | 'bad'; text: string } {
  switch (verdict) {
    case 'ok':
      return { tone: 'ok', text: 'Connected: the agent can reach the server and sign in.' };
    case 'unreachable':
      return { tone: 'bad', text: 'Unreachable: nothing answered at that host and port. Check the address, the port and any firewall.' };
    case 'tls':
      return { tone: 'bad', text: 'TLS problem: the secure connection could not be set up. Check the TLS mode and the CA file.' };
    case 'authentication':
      return { tone: 'bad', text: 'Authentication failed: the server refused the user or password.' };
    case 'timeout':
      return { tone: 'bad', text: 'Timed out: the server did not answer in time.' };
    case 'config':
      return { tone: 'bad', text: 'Configuration problem: the target settings are not usable as they are.' };
  }
}

/**
 * The wizard's draft, kept in the window's localStorage so that switching screens or
 * reloading resumes where the operator was. Never a password: a typed password is
 * sealed by the agent at the credentials step and forgotten by the page.
 */
export interface WizardDraft {
  step: Step;
  form: Omit<TargetFormValues, 'password'>;
  /** The id of the target the wizard saved (from the credentials step on). */
  createdId: string | null;
  passwordStored: boolean;
  policyDraft: Record<string, string> | null;
}
export const DRAFT_KEY = 'logstag.wizard.draft.v1';

export function saveDraft(storage: Pick<Storage, 'setItem'>, d: WizardDraft): void {
  const { password: _never, ...form } = d.form as TargetFormValues;
  try {
    storage.setItem(DRAFT_KEY, JSON.stringify({ ...d, form }));
  } catch {
    // Storage full or disabled: the draft then lives as long as the screen.
  }
}

/** The stored draft, or null when there is none or it is not one this version wrote. */
export function loadDraft(storage: Pick<Storage, 'getItem'>, empty: TargetFormValues): WizardDraft | null {
  let raw: unknown;
  try {
    raw = JSON.parse(storage.getItem(DRAFT_KEY) ?? 'null');
  } catch {
    return null;
  }
  if (raw === null || typeof raw !== 'object') return null;
  const d = raw as Partial<WizardDraft>;
  if (typeof d.step !== 'string' || !(STEPS as readonly string[]).includes(d.step) || d.form === null || typeof d.form !== 'object') return null;
  const form: TargetFormValues = { ...empty };
  for (const k of Object.keys(empty) as (keyof TargetFormValues)[]) {
    const v = (d.form as Record<string, unknown>)[k];
    if (k !== 'password' && typeof v === typeof empty[k]) (form as unknown as Record<string, unknown>)[k] = v;
  }
  return {
    step: d.step,
    form,
    createdId: typeof d.createdId === 'string' ? d.createdId : null,
    passwordStored: d.passwordStored === true,
    policyDraft: d.policyDraft !== null && typeof d.policyDraft === 'object' ? (d.policyDraft as Record<string, string>) : null,
  };
}
