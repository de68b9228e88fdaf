// GNU parallel over ssh, the first existing engine of DESIGN §13 (issue 16): a private sshd on a
// loopback port stands for a farm of two hosts (two aliases in an ssh client config, each job in a
// working directory of its own), and a list of images is fanned out with one image a job: parallel
// sends the image with rsync (--transferfile), runs `syslayer bind --images` there, brings the
// bound image and its report back (--return) and removes its copies (--cleanup). The oracle is one
// plain `bind --images` run of the whole list here: a run is a pure function of its inputs, so the
// farm must give the same bytes. The same holds for a share of the list a job on shared storage
// (--shard i/n), and for one image bound in shards on the hosts and merged here, whose oracle is
// its unsharded bind. ssh itself is checked first (the pinned host key, the client key), so that a
// failure of the fan-out is not a failure of the set-up in disguise.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { LAYERS, makeImageSet, outputDigests, syslayerOnPath, unshardedRun } from './helpers/farm.js';
import { makeClientImage, packImage, sha256File } from './helpers/small-images.js';
import { startSshd, type Sshd } from './helpers/sshd.js';

const HOSTS = ['engine-a', 'engine-b'];
const work = mkdtempSync(join(tmpdir(), 'syslayer-engines-parallel-'));
const local = join(work, 'local'); // the submitting machine's directory: images/, the list, the results
const remote = join(work, 'remote'); // where the "hosts" keep each job's working directory
const env = { ...process.env, PATH: `${syslayerOnPath(join(work, 'bin'))}:${process.env.PATH}` };
let sshd: Sshd | undefined;
let images: string[] = [];
let single: Map<string, string> | undefined;

function shell(command: string, args: string[], input?: string): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, { cwd: local, env, input, encoding: 'utf8', timeout: 300_000 });
  if (r.error) throw r.error;
  return r;
}

/** The oracle: one `bind --images` run of the whole list here, made once. */
function singleRun(): Map<string, string> {
  single ??= unshardedRun(local, 'list', 'single', env, images.length);
  return single;
}

/** The jobs of a parallel --joblog: which host ran which command, and how it ended. */
function jobs(joblog: string): { host: string; sent: number; received: number; exit: number; command: string }[] {
  return readFileSync(joblog, 'utf8').trim().split('\n').slice(1).map((line) => {
    const f = line.split('\t');
    return { host: f[1], sent: Number(f[4]), received: Number(f[5]), exit: Number(f[6]), command: f[8] };
  });
}

/** How many logins sshd has accepted so far. */
const logins = () => sshd!.log().match(/^Accepted publickey for /gm)?.length ?? 0;

/** Every file left under `dir`, relative to it (none when --cleanup took the directory too). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

describe('GNU parallel over ssh fans a list of images out to two hosts', () => {
  beforeAll(async () => {
    sshd = await startSshd(HOSTS);
    images = makeImageSet(join(local, 'images'), 8).map((name) => `images/${name}`);
    writeFileSync(join(local, 'list'), `# the farm's images\n${images.join('\n')}\n`);
  });

  afterAll(async () => {
    await sshd?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('ssh reaches each host with the client key, checking the host key it pinned', () => {
    for (const host of HOSTS) {
      const r = shell('ssh', ['-F', sshd!.clientConfig, host, 'echo "$USER@$(hostname)"']);
      expect(r.status, `ssh ${host}: ${r.stderr}\nsshd's log:\n${sshd!.log()}`).toBe(0);
      expect(r.stdout).toMatch(/@/);
    }
    expect(logins(), sshd!.log()).toBe(HOSTS.length);
    // Another key is refused, and so is the server when it shows a host key the client did not pin.
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'stranger')]);
    // (-F /dev/null: the client config would offer the good key as well.)
    const stranger = shell('ssh', ['-F', '/dev/null', '-p', String(sshd!.port), '-i', join(work, 'stranger'), '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', `${userInfo().username}@127.0.0.1`, 'true']);
    expect(stranger.status, 'a key not in authorized_keys logged in').not.toBe(0);
    writeFileSync(join(work, 'empty_known_hosts'), '');
    const unpinned = shell('ssh', ['-F', sshd!.clientConfig, '-o', `UserKnownHostsFile=${join(work, 'empty_known_hosts')}`, HOSTS[0], 'true']);
    expect(unpinned.status, 'a host key nobody pinned was accepted').not.toBe(0);
    expect(unpinned.stderr).toMatch(/Host key verification failed/);
  });

  it('one image a job, sent and brought back by rsync, gives the bytes of one run here, and leaves nothing on the hosts', () => {
    const joblog = join(work, 'joblog');
    const loginsBefore = logins();
    // {} is the list line (images/x.tar.gz), {/} its basename: the job writes a one-line list, binds
    // it into out/, and the two files `bind --images` writes for it come back to out/ here. The
    // hosts find syslayer (--env PATH) and the layers where this checkout has them; a real farm
    // installs the package and its layers on every host.
    const r = shell('parallel', [
      '--ssh', sshd!.ssh, '--sshlogin', HOSTS.map((h) => `1/${h}`).join(','), '--env', 'PATH',
      '--workdir', join(remote, 'job-{#}'), '--joblog', joblog, '--halt', 'never',
      '--transferfile', '{}', '--return', 'out/{/}', '--return', 'out/{/}.report.json', '--cleanup',
      `echo {} > {/}.list && syslayer bind --images {/}.list -o out --layers ${LAYERS} --json && rm {/}.list`,
    ], shell('grep', ['-Ev', '^(#|$)', 'list']).stdout); // the list's lines, as docs/engines.md pipes them
    expect(r.status, `parallel: ${r.stderr}`).toBe(0);
    const ran = jobs(joblog);
    expect(ran.map((j) => j.command.split(' ')[1]).sort(), 'one job a line of the list, its comment left out').toEqual([...images].sort());
    expect(ran.map((j) => j.exit), JSON.stringify(ran)).toEqual(images.map(() => 0));
    expect(new Set(ran.map((j) => j.host)), 'both hosts took jobs').toEqual(new Set(HOSTS));
    // Each job's image went out and its results came back through rsync over ssh.
    for (const j of ran) expect(j.sent > 0 && j.received > 0, `bytes sent and received: ${JSON.stringify(j)}`).toBe(true);
    expect(logins() - loginsBefore, 'ssh logins: at least the command of each job').toBeGreaterThanOrEqual(images.length);
    expect(outputDigests(join(local, 'out'))).toEqual(singleRun());
    // The bound images are not the inputs: the farm did bind them.
    for (const image of images) expect(outputDigests(join(local, 'out')).get(image.slice('images/'.length))).not.toBe(outputDigests(join(local, 'images')).get(image.slice('images/'.length)));
    expect(filesUnder(remote), 'files left on the hosts after --cleanup').toEqual([]);
  }, 300_000); // eight jobs of a few ssh logins each: half a minute on two busy cores

  it('a shard a job over shared storage (--shard i/n): the shards split the list and together give the one run\'s bytes', () => {
    const n = 3;
    // The hosts see the submitting machine's directory as it is (NFS in a farm; here, one disk), so
    // nothing is sent: each job binds its share of the same list into a directory of its own.
    const r = shell('parallel', [
      '--ssh', sshd!.ssh, '--sshlogin', HOSTS.map((h) => `1/${h}`).join(','), '--env', 'PATH', '--workdir', local,
      `syslayer bind --images list --shard {}/${n} -o shards/{} --layers ${LAYERS} --json`,
      ':::', ...Array.from({ length: n }, (_, i) => String(i)),
    ]);
    expect(r.status, `parallel: ${r.stderr}`).toBe(0);
    const union = new Map<string, string>();
    for (let i = 0; i < n; i++) {
      const dir = join(local, 'shards', String(i));
      const share = existsSync(dir) ? outputDigests(dir) : new Map<string, string>();
      // Eight names over three shards: the hash gives each shard some, so each job did a part.
      expect(share.size, `shard ${i} of ${n}`).toBeGreaterThan(0);
      for (const [name, digest] of share) {
        expect(union.has(name), `${name} is in two shards`).toBe(false);
        union.set(name, digest);
      }
    }
    expect(new Map([...union].sort()), 'the union of the shards').toEqual(singleRun());
  });

  it('one image in shards, a shard a job, merged here: the bytes of its unsharded bind', () => {
    const n = 3;
    const image = 'large.tar.gz';
    packImage(makeClientImage(join(work, 'large-tree'), 'large', 30), join(local, image));
    const joblog = join(work, 'joblog-large');
    // Every job needs the whole image (its share is decided file by file as the image is read), so
    // each is sent it; its shard result (a directory) comes back. --basefile would send the image
    // once a host, but the two "hosts" here are one machine and would share, and remove, one copy.
    const r = shell('parallel', [
      '--ssh', sshd!.ssh, '--sshlogin', HOSTS.map((h) => `1/${h}`).join(','), '--env', 'PATH',
      '--workdir', join(remote, 'shard-job-{#}'), '--joblog', joblog, '--transferfile', image, '--return', 'shard-{}', '--cleanup',
      `syslayer bind ${image} --shard {}/${n} -o shard-{} --layers ${LAYERS} --json`,
      ':::', ...Array.from({ length: n }, (_, i) => String(i)),
    ]);
    expect(r.status, `parallel: ${r.stderr}`).toBe(0);
    expect(new Set(jobs(joblog).map((j) => j.host)), 'both hosts took shards').toEqual(new Set(HOSTS));
    const shards = Array.from({ length: n }, (_, i) => `shard-${i}`);
    const merged = shell('syslayer', ['merge', image, ...shards, '-o', 'merged.tar.gz', '--layers', LAYERS]);
    expect(merged.status, `merge: ${merged.stderr}`).toBe(0);
    const whole = shell('syslayer', ['bind', image, '-o', 'whole.tar.gz', '--layers', LAYERS]);
    expect(whole.status, `the unsharded bind: ${whole.stderr}`).toBe(0);
    expect(sha256File(join(local, 'merged.tar.gz')), 'merged from the hosts\' shards').toBe(sha256File(join(local, 'whole.tar.gz')));
    expect(sha256File(join(local, 'merged.tar.gz')), 'bound, not the input').not.toBe(sha256File(join(local, image)));
    // --cleanup removes what it sent and the files it brought back, but not a directory it
    // brought back (GNU parallel 20221122): the shard results stay on the hosts, the image does not.
    expect(filesUnder(remote).filter((f) => !/^shard-job-\d+\/shard-\d\//.test(f)), 'files left on the hosts after --cleanup').toEqual([]);
  });
});
