import { request } from 'node:https';
import type { AzureBinding } from '../binding.js';
import type { CloudIdentity } from '../provider.js';
import { managementUrl } from './endpoints.js';
import { errorCodeOf } from './pipeline.js';
import type { AzureSession } from './session.js';

/**
 * Whether the service principal can change anything on the resource, from the
 * caller's own effective permissions: GET <resource>/providers/Microsoft.Authorization/permissions
 * (https://learn.microsoft.com/rest/api/authorization/permissions/list-for-resource).
 * Any identity may list its own permissions where it holds a role that grants
 * read on the resource ("*" + "/read"); Monitoring Reader does.
 */

// Actions of the Monitoring Reader role beyond "*/read": a log query and support tickets; neither changes a resource.
const MONITORING_READER_EXTRAS = new Set(['microsoft.operationalinsights/workspaces/search/action', 'microsoft.support/*']);

interface Permission {
  actions?: string[];
  notActions?: string[];
  dataActions?: string[];
  notDataActions?: string[];
}

const isRead = (a: string): boolean => /(^|\/)read$/i.test(a) || a === '*/read';

/** The actions that can change something, for the readiness page. */
export function writeActions(perms: readonly Permission[]): string[] {
  const out = new Set<string>();
  for (const p of perms) {
    for (const a of p.actions ?? []) if (!isRead(a) && !MONITORING_READER_EXTRAS.has(a.toLowerCase())) out.add(a);
    for (const a of p.dataActions ?? []) if (!isRead(a)) out.add(a);
  }
  return [...out];
}

/** The `appid` claim of the access token: which application the agent authenticated as (the token is not verified, only read). */
export function appIdOf(token: string): string | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { appid?: unknown; azp?: unknown };
    const id = claims.appid ?? claims.azp;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

interface Answer {
  status: number;
  headers: { get(n: string): string | undefined };
  body: string;
}

/** A GET through the guarded agent (no SDK for this one call: the metrics SDK has no ARM client). */
function get(session: AzureSession, url: string, token: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'GET', agent: session.ctx.egress.agent, headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, timeout: 15_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const h = res.headers;
          resolve({
            status: res.statusCode ?? 0,
            headers: {
              get: (n) => {
                const v = h[n.toLowerCase()];
                return Array.isArray(v) ? v[0] : v;
              },
            },
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 15 s')));
    req.on('error', reject);
    req.end();
  });
}

export async function azureIdentity(session: AzureSession, b: AzureBinding): Promise<CloudIdentity> {
  const token = await session.token();
  const principal = appIdOf(token) ?? b.clientId;
  const url = `${managementUrl(b)}${session.resourceId}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01`;
  const statement = `GET Microsoft.Authorization/permissions ${session.resourceId}`;
  const started = performance.now();
  const entry = { time: new Date().toISOString(), targetId: session.ctx.targetId, engine: 'azure', statement };
  let answer: Answer;
  try {
    answer = await get(session, url, token);
  } catch (err) {
    const code = (err as { code?: string }).code;
    session.ctx.audit.record({
      ...entry,
      durationMs: Math.round(performance.now() - started),
      outcome: code === 'LOGSTAG_EGRESS_REFUSED' ? 'refused' : 'error',
      code: code ?? 'network',
    });
    return { principal, readOnly: 'unknown', reasons: [`its permissions could not be read: ${(err as Error).message}`] };
  }
  const durationMs = Math.round(performance.now() - started);
  if (answer.status !== 200) {
    const code = errorCodeOf(answer.status, answer.headers, answer.body);
    session.ctx.audit.record({ ...entry, durationMs, outcome: 'error', code });
    return {
      principal,
      readOnly: 'unknown',
      reasons: [`Azure did not let the service principal list its own permissions on the resource (HTTP ${answer.status} ${code})`],
    };
  }
  session.ctx.audit.record({ ...entry, durationMs, outcome: 'ok' });
  let perms: Permission[];
  try {
    perms = (JSON.parse(answer.body) as { value?: Permission[] }).value ?? [];
  } catch {
    return { principal, readOnly: 'unknown', reasons: ['the permissions answer was not JSON'] };
  }
  const writes = writeActions(perms);
  if (writes.length > 0) return { principal, readOnly: 'no', reasons: writes.map((a) => `it is granted ${a} on the resource`) };
  return {
    principal,
    readOnly: 'yes',
    reasons: [
      'its effective permissions on the resource are read-only (listed by Microsoft.Authorization/permissions); a principal can only see its own rights at scopes it can read',
    ],
  };
}
