// A private Secret Service (gnome-keyring on its own D-Bus session bus) so the OS-keychain
// vault is tested for real without touching the developer's keyring.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FatalWaitError, requireBinary, run, tail, waitFor } from './util.js';

/** Variables a client process needs to reach the private Secret Service (a type alias, so it is a Record<string, string>). */
export type SecretServiceEnv = {
  DBUS_SESSION_BUS_ADDRESS: string;
  GNOME_KEYRING_CONTROL: string;
};

export interface SecretServiceHarness {
  env: SecretServiceEnv;
  /** Temp dir holding the bus socket and the keyring files (keyrings under data/keyrings). */
  dir: string;
  /** Kills gnome-keyring-daemon and dbus-daemon and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Password of the `login` keyring that gnome-keyring creates and unlocks (read on stdin). */
const KEYRING_PASSWORD = 'test';

interface Watched {
  proc: ChildProcess;
  /** stdout alone (dbus-daemon prints its address there). */
  stdout: () => string;
  /** stdout and stderr, for error messages. */
  output: () => string;
  exited: () => string | undefined;
}

function watch(proc: ChildProcess): Watched {
  let stdout = '';
  let out = '';
  let exit: string | undefined;
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout = (stdout + d).slice(-4096);
    out = (out + d).slice(-8192);
  });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    out = (out + d).slice(-8192);
  });
  proc.on('exit', (code, signal) => (exit = `exited with ${code ?? signal}`));
  proc.on('error', (err) => (exit = `failed to start: ${err.message}`));
  return { proc, stdout: () => stdout, output: () => tail(out), exited: () => exit };
}

async function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
  const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(timer);
}

export async function startSecretService(): Promise<SecretServiceHarness> {
  const dbusDaemon = requireBinary('dbus-daemon', 'dbus', ' on PATH');
  const dbusSend = requireBinary('dbus-send', 'dbus', ' on PATH');
  const gnomeKeyring = requireBinary('gnome-keyring-daemon', 'gnome-keyring', ' on PATH');

  const dir = await mkdtemp(path.join(os.tmpdir(), 'logstag-keyring-'));
  const procs: ChildProcess[] = [];
  const stopAll = async (): Promise<void> => {
    for (const p of procs.reverse()) await kill(p);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const home = path.join(dir, 'home');
    const runtime = path.join(dir, 'runtime');
    for (const d of [home, path.join(dir, 'data'), path.join(dir, 'config'), path.join(dir, 'cache'), runtime]) {
      await mkdir(d, { mode: 0o700 });
    }

    // --nofork keeps the daemon our child, so stop() can kill it by handle; a fixed socket
    // path (instead of session.conf's tmpdir listener) keeps everything inside `dir`.
    const bus = watch(
      spawn(dbusDaemon, ['--session', '--nofork', '--nopidfile', `--address=unix:path=${path.join(dir, 'bus')}`, '--print-address=1'], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    procs.push(bus.proc);
    // The address is printed once the bus listens.
    const address = await waitFor('dbus-daemon to print its address', async () => {
      const exited = bus.exited();
      if (exited) throw new FatalWaitError(`integration harness: dbus-daemon ${exited}\n${bus.output()}`);
      return /^(unix:\S+)\n/m.exec(bus.stdout())?.[1]; // only a complete line
    });

    // Only our temp dirs: keyring files land in data/keyrings, the control socket in runtime/keyring.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      XDG_DATA_HOME: path.join(dir, 'data'),
      XDG_CONFIG_HOME: path.join(dir, 'config'),
      XDG_CACHE_HOME: path.join(dir, 'cache'),
      XDG_RUNTIME_DIR: runtime,
      DBUS_SESSION_BUS_ADDRESS: address,
    };
    const keyringProc = spawn(gnomeKeyring, ['--foreground', '--unlock', '--components=secrets'], {
      cwd: dir,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const keyring = watch(keyringProc);
    procs.push(keyringProc);
    // --unlock reads the password up to EOF, creating and unlocking the `login` keyring with it.
    keyringProc.stdin.end(KEYRING_PASSWORD);

    await waitFor('gnome-keyring-daemon to own org.freedesktop.secrets on the private bus', async () => {
      const exited = keyring.exited();
      if (exited) throw new FatalWaitError(`integration harness: gnome-keyring-daemon ${exited}\n${keyring.output()}`);
      const r = await run(
        dbusSend,
        [
          `--bus=${address}`,
          '--dest=org.freedesktop.DBus',
          '--print-reply',
          '/org/freedesktop/DBus',
          'org.freedesktop.DBus.NameHasOwner',
          'string:org.freedesktop.secrets',
        ],
        { timeoutMs: 5_000 },
      );
      return /boolean true/.test(r.stdout) ? true : undefined;
    }).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\ngnome-keyring-daemon output:\n${keyring.output()}`);
    });

    let stopped = false;
    return {
      env: { DBUS_SESSION_BUS_ADDRESS: address, GNOME_KEYRING_CONTROL: path.join(runtime, 'keyring') },
      dir,
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
