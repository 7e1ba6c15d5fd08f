/**
 * The Settings screen's model: the destination form to `settings.update`
 * parameters, validated with the contract's own schema. The API key is
 * write-only: the agent seals a typed value at once, or reads it from an
 * environment variable; the page never sees it again.
 */
import { DestinationInputSchema } from '../../../contract/api.js';
import type { Params, Result } from '../../../contract/api.js';

export type KeyMode = 'keep' | 'env' | 'value';
/** The proxy password: like the API key, plus 'none' (no password, or clear the stored one). */
export type ProxyPasswordMode = KeyMode | 'none';

export interface DestinationFormValues {
  url: string;
  keyMode: KeyMode;
  keyEnv: string;
  keyValue: string;
  proxyUrl: string;
  proxyUser: string;
  proxyPassMode: ProxyPasswordMode;
  proxyPassEnv: string;
  proxyPassValue: string;
  allowPrivateAddress: boolean;
}

export type DestinationField = 'url' | 'keyEnv' | 'keyValue' | 'proxyUrl' | 'proxyUser' | 'proxyPassEnv' | 'proxyPassValue';
export type DestinationErrors = Partial<Record<DestinationField | 'form', string>>;
export type DestinationInput = NonNullable<Params<'settings.update'>['destination']>;

export function destinationForm(view: Result<'settings.get'>['destination']): DestinationFormValues {
  return {
    url: view?.url ?? '',
    keyMode: view === null ? 'value' : 'keep',
    keyEnv: '',
    keyValue: '',
    proxyUrl: view?.proxy?.url ?? '',
    proxyUser: view?.proxy?.username ?? '',
    // The password itself never comes back: only whether one is stored.
    proxyPassMode: view?.proxy === undefined || view.proxy.password === 'none' ? 'none' : 'keep',
    proxyPassEnv: '',
    proxyPassValue: '',
    allowPrivateAddress: view?.allowPrivateAddress ?? false,
  };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function validateDestination(
  v: DestinationFormValues,
  current: Result<'settings.get'>['destination'],
): { destination: DestinationInput; errors?: undefined } | { destination?: undefined; errors: DestinationErrors } {
  const errors: DestinationErrors = {};
  const raw: Record<string, unknown> = { url: v.url.trim(), allowPrivateAddress: v.allowPrivateAddress };
  if (current !== null) {
    raw.maxBatchesPerSecond = current.maxBatchesPerSecond;
    raw.maxBytesPerSecond = current.maxBytesPerSecond;
    if (current.caFile !== undefined) raw.caFile = current.caFile;
    if (current.pin !== undefined) raw.pin = current.pin;
  }
  if (v.url.trim() === '') errors.url = 'is required';
  if (v.keyMode === 'env') {
    if (!ENV_NAME.test(v.keyEnv.trim())) errors.keyEnv = 'must be an environment variable name: letters, digits and "_", not starting with a digit';
    raw.apiKey = { env: v.keyEnv.trim() };
  } else if (v.keyMode === 'value') {
    if (v.keyValue === '') errors.keyValue = 'is required: paste the API key (it is sealed on this machine and never shown again)';
    raw.apiKey = { value: v.keyValue };
  } else if (current === null) {
    errors.keyValue = 'is required for a new destination';
  }
  if (v.proxyUrl.trim() !== '') {
    const proxy: Record<string, unknown> = { url: v.proxyUrl.trim() };
    if (v.proxyUser.trim() !== '') proxy.username = v.proxyUser.trim();
    if (v.proxyPassMode === 'none') proxy.password = null;
    else if (v.proxyPassMode === 'env') {
      if (!ENV_NAME.test(v.proxyPassEnv.trim()))
        errors.proxyPassEnv = 'must be an environment variable name: letters, digits and "_", not starting with a digit';
      proxy.password = { env: v.proxyPassEnv.trim() };
    } else if (v.proxyPassMode === 'value') {
      if (v.proxyPassValue === '') errors.proxyPassValue = 'is required: type the proxy password (it is sealed on this machine and never shown again)';
      proxy.password = { value: v.proxyPassValue };
    } else if (current?.proxy === undefined || current.proxy.password === 'none') {
      // 'keep' with nothing stored: no password.
      proxy.password = null;
    }
    if (
      v.proxyPassMode !== 'none' &&
      !(v.proxyPassMode === 'keep' && (current?.proxy === undefined || current.proxy.password === 'none')) &&
      v.proxyUser.trim() === ''
    )
      errors.proxyUser = 'is required with a proxy password';
    raw.proxy = proxy;
  }
  const parsed = DestinationInputSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const [a, b] = issue.path;
      const field: DestinationField | 'form' =
        a === 'url'
          ? 'url'
          : a === 'apiKey'
            ? v.keyMode === 'env'
              ? 'keyEnv'
              : 'keyValue'
            : a === 'proxy'
              ? b === 'username'
                ? 'proxyUser'
                : b === 'password'
                  ? v.proxyPassMode === 'env'
                    ? 'proxyPassEnv'
                    : 'proxyPassValue'
                  : 'proxyUrl'
              : 'form';
      errors[field] ??= issue.message;
    }
  }
  if (!parsed.success || Object.keys(errors).length > 0) return { errors };
  return { destination: parsed.data as DestinationInput };
}

/** A test send's verdict in plain words: a heading and the next step (the agent's detail line goes under it). */
export const TEST_SEND_VERDICT: Record<Result<'destination.testSend'>['verdict'], { tone: 'ok' | 'bad'; title: string; next: string }> = {
  acknowledged: {
    tone: 'ok',
    title: 'Sent and acknowledged',
    next: 'The Logstag service received the test batch and answered; payloads from this agent go there.',
  },
  dns: {
    tone: 'bad',
    title: 'Host name not found',
    next: "The destination's host name does not resolve from this machine. Check the URL for a typo and this machine's DNS settings.",
  },
  refused: {
    tone: 'bad',
    title: 'Connection refused',
    next: 'Nothing accepted the connection at that address and port. Check the port in the URL and that no firewall blocks this machine.',
  },
  tls: {
    tone: 'bad',
    title: 'Secure connection failed',
    next: "The destination's certificate is not trusted or does not match. If it uses a private CA, set the CA file; check the public key pin if one is set.",
  },
  authentication: {
    tone: 'bad',
    title: 'API key rejected',
    next: 'The service refused the API key (wrong, revoked or for another workspace). Enter the current key and save, then send a test batch again.',
  },
  http: {
    tone: 'bad',
    title: 'The service did not accept the batch',
    next: 'The destination answered with an error. Check the path in the URL; if it persists, give the detail below to Logstag support.',
  },
  timeout: { tone: 'bad', title: 'No answer in time', next: 'The destination did not answer in time. Check the network path and the proxy, if one is set.' },
  egress: {
    tone: 'bad',
    title: 'Blocked by the egress guard',
    next: 'The agent only talks to the configured destination on a public address. If the destination is on your private network on purpose, allow private addresses.',
  },
  proxy: { tone: 'bad', title: 'The proxy refused', next: 'Check the proxy URL, its user name and password.' },
  config: {
    tone: 'bad',
    title: 'Not ready to send',
    next: 'Something the destination needs cannot be read here (for example the API key variable is not set for the agent). Fix it, save, and try again.',
  },
  other: { tone: 'bad', title: 'Sending failed', next: 'See the detail below; the agent log has the same line.' },
};
