// Types of what test/harness/global-setup.ts provides; read in tests with `inject('pg')` etc.
// A plain .ts file (not .d.ts) so that skipLibCheck does not exempt it from type checking.
import type { PgConnectionInfo } from './postgres.js';
import type { RedisConnectionInfo } from './redis.js';
import type { SecretServiceEnv } from './keyring.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The shared PostgreSQL cluster: Debian's 15, or the project's major in a postgres-NN matrix project. Stop/start it only through pgStopServer/pgStartServer in a private instance test. */
    pg: PgConnectionInfo;
    redis: RedisConnectionInfo;
    /** Also already set in process.env of every test worker. */
    keyring: { env: SecretServiceEnv };
  }
}
