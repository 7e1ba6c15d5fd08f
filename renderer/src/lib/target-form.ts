/**
 * The Add target form's model: turns what the operator typed into the exact
 * `targets.create` parameters, validated with the contract's own schema so the
 * form and the agent can never disagree about what a valid target is.
 */
import type { z } from 'zod';
import { checkEngineFields, ENGINES, type Engine, TargetInputSchema } from '../../../contract/api.js';
import type { Params } from '../../../contract/api.js';

export { ENGINES, type Engine };

export type TargetInput = Params<'targets.create'>['target'];
export type PasswordMode = 'none' | 'env' | 'store';

export interface TargetFormValues {
  id: string;
  name: string;
  engine: Engine;
  host: string;
  port: string;
  user: string;
  database: string;
  service: string;
  passwordMode: PasswordMode;
  passwordEnv: string;
  password: string;
  intervalSeconds: string;
  /** '' keeps the engine's default TLS behaviour. */
  tlsMode: TlsMode | '';
  caFile: string;
}

export const TLS_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type TlsMode = (typeof TLS_MODES)[number];

export type FieldName =
  'id' | 'name' | 'engine' | 'host' | 'port' | 'user' | 'database' | 'service' | 'passwordEnv' | 'password' | 'intervalSeconds' | 'tlsMode' | 'caFile';
/** A message per field; `form` for a problem that belongs to no single field. */
export type FieldErrors = Partial<Record<FieldName | 'form', string>>;

export const ENGINE_LABEL: Record<Engine, string> = {
  postgres: 'PostgreSQL',
  mssql: 'Microsoft SQL Server',
  mongodb: 'MongoDB',
  redis: 'Redis / Valkey',
  oracle: 'Oracle',
};

export const DEFAULT_PORT: Record<Engine, number> = { postgres: 5432, mssql: 1433, mongodb: 27017, redis: 6379, oracle: 1521 };

export const emptyForm = (): TargetFormValues => ({
  id: '',
  name: '',
  engine: 'postgres',
  host: '',
  port: String(DEFAULT_PORT.postgres),
  user: '',
  database: '',
  service: '',
  passwordMode: 'none',
  passwordEnv: '',
  password: '',
  intervalSeconds: '60',
  tlsMode: '',
  caFile: '',
});

/** Which of `database`/`service` the engine requires, asked of the target module's own rule. */
export function requiredFields(engine: Engine): { database: boolean; service: boolean } {
  const missing = new Set<string>();
  const ctx = { addIssue: (issue: { path?: PropertyKey[] }) => missing.add(String(issue.path?.[0])) } as unknown as z.RefinementCtx;
  checkEngineFields({ engine }, ctx);
  return { database: missing.has('database'), service: missing.has('service') };
}

function wholeNumber(text: string): number | undefined {
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

const FIELD_OF: Record<string, FieldName> = {
  id: 'id',
  name: 'name',
  engine: 'engine',
  host: 'host',
  port: 'port',
  user: 'user',
  database: 'database',
  service: 'service',
  password: 'passwordEnv',
  intervalSeconds: 'intervalSeconds',
  tls: 'tlsMode',
};

/** Friendlier words for the schema's range checks; other messages are the schema's own. */
const RANGE_MESSAGE: Partial<Record<FieldName, string>> = {
  port: 'must be a whole number from 1 to 65535',
  intervalSeconds: 'must be a whole number of seconds from 10 to 86400',
  host: 'is required (at most 255 characters)',
  user: 'is required (at most 128 characters)',
  name: 'at most 200 characters',
  passwordEnv: 'must be an environment variable name: letters, digits and "_", not starting with a digit',
};

/**
 * The usual ways a host is pasted wrong (a URL, host:port, a stray space), named
 * so the operator knows what to change; the agent would only fail to connect.
 */
function hostProblem(host: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(host)) return 'is a host name or IP address only, without a scheme such as postgres:// (e.g. db1.internal)';
  if (/\s/.test(host)) return 'must not contain spaces';
  const hostPort = /^([^:[\]]+|\[[^\]]+\]):(\d+)$/.exec(host);
  if (hostPort) return `is the host name only: put ${hostPort[2]} in the Port field`;
  if (/[/?#@]/.test(host)) return 'is a host name or IP address only (no path, user or query), e.g. db1.internal';
  return undefined;
}

/** Validates the form; returns either the target to create or a message per field. */
export function validateTargetForm(v: TargetFormValues): { target: TargetInput; errors?: undefined } | { target?: undefined; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const need = requiredFields(v.engine);
  const port = wholeNumber(v.port);
  const interval = wholeNumber(v.intervalSeconds);
  const raw: Record<string, unknown> = {
    id: v.id.trim(),
    engine: v.engine,
    host: v.host.trim(),
    port,
    user: v.user.trim(),
    intervalSeconds: interval,
  };
  if (v.name.trim() !== '') raw.name = v.name.trim();
  if (need.database && v.database.trim() !== '') raw.database = v.database.trim();
  if (need.service && v.service.trim() !== '') raw.service = v.service.trim();
  if (v.passwordMode === 'env') raw.password = { env: v.passwordEnv.trim() };
  if (v.tlsMode !== '' || v.caFile.trim() !== '') {
    const tls: Record<string, string> = {};
    if (v.tlsMode !== '') tls.mode = v.tlsMode;
    if (v.caFile.trim() !== '') tls.caFile = v.caFile.trim();
    raw.tls = tls;
  }

  // Presence first, for every field at once (the schema stops at the first kind of problem).
  if (raw.id === '') errors.id = 'is required';
  const badHost = raw.host === '' ? 'is required' : hostProblem(String(raw.host));
  if (badHost !== undefined) errors.host = badHost;
  if (raw.user === '') errors.user = 'is required';
  if (port === undefined) errors.port = RANGE_MESSAGE.port;
  if (interval === undefined) errors.intervalSeconds = RANGE_MESSAGE.intervalSeconds;
  if (need.database && raw.database === undefined) errors.database = `is required for ${ENGINE_LABEL[v.engine]}`;
  if (need.service && raw.service === undefined) errors.service = `is required for ${ENGINE_LABEL[v.engine]}`;
  if (v.passwordMode === 'env' && v.passwordEnv.trim() === '') errors.passwordEnv = 'is required: the name of the variable that holds the password';
  if (v.passwordMode === 'store' && v.password === '') errors.password = 'is required, or choose another password option';

  const parsed = TargetInputSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = issue.path[0] === 'tls' && issue.path[1] === 'caFile' ? 'caFile' : FIELD_OF[String(issue.path[0])];
      if (field === undefined || errors[field] !== undefined) continue;
      errors[field] = RANGE_MESSAGE[field] ?? issue.message;
    }
  }
  if (!parsed.success && Object.keys(errors).length === 0) errors.form = parsed.error.issues[0]?.message ?? 'the target is not valid';
  if (!parsed.success || Object.keys(errors).length > 0) return { errors };
  return { target: parsed.data };
}
