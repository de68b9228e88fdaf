// A private OpenSSH server on a loopback port, for the tests that fan work out over ssh the way a
// build farm does (GNU parallel --sshlogin). Everything it needs is made here in a temporary
// directory: its host key, a client key and the authorized_keys that admits it, the known_hosts
// that pins the host key (so the client checks the server as it would a real host), and an ssh
// client config with one alias per "host". Every alias reaches the same sshd: on one machine two
// hosts differ only in the working directory each job is given, which is what parallel needs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { orphanSafe } from '../../src/util/helper-process.js';

export interface Sshd {
  /** The loopback port sshd listens on. */
  port: number;
  /** The ssh client config (`ssh -F` it): one `Host` entry per alias, key and known_hosts set. */
  clientConfig: string;
  /** The ssh command line for `parallel --ssh`. */
  ssh: string;
  /** What sshd has logged so far, e.g. one `Accepted publickey` per login. */
  log(): string;
  stop(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd'; // sshd re-executes itself and refuses to start from a relative path

function run(command: string, args: string[]): void {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${command}: ${r.error.message} (the tests need Debian's openssh-server and openssh-client)`);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
}

/** A port nobody listens on now: the kernel picks one, and it is handed to sshd. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function writeKeysAndConfigs(dir: string, port: number, aliases: string[]): { serverConfig: string; clientConfig: string } {
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'syslayer-test-host', '-f', join(dir, 'host_key')]);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'syslayer-test-client', '-f', join(dir, 'client_key')]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${readFileSync(join(dir, 'host_key.pub'), 'utf8')}`);
  const user = userInfo().username;
  const serverConfig = join(dir, 'sshd_config');
  // StrictModes no: the keys live in a temporary directory, not in a home sshd would inspect.
  // MaxStartups and MaxSessions above parallel's burst of logins (a few per job: the rsync of the
  // inputs, the command, the rsync back, the clean-up), so no login is dropped at random.
  writeFileSync(serverConfig, [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`, `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, `AllowUsers ${user}`, 'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no',
    'StrictModes no', 'MaxStartups 64', 'MaxSessions 64', 'LogLevel INFO', '',
  ].join('\n'));
  const clientConfig = join(dir, 'ssh_config');
  writeFileSync(clientConfig, [
    `Host ${aliases.join(' ')}`, '  HostName 127.0.0.1', `  Port ${port}`, `  User ${user}`,
    `  IdentityFile ${join(dir, 'client_key')}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
    '  StrictHostKeyChecking yes', '  BatchMode yes', '  LogLevel ERROR', '',
  ].join('\n'));
  return { serverConfig, clientConfig };
}

/** Resolves once sshd logs that it listens; rejects with its log if it exits first or takes over 10 s. */
function listening(child: ChildProcess, log: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (/Server listening on 127\.0\.0\.1/.test(log())) settle(null);
      else if (Date.now() - started > 10_000) settle(new Error(`sshd did not start listening in 10 s:\n${log()}`));
    }, 20);
    const settle = (error: Error | null) => {
      clearInterval(poll);
      child.removeAllListeners('error').removeAllListeners('exit');
      if (error) reject(error);
      else resolve();
    };
    child.once('error', (e) => settle(new Error(`${SSHD}: ${e.message} (the tests need Debian's openssh-server)`)));
    child.once('exit', (code, signal) => settle(new Error(`sshd exited (${code ?? signal}) before listening:\n${log()}`)));
  });
}

/**
 * Starts sshd in the foreground (`-D`) with a config of its own; `aliases` name the "hosts". Its
 * log goes to a file (`-E`), not a pipe, so that a test blocked in spawnSync still reads it whole.
 */
export async function startSshd(aliases: string[]): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), 'syslayer-sshd-'));
  // The privilege separation directory sshd checks for at start; Debian's service unit makes it.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const { serverConfig, clientConfig } = writeKeysAndConfigs(dir, port, aliases);
  const logFile = join(dir, 'sshd.log');
  writeFileSync(logFile, '');
  // Its standard error has what is said before sshd opens its log (setpriv's, should sshd be
  // missing). Under setpriv, as syslayer's own helpers are: a test process killed outright takes
  // sshd with it, where afterAll would never run.
  const [command, ...args] = orphanSafe([SSHD, '-D', '-E', logFile, '-f', serverConfig]);
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let early = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => { early += text; });
  const log = () => early + readFileSync(logFile, 'utf8');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await listening(child, log);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, clientConfig, ssh: `ssh -F ${clientConfig}`, log, stop };
}
