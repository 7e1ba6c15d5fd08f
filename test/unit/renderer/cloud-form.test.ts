// The wizard's cloud step model: what the operator typed becomes a binding the
// agent's own schema accepts, or a message per field.
import { describe, expect, it } from 'vitest';
import { CloudBindingSchema } from '../../../collectors/cloud/binding.js';
import { emptyCloudForm, providersFor, servicesFor, validateCloudForm } from '../../../renderer/src/lib/cloud-form.js';

const awsForm = () => ({
  ...emptyCloudForm(),
  enabled: true,
  provider: 'aws' as const,
  region: 'eu-west-1',
  service: 'rds',
  resourceId: 'orders-1',
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secret: 'wJalr',
});

describe('cloud step', () => {
  it('offers only the providers and services that run the engine', () => {
    expect(providersFor('mongodb')).toEqual(['aws']);
    expect(providersFor('oracle')).toEqual(['aws']);
    expect(servicesFor('azure', 'redis')).toEqual(['redis-cache']);
    expect(servicesFor('gcp', 'postgres')).toEqual(['cloudsql']);
  });

  it('no binding when not enabled', () => {
    expect(validateCloudForm(emptyCloudForm(), 'postgres')).toEqual({ binding: null });
  });

  it('builds a binding the agent accepts, without the secret value (sealed separately)', () => {
    const r = validateCloudForm(awsForm(), 'postgres');
    expect(r.errors).toBeUndefined();
    expect(r.binding).toEqual({
      provider: 'aws',
      region: 'eu-west-1',
      service: 'rds',
      resourceId: 'orders-1',
      auth: 'access_key',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    });
    expect(CloudBindingSchema.safeParse(r.binding).success).toBe(true);
    const env = validateCloudForm({ ...awsForm(), secretMode: 'env', secretEnv: 'AWS_SECRET' }, 'postgres');
    expect(env.binding).toMatchObject({ secret: { env: 'AWS_SECRET' } });
  });

  it('reports every missing or malformed field at once, in plain words', () => {
    const r = validateCloudForm({ ...emptyCloudForm(), enabled: true, provider: 'azure', region: 'West Europe', subscriptionId: 'nope' }, 'postgres');
    expect(r.errors).toMatchObject({
      service: 'choose the managed service',
      resourceGroup: 'is required',
      tenantId: 'is required',
      clientId: 'is required',
      secret: expect.stringMatching(/is required/),
      region: expect.stringMatching(/must be an Azure region name/),
      subscriptionId: expect.stringMatching(/must be a subscription id/),
    });
  });

  it('a stored secret may be left empty; a service of another engine is refused; a GCP key must be a service-account key', () => {
    expect(validateCloudForm({ ...awsForm(), secret: '' }, 'postgres', true).errors).toBeUndefined();
    expect(validateCloudForm({ ...awsForm(), service: 'elasticache' }, 'postgres').errors?.service).toBe(
      'is not one of the Amazon Web Services services for this engine',
    );
    const gcp = {
      ...emptyCloudForm(),
      enabled: true,
      provider: 'gcp' as const,
      region: 'europe-west1',
      service: 'cloudsql',
      projectId: 'my-proj-1',
      instanceId: 'pg1',
    };
    expect(validateCloudForm({ ...gcp, secret: '{"type":"authorized_user"}' }, 'postgres').errors?.secret).toMatch(/service-account key/);
    expect(validateCloudForm({ ...gcp, secret: 'not json' }, 'postgres').errors?.secret).toMatch(/JSON key file/);
    expect(validateCloudForm({ ...gcp, secret: '{"type":"service_account"}' }, 'postgres').errors).toBeUndefined();
  });
});
