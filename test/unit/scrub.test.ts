// One scrubber knows every live secret and removes it, and its common encodings,
// from any message before it is stored, printed or sent to the window.
import { afterEach, describe, expect, it } from 'vitest';
import { forgetSecretsForTests, registerSecret, scrub, scrubDeep, SECRET_REMOVED } from '../../collectors/core/scrub.js';
import { oneLine } from '../../collectors/core/text.js';
import { resolveSecret } from '../../agent/secrets/resolve.js';
import { TargetConnectError } from '../../collectors/core/engine.js';
import { runCli } from '../../agent/cli/main.js';

afterEach(() => forgetSecretsForTests());

const KEY = 'lsk-live+/=Key_9f8e 7d"6c';
const encodings = (v: string): string[] => [
  v,
  Buffer.from(v).toString('base64'),
  Buffer.from(v).toString('base64url'),
  encodeURIComponent(v),
  Buffer.from(v).toString('hex'),
  Buffer.from(v).toString('hex').toUpperCase(),
  JSON.stringify(v).slice(1, -1),
];

describe('secret scrubber', () => {
  it('removes a registered secret in every common encoding', () => {
    registerSecret(KEY);
    for (const e of encodings(KEY)) {
      const text = `HTTP 401: header was Authorization: Bearer ${e} (end)`;
      expect(text).toContain(e);
      const out = scrub(text);
      expect(out).toBe(`HTTP 401: header was Authorization: Bearer ${SECRET_REMOVED} (end)`);
    }
  });

  it('knows nothing until a secret is resolved; resolving one registers it', async () => {
    expect(scrub(`x ${KEY}`)).toBe(`x ${KEY}`);
    await resolveSecret(
      { env: 'K' },
      () => {
        throw new Error('no vault');
      },
      { K: KEY },
      'destination.apiKey',
    );
    expect(scrub(`x ${KEY}`)).toBe(`x ${SECRET_REMOVED}`);
  });

  it('every one-line message is scrubbed before it is cut, so no prefix of a secret survives the cut', () => {
    registerSecret(KEY);
    const long = `${'a'.repeat(290)}${KEY}${'b'.repeat(50)}`;
    const line = oneLine(long);
    expect(line).not.toContain(KEY.slice(0, 5));
    expect(oneLine(`FATAL: password authentication failed, you sent "${KEY}"`)).toBe(`FATAL: password authentication failed, you sent "${SECRET_REMOVED}"`);
  });

  it('scrubs every string of an API result, keys included', () => {
    registerSecret(KEY);
    expect(scrubDeep({ ok: false, error: { message: `echo ${KEY}` }, list: [KEY, 3, null], [KEY]: true })).toEqual({
      ok: false,
      error: { message: `echo ${SECRET_REMOVED}` },
      list: [SECRET_REMOVED, 3, null],
      [SECRET_REMOVED]: true,
    });
  });

  it('leaves values too short to be worth scrubbing alone', () => {
    registerSecret('ab');
    expect(scrub('tab cab')).toBe('tab cab');
  });

  it('the CLI never prints a live secret on stderr, whatever the message', async () => {
    registerSecret(KEY);
    const err: string[] = [];
    const io = { out: () => {}, err: (t: string) => err.push(t), stdin: async () => '', env: {}, isTTY: false };
    // An error from deep inside that quotes the password (a driver that echoes what it was sent).
    const code = await runCli(['check', '--target', `/nonexistent/${KEY}.json`], io);
    expect(code).toBe(2);
    expect(err.join('\n')).not.toContain(KEY);
    expect(err.join('\n')).toContain(SECRET_REMOVED);
    expect(new TargetConnectError('authentication', KEY).message).toBe(KEY);
  });
});
