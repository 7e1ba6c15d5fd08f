/**
 * The wizard's cloud step model: what the operator typed → the target's cloud
 * binding, validated with the binding's own schema (the agent's), so the form and
 * the agent never disagree. The secret is never part of the binding sent: it is
 * an environment variable name, or a value sealed by targets.setCloudSecret.
 */
import { CLOUD_PROVIDERS, CloudBindingSchema, type CloudProviderId, type Engine, SERVICES_BY_ENGINE, SERVICES_BY_PROVIDER } from '../../../contract/api.js';

export type { CloudProviderId };
export const PROVIDERS: readonly CloudProviderId[] = CLOUD_PROVIDERS;
export const PROVIDER_LABEL: Record<CloudProviderId, string> = { aws: 'Amazon Web Services', azure: 'Microsoft Azure', gcp: 'Google Cloud' };

export const SERVICE_LABEL: Record<string, string> = {
  rds: 'Amazon RDS',
  aurora: 'Amazon Aurora',
  elasticache: 'Amazon ElastiCache',
  documentdb: 'Amazon DocumentDB',
  'sql-database': 'Azure SQL Database',
  'postgresql-flexible': 'Azure Database for PostgreSQL (flexible server)',
  'redis-cache': 'Azure Cache for Redis',
  cloudsql: 'Cloud SQL',
  'memorystore-redis': 'Memorystore for Redis',
};

/** The managed services a provider offers for this engine (empty: no binding possible). */
export const servicesFor = (provider: CloudProviderId, engine: Engine): string[] =>
  SERVICES_BY_PROVIDER[provider].filter((s) => (SERVICES_BY_ENGINE[engine] ?? []).includes(s));

export const providersFor = (engine: Engine): CloudProviderId[] => PROVIDERS.filter((p) => servicesFor(p, engine).length > 0);

export interface CloudFormValues {
  enabled: boolean;
  provider: CloudProviderId;
  region: string;
  service: string;
  /** AWS */
  resourceId: string;
  auth: 'access_key' | 'profile';
  accessKeyId: string;
  profile: string;
  /** Azure */
  subscriptionId: string;
  resourceGroup: string;
  resourceName: string;
  tenantId: string;
  clientId: string;
  /** Google Cloud */
  projectId: string;
  instanceId: string;
  /** The secret: an environment variable, or a value the agent seals. */
  secretMode: 'env' | 'store';
  secretEnv: string;
  secret: string;
}

export type CloudField = Exclude<keyof CloudFormValues, 'enabled'>;
export type CloudErrors = Partial<Record<CloudField | 'form', string>>;

export const emptyCloudForm = (): CloudFormValues => ({
  enabled: false,
  provider: 'aws',
  region: '',
  service: '',
  resourceId: '',
  auth: 'access_key',
  accessKeyId: '',
  profile: '',
  subscriptionId: '',
  resourceGroup: '',
  resourceName: '',
  tenantId: '',
  clientId: '',
  projectId: '',
  instanceId: '',
  secretMode: 'store',
  secretEnv: '',
  secret: '',
});

/** What the provider calls the secret, for labels and messages. */
export const SECRET_LABEL: Record<CloudProviderId, string> = {
  aws: 'Secret access key',
  azure: 'Client secret',
  gcp: 'Service-account key (JSON)',
};

/** The fields shown for a provider, in order. */
export function cloudFields(v: CloudFormValues): CloudField[] {
  const common: CloudField[] = ['provider', 'service', 'region'];
  if (v.provider === 'aws') return [...common, 'resourceId', 'auth', ...(v.auth === 'profile' ? (['profile'] as const) : (['accessKeyId'] as const))];
  if (v.provider === 'azure') return [...common, 'subscriptionId', 'resourceGroup', 'resourceName', 'tenantId', 'clientId'];
  return [...common, 'projectId', 'instanceId'];
}

/** Whether the binding carries a secret in cloud.secret (an AWS profile brings its own). */
export const needsSecret = (v: CloudFormValues): boolean => !(v.provider === 'aws' && v.auth === 'profile');

export type CloudBindingInput = Record<string, unknown>;

/**
 * Validates the step. `secretStored`: a secret was already sealed for this binding
 * (leaving the field empty keeps it). Returns the binding to save, or a message per field.
 */
export function validateCloudForm(
  v: CloudFormValues,
  engine: Engine,
  secretStored = false,
): { binding: CloudBindingInput | null; errors?: undefined } | { binding?: undefined; errors: CloudErrors } {
  if (!v.enabled) return { binding: null };
  const errors: CloudErrors = {};
  const t = (s: string): string => s.trim();
  const raw: CloudBindingInput = { provider: v.provider, region: t(v.region), service: v.service };
  if (v.provider === 'aws') {
    Object.assign(raw, { resourceId: t(v.resourceId), auth: v.auth });
    if (v.auth === 'profile') raw.profile = t(v.profile);
    else raw.accessKeyId = t(v.accessKeyId);
  } else if (v.provider === 'azure') {
    Object.assign(raw, {
      subscriptionId: t(v.subscriptionId),
      resourceGroup: t(v.resourceGroup),
      resourceName: t(v.resourceName),
      tenantId: t(v.tenantId),
      clientId: t(v.clientId),
    });
  } else {
    Object.assign(raw, { projectId: t(v.projectId), instanceId: t(v.instanceId) });
  }
  if (needsSecret(v) && v.secretMode === 'env') raw.secret = { env: t(v.secretEnv) };

  // Presence first, for every shown field at once.
  for (const f of cloudFields(v)) {
    if (f === 'provider' || f === 'auth') continue;
    if (t(String(v[f])) === '') errors[f] = f === 'service' ? 'choose the managed service' : 'is required';
  }
  if (v.service !== '' && !servicesFor(v.provider, engine).includes(v.service))
    errors.service = `is not one of the ${PROVIDER_LABEL[v.provider]} services for this engine`;
  if (needsSecret(v)) {
    if (v.secretMode === 'env' && t(v.secretEnv) === '') errors.secretEnv = 'is required: the name of the variable that holds the secret';
    if (v.secretMode === 'store' && v.secret === '' && !secretStored) errors.secret = 'is required: it is sealed on this machine and never shown again';
    if (v.provider === 'gcp' && v.secretMode === 'store' && v.secret !== '') {
      try {
        const key = JSON.parse(v.secret) as { type?: unknown };
        if (key.type !== 'service_account') errors.secret = 'must be a service-account key file (JSON with "type": "service_account")';
      } catch {
        errors.secret = 'must be the JSON key file exactly as downloaded';
      }
    }
  }
  const parsed = CloudBindingSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const f = issue.path[0] === 'secret' ? 'secretEnv' : (issue.path[0] as CloudField | undefined);
      if (f === undefined || !(f in v)) {
        errors.form ??= issue.message;
        continue;
      }
      errors[f] ??= issue.message;
    }
  }
  if (Object.keys(errors).length > 0) return { errors };
  // The agent fills its defaults (lookback); the form sends only what the operator chose.
  return { binding: raw };
}
