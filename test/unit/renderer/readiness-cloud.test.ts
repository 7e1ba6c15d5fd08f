// The readiness item for cloud identities: read-only where the provider lets the
// agent tell, a clear "cannot be told" where it does not, never a green it did not earn.
import { describe, expect, it } from 'vitest';
import { cloudIdentityItem } from '../../../renderer/src/lib/readiness-cloud.js';
import type { PermissionOutcome } from '../../../renderer/src/lib/readiness.js';

type Target = Parameters<typeof cloudIdentityItem>[0][number];
const target = (id: string, cloud?: Record<string, unknown>): Target => ({
  id,
  engine: 'postgres',
  name: id,
  host: 'h',
  port: 5432,
  user: 'u',
  database: 'd',
  intervalSeconds: 60,
  password: 'env',
  policy: {},
  ...(cloud ? { cloud } : {}),
});
const checked = (readOnly: 'yes' | 'no' | 'unknown', reasons: string[] = []): PermissionOutcome => ({
  report: {
    identity: { user: 'u', isAdministrator: false, reasons: [], serverVersion: '15' },
    items: [],
    script: '',
    cloud: { provider: 'gcp', region: 'europe-west1', identity: { principal: 'mon@p.iam.gserviceaccount.com', readOnly, reasons }, items: [], script: '' },
  },
});

describe('readiness: cloud identities', () => {
  const bound = target('a', { provider: 'gcp' });
  it('nothing to check without a binding', () => {
    expect(cloudIdentityItem([target('x')], new Map())).toMatchObject({ state: 'pass', detail: expect.stringMatching(/no cloud identity/) });
  });
  it('fails for an identity that can change resources, naming what it can do', () => {
    const item = cloudIdentityItem([bound], new Map([['a', checked('no', ['cloudsql.instances.update'])]]));
    expect(item).toMatchObject({ state: 'fail', detail: expect.stringContaining('a (cloudsql.instances.update)') });
  });
  it('passes only when the provider confirmed read-only; says so when it cannot tell; waits when unchecked', () => {
    expect(cloudIdentityItem([bound], new Map([['a', checked('yes')]])).state).toBe('pass');
    expect(cloudIdentityItem([bound], new Map([['a', checked('unknown', ['AWS does not let a principal read its own policies'])]]))).toMatchObject({
      state: 'unknown',
      detail: expect.stringContaining('AWS does not let a principal read its own policies'),
    });
    expect(cloudIdentityItem([bound], new Map([['a', { error: 'unreachable' }]])).state).toBe('pending');
  });
});
