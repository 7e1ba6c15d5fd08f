/**
 * The server side of SCRAM-SHA-256 (RFC 5802 / RFC 7677) as mongod runs it over
 * saslStart / saslContinue (https://www.mongodb.com/docs/manual/core/security-scram/),
 * so tests authenticate the real driver with a real password exchange.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { Binary } from 'mongodb';

type Doc = Record<string, unknown>;

export interface ScramCredential {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

const hmac = (key: Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** What mongod stores for a user (SCRAM-SHA-256 keys), from the plaintext password. */
export function scramCredential(password: string): ScramCredential {
  const salt = randomBytes(28);
  const iterations = 15_000;
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = hmac(salted, 'Client Key');
  return { salt, iterations, storedKey: createHash('sha256').update(clientKey).digest(), serverKey: hmac(salted, 'Server Key') };
}

interface Conversation {
  user: string;
  clientFirstBare: string;
  serverFirst: string;
  nonce: string;
}

const text = (payload: unknown): string =>
  payload instanceof Binary ? Buffer.from(payload.buffer).toString('utf8') : Buffer.from(payload as Uint8Array).toString('utf8');
const attrs = (msg: string): Record<string, string> => Object.fromEntries(msg.split(',').map((p) => [p.slice(0, 1), p.slice(2)]));
const failed = { ok: 0, errmsg: 'Authentication failed.', code: 18, codeName: 'AuthenticationFailed' };

/** One SCRAM exchange per connection; `lookup` finds the stored credential of "db.user". */
export class ScramServer {
  private conversation: Conversation | undefined;

  constructor(private readonly lookup: (user: string) => ScramCredential | undefined) {}

  start(cmd: Doc, db: string): Doc {
    if (cmd['mechanism'] !== 'SCRAM-SHA-256')
      return { ok: 0, errmsg: 'Received authentication for mechanism which is not enabled', code: 334, codeName: 'MechanismUnavailable' };
    const clientFirst = text(cmd['payload']);
    const bare = clientFirst.replace(/^n,,/, '');
    const a = attrs(bare);
    const user = `${db}.${(a['n'] ?? '').replace(/=2C/g, ',').replace(/=3D/g, '=')}`;
    const cred = this.lookup(user);
    const nonce = `${a['r'] ?? ''}${randomBytes(18).toString('base64')}`;
    // An unknown user gets a plausible challenge and fails at the proof, as mongod does.
    const serverFirst = `r=${nonce},s=${(cred?.salt ?? randomBytes(28)).toString('base64')},i=${cred?.iterations ?? 15_000}`;
    this.conversation = { user, clientFirstBare: bare, serverFirst, nonce };
    return { ok: 1, conversationId: 1, done: false, payload: new Binary(Buffer.from(serverFirst)) };
  }

  /** Returns the reply and, when the proof is right, the authenticated "db.user". */
  continue(cmd: Doc): { reply: Doc; user?: string } {
    const conv = this.conversation;
    this.conversation = undefined;
    if (conv === undefined) return { reply: { ok: 0, errmsg: 'No SASL session state found', code: 17, codeName: 'ProtocolError' } };
    const clientFinal = text(cmd['payload']);
    const a = attrs(clientFinal);
    const cred = this.lookup(conv.user);
    if (cred === undefined || a['r'] !== conv.nonce || a['p'] === undefined) return { reply: failed };
    const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='));
    const authMessage = `${conv.clientFirstBare},${conv.serverFirst},${withoutProof}`;
    const signature = hmac(cred.storedKey, authMessage);
    const proof = Buffer.from(a['p'], 'base64');
    if (proof.length !== signature.length) return { reply: failed };
    const clientKey = Buffer.from(proof.map((b, i) => b ^ signature[i]!));
    if (!timingSafeEqual(createHash('sha256').update(clientKey).digest(), cred.storedKey)) return { reply: failed };
    const serverSignature = hmac(cred.serverKey, authMessage).toString('base64');
    return { reply: { ok: 1, conversationId: 1, done: true, payload: new Binary(Buffer.from(`v=${serverSignature}`)) }, user: conv.user };
  }
}
