/**
 * Where payloads go and where they wait: the Logstag destination and the spool.
 * One schema for the CLI's run config and the app's settings. Pure (zod only,
 * no Node APIs) so the API contract and the renderer can import it.
 */
import { z } from 'zod';
import { type SecretRef, SecretRefSchema } from '../collectors/core/secret-ref.js';

const LOOPBACK_HOST = /^(localhost|[a-z0-9-]+\.localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** Plaintext in a secret field gets a message that says what to do instead. */
const secretRef = (what: string) =>
  z.custom<SecretRef>((v) => SecretRefSchema.safeParse(v).success, {
    error: (iss) =>
      typeof iss.input === 'string'
        ? `plaintext ${what}s are refused; use {"env": "VAR"} or {"secret": "<blob from \`logstag-agent secret encrypt\`>"}`
        : 'must be {"env": "VAR"} or {"secret": "<blob>"}',
  });

export const DestinationUrlSchema = z
  .string()
  .max(2048)
  .refine((s) => URL.canParse(s), 'must be a URL')
  .superRefine((s, ctx) => {
    if (!URL.canParse(s)) return;
    const u = new URL(s);
    if (u.username !== '' || u.password !== '')
      ctx.addIssue({ code: 'custom', message: 'must not contain credentials (the API key goes in destination.apiKey)' });
    if (u.protocol === 'https:') return;
    if (u.protocol === 'http:' && LOOPBACK_HOST.test(u.hostname)) return; // a local test ingest server only
    ctx.addIssue({
      code: 'custom',
      message: u.protocol === 'http:' ? 'must use https (http is allowed only to a loopback address, for tests)' : 'must be an https URL',
    });
  });

export const ProxySchema = z
  .object({
    /** http://proxy:3128 (HTTPS is tunnelled with CONNECT) or https://proxy:… */
    url: z
      .string()
      .max(2048)
      .refine((s) => URL.canParse(s) && ['http:', 'https:'].includes(new URL(s).protocol), 'must be an http:// or https:// proxy URL')
      .refine(
        (s) => !URL.canParse(s) || (new URL(s).username === '' && new URL(s).password === ''),
        'must not contain credentials (use proxy.username and proxy.password)',
      ),
    username: z.string().min(1).max(256).optional(),
    password: secretRef('proxy password').optional(),
  })
  .strict()
  .refine((p) => p.password === undefined || p.username !== undefined, { message: 'password needs username', path: ['password'] });

export const DestinationSchema = z
  .object({
    /** The Logstag ingest endpoint the batches are POSTed to. */
    url: DestinationUrlSchema,
    apiKey: secretRef('API key'),
    /** When the API key was last set (ISO time); rotation is due 90 days later. */
    apiKeySetAt: z.iso.datetime({ offset: true }).optional(),
    /** PEM file of the CA(s) to trust for the destination instead of the system roots. */
    caFile: z.string().min(1).optional(),
    /** Extra check on top of the chain: SHA-256 of the destination's public key (SPKI), as "sha256/<base64>". */
    pin: z
      .string()
      .regex(/^sha256\/[A-Za-z0-9+/]{43}=$/, 'must be "sha256/<base64 of the SHA-256 of the certificate\'s public key>"')
      .optional(),
    proxy: ProxySchema.optional(),
    /** Accept a destination name that resolves to a private address (an on-premises endpoint). */
    allowPrivateAddress: z.boolean().default(false),
    /** Pacing of the shipper, so a backlog after an outage is replayed without flooding the link or the service. */
    maxBatchesPerSecond: z.number().positive().max(100).default(2),
    maxBytesPerSecond: z
      .number()
      .int()
      .min(16 * 1024)
      .max(1024 * 1024 * 1024)
      .default(1024 * 1024),
  })
  .strict();
export type Destination = z.infer<typeof DestinationSchema>;
export type DestinationInput = z.input<typeof DestinationSchema>;

export const DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024;

export const SpoolSettingsSchema = z
  .object({
    /** Directory of the spool; default `<agent home>/spool`. */
    dir: z.string().min(1).optional(),
    /** Cap on the spool's size on disk; the oldest payloads go first when it is reached. */
    maxBytes: z
      .number()
      .int()
      .min(1024 * 1024, 'must be at least 1048576 (1 MiB)')
      .max(1024 ** 4)
      .default(DEFAULT_SPOOL_MAX_BYTES),
  })
  .strict();
export type SpoolSettings = z.infer<typeof SpoolSettingsSchema>;

/** The destination without secret material, for logs and the UI. */
export function describeDestination(d: Pick<Destination, 'url'>): string {
  const u = new URL(d.url);
  return `${u.origin}${u.pathname}`;
}
