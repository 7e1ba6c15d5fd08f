import { z } from 'zod';
import { SecretRefSchema } from '../core/secret-ref.js';

/**
 * A target's optional cloud binding: which managed-service resource the database
 * is, where its provider publishes metrics, and the read-only identity used to
 * read them. The one secret (AWS secret access key, Azure client secret, GCP
 * service-account key JSON) is a SecretRef like every other secret: an
 * environment variable or a machine-bound vault blob, never plaintext.
 */

/** An https URL (http only for a loopback host: the tests' local responder). */
const EndpointUrl = z
  .url({ protocol: /^https?$/ })
  .refine((u) => {
    const url = new URL(u);
    return url.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  }, 'must be an https URL')
  .refine((u) => new URL(u).username === '' && new URL(u).password === '', 'must not carry credentials');

const common = {
  /**
   * Overrides the provider's metrics endpoint (a VPC/private endpoint, a sovereign
   * cloud, the test responder). The egress guard then admits this host instead of
   * the region's public endpoint.
   */
  endpoint: EndpointUrl.optional(),
  /** A PEM CA bundle to trust for the provider endpoints (a TLS-inspecting proxy, the test responder). */
  caFile: z.string().min(1).optional(),
  /** How far back each cycle reads (minutes); the dashboard shows the last hour. */
  lookbackMinutes: z.number().int().min(5).max(180).default(60),
};

export const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

export const AwsBindingSchema = z
  .object({
    provider: z.literal('aws'),
    region: z.string().regex(AWS_REGION, 'must be an AWS region code such as eu-west-1'),
    /** CloudWatch namespace family: AWS/RDS (rds, aurora), AWS/ElastiCache, AWS/DocDB. */
    service: z.enum(['rds', 'aurora', 'elasticache', 'documentdb']),
    /** DBInstanceIdentifier (rds, aurora instance), DBClusterIdentifier (documentdb) or CacheClusterId (elasticache). */
    resourceId: z.string().min(1).max(255),
    /** `access_key`: accessKeyId here, the secret access key in `secret`. `profile`: a named profile of the AWS shared config (it may assume a role). */
    auth: z.enum(['access_key', 'profile']).default('access_key'),
    accessKeyId: z
      .string()
      .regex(/^[A-Z0-9]{16,128}$/, 'must be an AWS access key id (AKIA…/ASIA…)')
      .optional(),
    profile: z.string().min(1).max(128).optional(),
    secret: SecretRefSchema.optional(),
    /** When the secret was last set (ISO time), for the rotation clock. */
    secretSetAt: z.iso.datetime({ offset: true }).optional(),
    /**
     * Overrides the STS endpoint (GetCallerIdentity, a profile's AssumeRole): a VPC
     * endpoint for STS is a host of its own, apart from the monitoring one; the test responder.
     */
    stsEndpoint: EndpointUrl.optional(),
    ...common,
  })
  .strict();

export const AzureBindingSchema = z
  .object({
    provider: z.literal('azure'),
    /** Azure region name (e.g. westeurope): the regional Azure Monitor metrics endpoint. */
    region: z.string().regex(/^[a-z][a-z0-9]{2,30}$/, 'must be an Azure region name such as westeurope'),
    subscriptionId: z.guid({ error: 'must be a subscription id (a GUID)' }),
    resourceGroup: z.string().min(1).max(90),
    /** Microsoft.Sql/servers/databases, Microsoft.DBforPostgreSQL/flexibleServers, Microsoft.Cache/redis. */
    service: z.enum(['sql-database', 'postgresql-flexible', 'redis-cache']),
    /** The resource name; for sql-database "server/database". */
    resourceName: z.string().min(1).max(260),
    tenantId: z.guid({ error: 'must be a tenant id (a GUID)' }),
    /** The service principal's application (client) id; its client secret is `secret`. */
    clientId: z.guid({ error: 'must be an application (client) id (a GUID)' }),
    secret: SecretRefSchema.optional(),
    secretSetAt: z.iso.datetime({ offset: true }).optional(),
    /** Overrides the Microsoft Entra authority (sovereign clouds, the test responder). */
    authorityHost: EndpointUrl.optional(),
    ...common,
  })
  .strict();

export const GcpBindingSchema = z
  .object({
    provider: z.literal('gcp'),
    /** The instance's region (e.g. europe-west1), shown and checked; Cloud Monitoring itself is a global API. */
    region: z.string().regex(/^[a-z]+-[a-z]+\d{1,2}$/, 'must be a Google Cloud region such as europe-west1'),
    projectId: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a Google Cloud project id'),
    /** cloudsql (PostgreSQL, SQL Server) or memorystore-redis. */
    service: z.enum(['cloudsql', 'memorystore-redis']),
    /** Cloud SQL instance name, or the Memorystore instance id. */
    instanceId: z.string().min(1).max(255),
    /** The service-account key file's JSON, sealed as one secret. */
    secret: SecretRefSchema.optional(),
    secretSetAt: z.iso.datetime({ offset: true }).optional(),
    /** Overrides the OAuth token endpoint (the test responder); otherwise the key file's token_uri must be Google's. */
    tokenEndpoint: EndpointUrl.optional(),
    ...common,
  })
  .strict();

export const CloudBindingSchema = z
  .discriminatedUnion('provider', [AwsBindingSchema, AzureBindingSchema, GcpBindingSchema], {
    error: 'provider must be "aws", "azure" or "gcp"',
  })
  .superRefine((b, ctx) => {
    // The secret itself may follow later (the app seals it with targets.setCloudSecret); a binding without it reports so each cycle.
    if (b.provider !== 'aws') return;
    if (b.auth === 'access_key') {
      if (b.accessKeyId === undefined) ctx.addIssue({ code: 'custom', path: ['accessKeyId'], message: 'is required with auth "access_key"' });
      if (b.profile !== undefined) ctx.addIssue({ code: 'custom', path: ['profile'], message: 'is only used with auth "profile"' });
    } else {
      if (b.profile === undefined) ctx.addIssue({ code: 'custom', path: ['profile'], message: 'is required with auth "profile"' });
      if (b.accessKeyId !== undefined || b.secret !== undefined)
        ctx.addIssue({ code: 'custom', path: ['accessKeyId'], message: 'access keys come from the profile with auth "profile"' });
    }
  });

/** What each provider calls the binding's secret, for messages. */
export const SECRET_NAMES: Record<CloudProviderId, string> = {
  aws: 'the secret access key',
  azure: "the service principal's client secret",
  gcp: 'the service-account key (JSON)',
};

export type CloudBinding = z.infer<typeof CloudBindingSchema>;
export type AwsBinding = z.infer<typeof AwsBindingSchema>;
export type AzureBinding = z.infer<typeof AzureBindingSchema>;
export type GcpBinding = z.infer<typeof GcpBindingSchema>;
export type CloudProviderId = CloudBinding['provider'];

/** Each provider's managed services, read off the binding schemas (one list, used by the agent and the window). */
export const SERVICES_BY_PROVIDER: Record<CloudProviderId, readonly string[]> = {
  aws: AwsBindingSchema.shape.service.options,
  azure: AzureBindingSchema.shape.service.options,
  gcp: GcpBindingSchema.shape.service.options,
};
export const CLOUD_PROVIDERS = Object.keys(SERVICES_BY_PROVIDER) as CloudProviderId[];

/** Which services fit which engine: a binding for the wrong kind of database is a configuration error. */
export const SERVICES_BY_ENGINE: Record<string, readonly string[]> = {
  postgres: ['rds', 'aurora', 'postgresql-flexible', 'cloudsql'],
  mssql: ['rds', 'sql-database', 'cloudsql'],
  mongodb: ['documentdb'],
  redis: ['elasticache', 'redis-cache', 'memorystore-redis'],
  oracle: ['rds'],
};
