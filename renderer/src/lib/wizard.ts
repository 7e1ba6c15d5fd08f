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

/** A cloud binding as the wizard keeps it (a secret only as {env}; a typed one stays in the page's memory). */
export type CloudBinding = Record<string, unknown>;

/** True when the binding expects a secret the agent seals (typed in the page, never kept in the draft). */
export function cloudNeedsStoredSecret(b: CloudBinding | null): boolean {
  return b !== null && b.secret === undefined && !(b.provider === 'aws' && b.auth === 'profile');
}

/** The target's own policy: the choices that differ from what it inherits, so later workspace changes still reach it. */
export function ownPolicy<C extends string, A extends string>(choices: Record<C, A>, inherited: Record<C, A>): Partial<Record<C, A>> {
  const own: Partial<Record<C, A>> = {};
  for (const c of Object.keys(inherited) as C[]) if (choices[c] !== undefined && choices[c] !== inherited[c]) own[c] = choices[c];
  return own;
}

/**
 * Where a resumed draft continues: where it was left, unless a secret typed earlier is
 * needed (it is never kept in the draft): the credentials step for a password to store,
 * the cloud step for a cloud secret to store.
 */
export function resumeStep(step: Step, form: TargetFormValues, cloud: CloudBinding | null, cloudSecret: string): Step {
  const at = STEPS.indexOf(step);
  if (form.passwordMode === 'store' && form.password === '' && at > STEPS.indexOf('credentials')) return 'credentials';
  if (cloudNeedsStoredSecret(cloud) && cloudSecret === '' && at > STEPS.indexOf('cloud')) return 'cloud';
  return step;
}

/**
 * The secrets typed in the wizard, held in this page's memory only (a module variable:
 * they survive switching screens, which unmounts the wizard, but not a reload, and are
 * never written to storage). Cleared at Finish and Cancel.
 */
export const heldSecrets = { password: '', cloudSecret: '' };

/**
 * The wizard's draft, kept in the window's localStorage so that switching screens or
 * reloading resumes where the operator was. Never a password or a cloud secret: they
 * stay in the page's memory and reach the agent with each draft call and at Finish,
 * where they are sealed. Nothing is stored in the agent before Finish.
 */
export interface WizardDraft {
  step: Step;
  form: Omit<TargetFormValues, 'password'>;
  policyDraft: Record<string, string> | null;
  cloud: CloudBinding | null;
}
export const DRAFT_KEY = 'logstag.wizard.draft.v2';

export function saveDraft(storage: Pick<Storage, 'setItem'>, d: WizardDraft): void {
  const { password: _never, ...form } = d.form as TargetFormValues;
  // A binding holds a secret only as a variable name; anything else is dropped, never written.
  const cloud = d.cloud !== null && d.cloud.secret !== undefined && !isEnvRef(d.cloud.secret) ? null : d.cloud;
  try {
    storage.setItem(DRAFT_KEY, JSON.stringify({ ...d, form, cloud }));
  } catch {
    // Storage full or disabled: the draft then lives as long as the screen.
  }
}

const isEnvRef = (v: unknown): boolean =>
  v !== null && typeof v === 'object' && Object.keys(v).length === 1 && typeof (v as { env?: unknown }).env === 'string';

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
  const cloud = d.cloud !== null && typeof d.cloud === 'object' && !Array.isArray(d.cloud) ? (d.cloud as CloudBinding) : null;
  return {
    step: d.step,
    form,
    policyDraft: d.policyDraft !== null && typeof d.policyDraft === 'object' ? (d.policyDraft as Record<string, string>) : null,
    cloud: cloud !== null && cloud.secret !== undefined && !isEnvRef(cloud.secret) ? null : cloud,
  };
}
