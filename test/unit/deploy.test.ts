/**
 * Offline checks of the deployment artifacts: Dockerfile, .dockerignore, k8s/ and
 * docker-compose.yml. No Docker engine and no cluster are needed:
 *
 * - the Dockerfile is parsed with dockerfile-ast;
 * - every Kubernetes object under k8s/ (and, where a kustomize or kubectl binary is on PATH,
 *   every object that each kustomization renders) is validated twice against the Kubernetes API
 *   types that the npm package kubernetes-models generates from the Kubernetes OpenAPI spec:
 *   1. its runtime validator (`.validate()`: required fields, types, enums, formats);
 *   2. the same package's TypeScript declarations, through the TypeScript compiler, which
 *      rejects unknown fields (kubernetes-models' runtime validator lets them through, so a typo
 *      such as `initContainer:` would otherwise pass: see "rejects unknown fields" below).
 *      Patches are checked the same way against a deep-partial type (no required fields).
 *      TypeScript names one unknown field per object; fix it and the next one shows.
 * - docker-compose.yml is validated with ajv against the compose-spec JSON schema that the npm
 *   package dclint ships (additionalProperties: false throughout);
 * - the YAML blocks of the deploy documentation (docs/kubernetes.md, docs/compose.md, and any in
 *   README.md's quick starts) go through the same checks, so that what people paste is valid.
 *
 *   npx tsx --test test/unit/deploy.test.ts
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv';
import { DockerfileParser } from 'dockerfile-ast';
import type { From, Instruction, JSONInstruction, Property } from 'dockerfile-ast';
import ts from 'typescript';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const K8S = join(ROOT, 'k8s');
const require = createRequire(import.meta.url);
const rel = (path: string) => relative(ROOT, path);
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Names that hold secrets: never given a value in an image, a manifest or a build argument. */
const SECRET_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|DATABASE_URL$|^PGPASS/i;
/** The migration files the program reads: NNN_name.sql directly in migrations/. */
const migrationFiles = () =>
  readdirSync(join(ROOT, 'migrations'))
    .filter((name) => /^\d{3,}_.+\.sql$/.test(name))
    .sort();

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Stage {
  from: From;
  image: string;
  name: string | null;
  instructions: Instruction[];
}

function dockerfileStages(): Stage[] {
  const dockerfile = DockerfileParser.parse(read('Dockerfile'));
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'FROM') {
      const from = dockerfile.getFROMs().find((f) => f.getRange().start.line === instruction.getRange().start.line);
      assert.ok(from, 'FROM instruction found');
      const image = from.getImage();
      assert.ok(image, `FROM on line ${instruction.getRange().start.line + 1} names an image`);
      stages.push({ from, image, name: from.getBuildStage(), instructions: [] });
    } else {
      const stage = stages.at(-1);
      assert.ok(stage, `${keyword} on line ${instruction.getRange().start.line + 1} comes after a FROM`);
      stage.instructions.push(instruction);
    }
  }
  return stages;
}

const ofKeyword = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);
const args = (instruction: Instruction) => instruction.getArguments().map((a) => a.getValue());
const flags = (instruction: Instruction): string[] =>
  (instruction as Instruction & { getFlags?: () => { getName(): string; getValue(): string | null }[] })
    .getFlags?.()
    .map((flag) => `--${flag.getName()}${flag.getValue() === null ? '' : `=${flag.getValue()}`}`) ?? [];
/** The JSON strings of an exec-form instruction (ENTRYPOINT/CMD ["a", "b"]), or null for shell form. */
function execForm(instruction: Instruction): string[] | null {
  const json = instruction as JSONInstruction;
  if (typeof json.getJSONStrings !== 'function' || json.getOpeningBracket() === null || json.getClosingBracket() === null) return null;
  return json.getJSONStrings().map((s) => s.getJSONValue());
}
const properties = (instruction: Instruction): Property[] =>
  (instruction as Instruction & { getProperties?: () => Property[]; getProperty?: () => Property | null }).getProperties?.() ??
  [(instruction as Instruction & { getProperty: () => Property | null }).getProperty()].filter((p): p is Property => p !== null);

describe('Dockerfile', () => {
  const stages = dockerfileStages();
  const build = stages[0]!;
  const runtime = stages.at(-1)!;

  it('is multi-stage: a node:20 build stage and a distroless Node 20 runtime stage', () => {
    assert.ok(stages.length >= 2, `expected at least two stages, found ${stages.length}`);
    assert.match(build.image, /^node:20[.-]/, 'the build stage starts from a node:20 image');
    assert.equal(build.name, 'build');
    const runs = ofKeyword(build, 'RUN')
      .map((r) => r.getArgumentsContent() ?? '')
      .join('\n');
    assert.match(runs, /\bnpm ci\b/, 'the build stage installs the locked dependencies with npm ci');
    assert.match(runs, /\bnpm run build\b/, 'the build stage bundles with npm run build');
    assert.match(runtime.image, /^gcr\.io\/distroless\/nodejs20-debian\d+[:@]/, 'the runtime is distroless Node.js 20');
    assert.notEqual(runtime.name, 'build');
  });

  it('pins every base image by tag (never latest) or digest', () => {
    const stageNames = new Set(stages.map((s) => s.name).filter((n): n is string => n !== null));
    for (const stage of stages) {
      if (stageNames.has(stage.image)) continue; // FROM an earlier stage
      const tag = stage.from.getImageTag();
      const digest = stage.from.getImageDigest();
      assert.ok(tag || digest, `${stage.image} is pinned by a tag or a digest`);
      if (tag) assert.notEqual(tag, 'latest', `${stage.image} is not :latest`);
      if (digest) assert.match(digest, /^sha256:[0-9a-f]{64}$/, `${stage.image} has a well-formed digest`);
      assert.doesNotMatch(stage.image, /\$/, `${stage.image} is not chosen by a build argument`);
    }
  });

  it('runs the final stage as a numeric non-root USER, with no shell step in it', () => {
    const users = ofKeyword(runtime, 'USER');
    assert.ok(users.length > 0, 'the runtime stage sets USER');
    const user = users.at(-1)!.getArgumentsContent() ?? '';
    const match = /^(\d+)(?::(\d+))?$/.exec(user.trim());
    assert.ok(match, `USER ${user} is numeric (uid or uid:gid), so runAsNonRoot can verify it`);
    assert.notEqual(Number(match[1]), 0, 'USER is not root');
    if (match[2] !== undefined) assert.notEqual(Number(match[2]), 0, 'the group is not root');
    // One RUN, in exec form (there is no shell): the training run that writes the code cache.
    assert.deepEqual(
      ofKeyword(runtime, 'RUN').map((run) => execForm(run)),
      [['/nodejs/bin/node', '/app/cli.js', '--version']],
      'the runtime stage runs only the code-cache training run, in exec form',
    );
    const cacheOut = ofKeyword(runtime, 'ARG')
      .flatMap(properties)
      .find((p) => p.getName() === 'XYN_CODE_CACHE_OUT');
    assert.equal(cacheOut?.getValue(), '/app/cli.js.cache', 'an ARG (not an ENV, which would stay in the image) asks for the cache');
    assert.ok(
      !ofKeyword(runtime, 'ENV')
        .flatMap(properties)
        .some((p) => p.getName() === 'XYN_CODE_CACHE_OUT'),
      'no ENV XYN_CODE_CACHE_OUT',
    );
    const line = (instruction: Instruction) => instruction.getRange().start.line;
    assert.ok(
      line(ofKeyword(runtime, 'ARG').find((a) => /XYN_CODE_CACHE_OUT/.test(a.getTextContent()))!) < line(ofKeyword(runtime, 'RUN')[0]!),
      'the ARG comes before the training RUN',
    );
    assert.deepEqual(ofKeyword(runtime, 'ADD'), [], 'no ADD in the runtime stage');
  });

  it('copies only dist/cli.js (from the build stage) and the .sql files of migrations/ into the runtime stage', () => {
    const copies = ofKeyword(runtime, 'COPY').map((copy) => ({ flags: flags(copy), args: args(copy) }));
    assert.deepEqual(
      copies.map((c) => ({ from: c.flags.find((f) => f.startsWith('--from=')) ?? null, args: c.args })),
      [
        { from: '--from=build', args: ['/app/dist/cli.js', '/app/cli.js'] },
        { from: null, args: ['migrations/*.sql', '/migrations/'] },
      ],
    );
    assert.match(read('build.mjs'), /writeFileSync\('dist\/cli\.js'/, 'npm run build writes dist/cli.js, which the build stage copies');
    for (const copy of ofKeyword(build, 'COPY')) {
      for (const source of args(copy).slice(0, -1)) {
        assert.ok(existsSync(join(ROOT, source)), `build-stage COPY source ${source} exists`);
      }
    }
  });

  it('sets XYN_MIGRATIONS_DIR=/migrations and runs node on /app/cli.js in exec form, migrate by default', () => {
    const env = Object.fromEntries(
      ofKeyword(runtime, 'ENV')
        .flatMap(properties)
        .map((p) => [p.getName(), p.getValue()]),
    );
    assert.equal(env['XYN_MIGRATIONS_DIR'], '/migrations');
    const entrypoints = ofKeyword(runtime, 'ENTRYPOINT');
    assert.equal(entrypoints.length, 1, 'one ENTRYPOINT');
    assert.deepEqual(
      execForm(entrypoints[0]!),
      ['/nodejs/bin/node', '/app/cli.js'],
      'ENTRYPOINT is exec form (node is PID 1 and gets SIGTERM)',
    );
    const cmds = ofKeyword(runtime, 'CMD');
    assert.equal(cmds.length, 1, 'one CMD');
    assert.deepEqual(execForm(cmds[0]!), ['migrate']);
  });

  it('holds no secret in an ENV or ARG', () => {
    for (const stage of stages) {
      for (const instruction of [...ofKeyword(stage, 'ENV'), ...ofKeyword(stage, 'ARG')]) {
        for (const property of properties(instruction)) {
          const where = `${instruction.getKeyword()} ${property.getName()} (line ${instruction.getRange().start.line + 1})`;
          if (!SECRET_NAME.test(property.getName())) continue;
          // An ARG is kept in the image history even without a default: no secret-named ARG at all.
          assert.notEqual(instruction.getKeyword(), 'ARG', `${where}: pass secrets with RUN --mount=type=secret, not ARG`);
          assert.equal(property.getValue(), null, `${where} has no value`);
        }
      }
    }
  });

  it('carries the OCI labels', () => {
    const unquote = (value: string | null) => value?.replace(/^"(.*)"$/s, '$1') ?? null;
    const labels = Object.fromEntries(
      ofKeyword(runtime, 'LABEL')
        .flatMap(properties)
        .map((p) => [p.getName(), unquote(p.getValue())]),
    );
    for (const key of ['title', 'description', 'source', 'licenses', 'version']) {
      const value = labels[`org.opencontainers.image.${key}`];
      assert.ok(typeof value === 'string' && value.length > 0, `label org.opencontainers.image.${key} is set`);
    }
    assert.equal(labels['org.opencontainers.image.licenses'], JSON.parse(read('package.json')).license);
  });

  it('builds with the built-in BuildKit frontend: no `# syntax=` line (it would pull an image at every build)', () => {
    assert.doesNotMatch(read('Dockerfile'), /^#\s*syntax\s*=/im);
  });

  it('npm ci: optional npmrc and npm-ca secrets, only the build dependencies, its result checked in the same step', () => {
    const install = ofKeyword(build, 'RUN').find((run) => /\bnpm ci\b/.test(run.getArgumentsContent() ?? ''));
    assert.ok(install, 'a RUN with npm ci');
    const mounts = flags(install).filter((f) => f.startsWith('--mount='));
    assert.ok(mounts.includes('--mount=type=secret,id=npmrc'), `the npmrc secret is mounted: ${mounts.join(' ')}`);
    assert.ok(
      mounts.includes('--mount=type=secret,id=npm-ca'),
      `the npm-ca secret is mounted (at /run/secrets/npm-ca): ${mounts.join(' ')}`,
    );
    const text = install.getArgumentsContent() ?? '';
    assert.match(text, /NPM_CONFIG_USERCONFIG=\/run\/secrets\/npmrc npm ci\b/, "the npmrc is npm's user config for npm ci only");
    assert.match(text, /^node build-deps\.mjs\s*&&/m, 'package.json is narrowed to the build dependencies first');
    assert.match(text, /npm ci[^&|]*&&\s*npm ls --all\b/, 'npm ls checks, in the same step, that npm ci installed everything');
    assert.ok(
      !ofKeyword(build, 'ENV')
        .flatMap(properties)
        .some((p) => /USERCONFIG|_authToken|cafile/i.test(p.getName())),
      'no npm setting in an ENV',
    );
  });

  it('the build dependencies are esbuild and exactly the packages esbuild bundles into dist/cli.js', async () => {
    const { BUILD_DEPENDENCIES } = (await import(join(ROOT, 'build-deps.mjs'))) as { BUILD_DEPENDENCIES: string[] };
    const esbuild = await import('esbuild');
    const result = await esbuild.build({
      entryPoints: [join(ROOT, 'src/cli.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      metafile: true,
      logLevel: 'silent',
      external: ['pg-native', 'libpg-query'],
    });
    const bundled = new Set(
      Object.keys(result.metafile.inputs).flatMap((input) => /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1] ?? []),
    );
    const direct = Object.keys(JSON.parse(read('package.json')).devDependencies as Record<string, string>).filter((name) =>
      bundled.has(name),
    );
    assert.deepEqual([...BUILD_DEPENDENCIES].sort(), ['esbuild', ...direct].sort());
  });

  it('one version: VERSION has no default and the build checks it against package.json (what --version prints)', () => {
    const version = JSON.parse(read('package.json')).version as string;
    for (const stage of [build, runtime]) {
      const arg = ofKeyword(stage, 'ARG')
        .flatMap(properties)
        .find((p) => p.getName() === 'VERSION');
      assert.ok(arg, `the ${stage.name ?? 'runtime'} stage declares ARG VERSION`);
      assert.equal(arg.getValue(), null, 'ARG VERSION has no default, which could disagree with package.json');
    }
    const check = ofKeyword(build, 'RUN')
      .map((r) => r.getArgumentsContent() ?? '')
      .find((text) => /node dist\/cli\.js --version/.test(text));
    assert.match(check ?? '', /"\$built" != "\$VERSION"/, 'the build compares --version with VERSION');
    const composeArgs = (parseYaml(read('docker-compose.yml')) as { services: { migrate: { build: { args: Record<string, string> } } } })
      .services.migrate.build.args;
    assert.equal(composeArgs['VERSION'], version, "docker-compose.yml builds with package.json's version");
    for (const file of ['README.md', ...readdirSync(join(ROOT, 'docs')).map((name) => `docs/${name}`)])
      for (const match of read(file).matchAll(/--build-arg VERSION=(\S+)/g))
        assert.equal(match[1], version, `${file} builds with package.json's version`);
  });

  it('sets TZ=UTC in the runtime stage (distroless has no /etc/localtime: no zoneinfo scan at start)', () => {
    const env = Object.fromEntries(
      ofKeyword(runtime, 'ENV')
        .flatMap(properties)
        .map((p) => [p.getName(), p.getValue()]),
    );
    assert.equal(env['TZ'], 'UTC');
  });
});

describe('.dockerignore', () => {
  const patterns = read('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  /** Docker's patterns: filepath.Match from the context root, plus `**`. Enough for this file. */
  const toRegExp = (pattern: string) =>
    new RegExp(
      '^' +
        pattern
          .replace(/^\//, '')
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*\*\//g, '\u0000')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]')
          .replace(/\u0000/g, '(?:.*/)?') +
        '(?:/.*)?$',
    );
  const ignored = (path: string) => {
    let result = false;
    for (const pattern of patterns) {
      if (pattern.startsWith('!')) {
        if (toRegExp(pattern.slice(1)).test(path)) result = false;
      } else if (toRegExp(pattern).test(path)) result = true;
    }
    return result;
  };

  it('keeps node_modules, .git, test, bench, dist and local secrets out of the build context', () => {
    for (const path of [
      'node_modules',
      'node_modules/pg/index.js',
      '.git',
      'test/unit/x.ts',
      'bench',
      'dist/cli.js',
      '.env',
      '.npmrc',
      'src/node_modules/x',
    ]) {
      assert.ok(ignored(path), `${path} is excluded`);
    }
  });

  it('keeps what the Dockerfile copies', () => {
    for (const path of [
      'package.json',
      'package-lock.json',
      'build-deps.mjs',
      'build.mjs',
      'tsconfig.json',
      'src/cli.ts',
      ...migrationFiles().map((f) => `migrations/${f}`),
    ]) {
      assert.ok(!ignored(path), `${path} stays in the build context`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Kubernetes

type Obj = Record<string, unknown>;
interface K8sDoc {
  label: string;
  object: Obj;
}

const isObj = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);

function yamlFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

function parseDocs(text: string, label: string): K8sDoc[] {
  return parseAllDocuments(text).flatMap((doc, index) => {
    assert.deepEqual(doc.errors, [], `${label} document ${index} parses as YAML`);
    const object: unknown = doc.toJS();
    if (object === null || object === undefined) return [];
    assert.ok(isObj(object), `${label} document ${index} is a mapping`);
    return [{ label: `${label}#${index}`, object }];
  });
}

const KUSTOMIZE_KINDS = new Set(['Kustomization', 'Component']);
const kustomizationFiles = () => yamlFiles(K8S).filter((path) => /(^|\/)kustomization\.ya?ml$/.test(path));

/** The files that kustomizations use as patches (partial objects, checked field by field). */
function patchFiles(): Set<string> {
  const patches = new Set<string>();
  for (const file of kustomizationFiles()) {
    const kustomization = parseYaml(readFileSync(file, 'utf8')) as { patches?: { path?: string }[]; patchesStrategicMerge?: string[] };
    for (const patch of kustomization.patches ?? []) if (patch.path) patches.add(resolve(dirname(file), patch.path));
    for (const path of kustomization.patchesStrategicMerge ?? []) patches.add(resolve(dirname(file), path));
  }
  return patches;
}

/** apiVersion + kind → the kubernetes-models module and the interface it declares. */
function modelOf(object: Obj): { module: string; kind: string } {
  const { apiVersion, kind } = object;
  assert.ok(typeof apiVersion === 'string' && typeof kind === 'string', 'the object has apiVersion and kind');
  return { module: `kubernetes-models/${apiVersion}/${kind}`, kind };
}

/** kubernetes-models' runtime validator (`Model#validate()`, throws on an invalid object). */
function modelValidate(doc: K8sDoc): void {
  const { module, kind } = modelOf(doc.object);
  let Model: (new (data: unknown) => { validate(): void }) | undefined;
  try {
    Model = (require(module) as Record<string, new (data: unknown) => { validate(): void }>)[kind];
  } catch {
    Model = undefined;
  }
  if (!Model) assert.fail(`${doc.label}: no Kubernetes schema for ${String(doc.object['apiVersion'])} ${kind} in kubernetes-models`);
  try {
    new Model(doc.object).validate();
  } catch (error) {
    assert.fail(`${doc.label}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The field at a position of an object literal, e.g. spec.template.spec.containers[0].image. */
function fieldPath(file: ts.SourceFile, position: number): string {
  const parts: string[] = [];
  const visit = (node: ts.Node): void => {
    if (position < node.getStart(file) || position >= node.getEnd()) return;
    if (ts.isPropertyAssignment(node)) parts.push(node.name.getText(file).replace(/^"|"$/g, ''));
    if (ts.isArrayLiteralExpression(node)) {
      const index = node.elements.findIndex((e) => position >= e.getStart(file) && position < e.getEnd());
      if (index >= 0) parts.push(`[${index}]`);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return parts.join('.').replace(/\.\[/g, '[') || '(object)';
}

let previousProgram: ts.Program | undefined;
/** Parsed declaration files (lib, kubernetes-models), shared by every strictCheck of this run. */
const declarationFiles = new Map<string, ts.SourceFile | undefined>();
/**
 * Type-checks each object against kubernetes-models' declaration of its kind as a TypeScript
 * object literal: unknown fields (excess properties), wrong types and missing required fields
 * fail. `partial` objects (patches) are checked against a deep-partial type: no required fields.
 * Returns the errors per label.
 */
function strictCheck(docs: (K8sDoc & { partial?: boolean })[]): Map<string, string[]> {
  const file = join(ROOT, 'test', 'unit', '__deploy_strict_check__.ts');
  const lines = [
    'type DeepPartial<T> = T extends (infer U)[] ? DeepPartial<U>[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;',
  ];
  const starts: { line: number; label: string }[] = [];
  docs.forEach((doc, index) => {
    const { module, kind } = modelOf(doc.object);
    const typeRef = `import('${module}').I${kind}`;
    starts.push({ line: lines.length + 1, label: doc.label }); // one line per object
    lines.push(`export const doc${index}: ${doc.partial ? `DeepPartial<${typeRef}>` : typeRef} = ${JSON.stringify(doc.object)};`);
  });
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, language, ...rest) => {
    if (name === file) return ts.createSourceFile(name, source, language);
    if (!declarationFiles.has(name)) declarationFiles.set(name, getSourceFile(name, language, ...rest));
    return declarationFiles.get(name);
  };
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host, previousProgram);
  previousProgram = program;
  const errors = new Map<string, string[]>(docs.map((d) => [d.label, []]));
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (diagnostic.file?.fileName !== file || diagnostic.start === undefined) {
      throw new Error(`the strict check itself failed: ${message}`);
    }
    const line = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1;
    const owner = starts.find((s) => s.line === line);
    if (!owner) throw new Error(`the strict check itself failed: ${message}`);
    errors.get(owner.label)!.push(`${fieldPath(diagnostic.file, diagnostic.start)}: ${message}`);
  }
  return errors;
}

/** Both validations of complete objects; assertion failures name the file and the field. */
function validateAll(docs: K8sDoc[], patches: K8sDoc[] = []): void {
  for (const doc of docs) modelValidate(doc);
  const errors = strictCheck([...docs, ...patches.map((p) => ({ ...p, partial: true }))]);
  const failures = [...errors].filter(([, messages]) => messages.length > 0);
  assert.deepEqual(failures, [], 'every object matches the Kubernetes API types, with no unknown field');
}

function podSpecs(doc: K8sDoc): { label: string; spec: IPodSpec }[] {
  const kind = doc.object['kind'];
  if (kind === 'Deployment') return [{ label: doc.label, spec: (doc.object as unknown as IDeployment).spec!.template.spec! }];
  if (kind === 'Job') return [{ label: doc.label, spec: (doc.object as unknown as IJob).spec!.template.spec! }];
  return [];
}

/** Init and app containers (a patch or a documentation fragment may have only one kind). */
const allContainers = (spec: IPodSpec): IContainer[] => [
  ...(spec.initContainers ?? []),
  ...((spec.containers as IContainer[] | undefined) ?? []),
];
const isMigrate = (container: IContainer) => (container.image ?? '').includes('xyn-migrate');
const envOf = (container: IContainer, name: string) => container.env?.find((e) => e.name === name);

/** The hardening and resource rules, for every container of every pod template. */
function assertHardened(docs: K8sDoc[]): void {
  for (const { label, spec } of docs.flatMap(podSpecs)) {
    assert.equal(spec.securityContext?.runAsNonRoot, true, `${label}: pod runAsNonRoot`);
    assert.equal(spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${label}: pod seccompProfile RuntimeDefault`);
    assert.notEqual(spec.hostNetwork, true, `${label}: no hostNetwork`);
    assert.notEqual(spec.hostPID, true, `${label}: no hostPID`);
    for (const container of allContainers(spec)) {
      const where = `${label} container ${container.name}`;
      const sc = container.securityContext;
      assert.ok(sc, `${where}: has a securityContext`);
      assert.equal(sc.runAsNonRoot, true, `${where}: runAsNonRoot`);
      assert.equal(sc.runAsUser, 65532, `${where}: runAsUser 65532`);
      assert.equal(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
      assert.equal(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation false`);
      assert.notEqual(sc.privileged, true, `${where}: not privileged`);
      assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${where}: capabilities drop ALL`);
      assert.equal(sc.capabilities?.add, undefined, `${where}: adds no capability`);
      assert.equal(sc.seccompProfile?.type, 'RuntimeDefault', `${where}: seccompProfile RuntimeDefault`);
      assert.ok(container.resources?.requests?.['cpu'] !== undefined, `${where}: requests cpu`);
      assert.ok(container.resources?.requests?.['memory'] !== undefined, `${where}: requests memory`);
      assert.ok(container.resources?.limits?.['memory'] !== undefined, `${where}: limits memory`);
      assert.equal(container.terminationMessagePolicy, 'FallbackToLogsOnError', `${where}: terminationMessagePolicy FallbackToLogsOnError`);
      for (const env of container.env ?? []) {
        if (SECRET_NAME.test(env.name)) {
          assert.equal(env.value, undefined, `${where}: ${env.name} has no literal value`);
          assert.ok(env.valueFrom?.secretKeyRef, `${where}: ${env.name} comes from a Secret`);
        }
      }
      if (isMigrate(container)) {
        assert.ok(envOf(container, 'DATABASE_URL')?.valueFrom?.secretKeyRef, `${where}: DATABASE_URL from a secretKeyRef`);
        // `await` takes no lock and waits for every pre-deploy file: only its wait is bounded
        const awaits = container.args?.[0] === 'await';
        for (const name of awaits ? ['XYN_WAIT_TIMEOUT'] : ['XYN_WAIT_TIMEOUT', 'XYN_LOCK_TIMEOUT']) {
          assert.match(envOf(container, name)?.value ?? '', /^\d+(\.\d+)?$/, `${where}: ${name} is a number of seconds`);
        }
        if (!awaits) assert.ok(envOf(container, 'XYN_REQUIRED_MIGRATIONS')?.value, `${where}: XYN_REQUIRED_MIGRATIONS is set`);
        assert.match(
          container.image ?? '',
          /:[\w][\w.-]*(@sha256:[0-9a-f]{64})?$|@sha256:[0-9a-f]{64}$/,
          `${where}: image pinned by tag or digest`,
        );
        assert.doesNotMatch(container.image ?? '', /:latest$/, `${where}: image is not :latest`);
      }
    }
  }
}

/** The sources of k8s/: complete objects and patches, by file. */
function k8sSources(): { resources: K8sDoc[]; patches: K8sDoc[] } {
  const patches = patchFiles();
  const resources: K8sDoc[] = [];
  const patchDocs: K8sDoc[] = [];
  for (const file of yamlFiles(K8S)) {
    for (const doc of parseDocs(readFileSync(file, 'utf8'), rel(file))) {
      if (KUSTOMIZE_KINDS.has(String(doc.object['kind']))) continue;
      (patches.has(file) ? patchDocs : resources).push(doc);
    }
  }
  return { resources, patches: patchDocs };
}

/** A kustomize binary found on PATH (never downloaded): `kustomize build` or `kubectl kustomize`. */
function kustomizeCommand(): string[] | null {
  const works = (command: string, probe: string[]) => {
    const result = spawnSync(command, probe, { encoding: 'utf8', timeout: 20_000 });
    return result.status === 0;
  };
  if (works('kustomize', ['version'])) return ['kustomize', 'build', '--load-restrictor', 'LoadRestrictionsNone'];
  if (works('kubectl', ['kustomize', '--help'])) return ['kubectl', 'kustomize', '--load-restrictor=LoadRestrictionsNone'];
  return null;
}

/** Every kustomization root (not components) and what it renders. */
function kustomizeBuilds(command: string[]): { dir: string; docs: K8sDoc[] }[] {
  return kustomizationFiles()
    .filter((file) => (parseYaml(readFileSync(file, 'utf8')) as { kind?: string }).kind !== 'Component')
    .map((file) => {
      const dir = dirname(file);
      const result = spawnSync(command[0]!, [...command.slice(1), dir], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(result.status, 0, `${command.join(' ')} ${rel(dir)} renders: ${result.stderr}`);
      return { dir: rel(dir), docs: parseDocs(result.stdout, `${command[0]} kustomize ${rel(dir)}`) };
    });
}

describe('k8s/', () => {
  const { resources, patches } = k8sSources();
  const byKind = (kind: string) => resources.filter((d) => d.object['kind'] === kind);

  it('validates every manifest and patch against the Kubernetes API schemas, unknown fields rejected', () => {
    assert.ok(resources.length >= 2, 'k8s/ holds the Deployment and the Job');
    validateAll(resources, patches);
  });

  it('rejects unknown fields and wrong types (the check above is strict)', () => {
    const deployment = byKind('Deployment')[0]!;
    const typo = structuredClone(deployment.object) as unknown as { spec: { template: { spec: Obj } } };
    const podSpec = typo.spec.template.spec;
    podSpec['initContainer'] = podSpec['initContainers'];
    delete podSpec['initContainers'];
    const nested = structuredClone(deployment.object) as unknown as IDeployment;
    (nested.spec!.template.spec!.containers[0]!.securityContext as Obj)['readOnlyRootFilesytem'] = true;
    const wrongType = structuredClone(deployment.object) as unknown as IDeployment;
    (wrongType.spec!.template.spec!.securityContext as Obj)['runAsUser'] = '65532';
    const patchTypo = structuredClone(patches[0]!.object);
    patchTypo['spec'] = { ...(patchTypo['spec'] as Obj), templates: {} };

    const errors = strictCheck([
      { label: 'initContainer typo', object: typo },
      { label: 'nested typo', object: nested as unknown as Obj },
      { label: 'wrong type', object: wrongType as unknown as Obj },
      { label: 'patch typo', object: patchTypo, partial: true },
      { ...deployment, label: 'unchanged' },
    ]);
    assert.match(errors.get('initContainer typo')!.join('\n'), /'"initContainer"' does not exist in type/);
    assert.match(errors.get('nested typo')!.join('\n'), /'"readOnlyRootFilesytem"' does not exist in type/);
    assert.match(errors.get('wrong type')!.join('\n'), /Type 'string' is not assignable to type 'number'/);
    assert.match(errors.get('patch typo')!.join('\n'), /'"templates"' does not exist in type/);
    assert.deepEqual(errors.get('unchanged'), []);
    // and the required-field check: kubernetes-models' validator refuses a container without a name
    const noName = structuredClone(deployment.object) as unknown as IDeployment;
    delete (noName.spec!.template.spec!.containers[0] as Partial<IContainer>).name;
    assert.throws(() => modelValidate({ label: 'no name', object: noName as unknown as Obj }), /name/);
  });

  it('hardens every container and gives it resources', () => {
    assertHardened(resources);
  });

  it('runs migrate as an initContainer of the sample Deployment, before the app container', () => {
    const deployment = byKind('Deployment').find((d) => d.label.startsWith('k8s/base/'));
    assert.ok(deployment, 'k8s/base holds the Deployment');
    const spec = (deployment.object as unknown as IDeployment).spec!.template.spec!;
    const init = spec.initContainers ?? [];
    assert.equal(init.length, 1);
    assert.equal(init[0]!.name, 'migrate');
    assert.ok(isMigrate(init[0]!));
    assert.deepEqual(init[0]!.args, ['migrate']);
    assert.ok(
      spec.containers.some((c) => !isMigrate(c)),
      'the app container runs after it',
    );
  });

  it('has a pre-deploy hook Job for Helm and Argo CD, bounded in tries and time', () => {
    const jobs = byKind('Job').filter((d) => d.label.startsWith('k8s/job/'));
    assert.equal(jobs.length, 1);
    const job = jobs[0]!.object as unknown as IJob;
    const annotations = job.metadata?.annotations ?? {};
    assert.deepEqual(annotations['helm.sh/hook']?.split(',').sort(), ['pre-install', 'pre-upgrade']);
    assert.equal(annotations['argocd.argoproj.io/hook'], 'PreSync');
    const spec = job.spec!;
    for (const field of ['backoffLimit', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished'] as const) {
      assert.ok(Number.isInteger(spec[field]) && spec[field]! > 0, `${field} is a positive integer`);
    }
    const container = spec.template.spec!.containers.find(isMigrate)!;
    assert.deepEqual(container.args, ['migrate']);
    const waits = Number(envOf(container, 'XYN_WAIT_TIMEOUT')!.value) + Number(envOf(container, 'XYN_LOCK_TIMEOUT')!.value);
    assert.ok(spec.activeDeadlineSeconds! > waits, 'activeDeadlineSeconds leaves room for the wait and lock timeouts');
    assert.equal(spec.template.spec!.restartPolicy, 'Never', 'each try is a pod of its own, its termination message kept');
    const failJob = spec.podFailurePolicy?.rules.find((r) => r.action === 'FailJob');
    assert.deepEqual(failJob?.onExitCodes?.values, [2, 5], 'configuration and verification errors are not retried');
  });

  it('has a post-deploy hook Job (Helm post-install/post-upgrade, Argo CD PostSync) that runs the post phase', () => {
    const jobs = byKind('Job').filter((d) => d.label.startsWith('k8s/post-deploy-job/'));
    assert.equal(jobs.length, 1);
    const job = jobs[0]!.object as unknown as IJob;
    const annotations = job.metadata?.annotations ?? {};
    assert.deepEqual(annotations['helm.sh/hook']?.split(',').sort(), ['post-install', 'post-upgrade']);
    assert.equal(annotations['argocd.argoproj.io/hook'], 'PostSync');
    const preJob = byKind('Job').find((d) => d.label.startsWith('k8s/job/'))!.object as unknown as IJob;
    assert.notEqual(job.metadata?.name, preJob.metadata?.name, 'the two Jobs live side by side');
    const spec = job.spec!;
    const container = spec.template.spec!.containers.find(isMigrate)!;
    assert.deepEqual(container.args, ['migrate', '--phase', 'post']);
    const waits = Number(envOf(container, 'XYN_WAIT_TIMEOUT')!.value) + Number(envOf(container, 'XYN_LOCK_TIMEOUT')!.value);
    assert.ok(spec.activeDeadlineSeconds! > waits, 'activeDeadlineSeconds leaves room for the wait and lock timeouts');
    assert.equal(spec.template.spec!.restartPolicy, 'Never');
    const failJob = spec.podFailurePolicy?.rules.find((r) => r.action === 'FailJob');
    assert.deepEqual(failJob?.onExitCodes?.values, [2, 5], 'configuration and verification errors are not retried');
  });

  it('has a fleet Job: Indexed, one pod per shard (completions = parallelism = XYN_SHARDS), the targets from a ConfigMap', () => {
    const jobs = byKind('Job').filter((d) => d.label.startsWith('k8s/fleet/'));
    assert.equal(jobs.length, 1);
    const spec = (jobs[0]!.object as unknown as IJob).spec!;
    assert.equal(spec.completionMode, 'Indexed');
    const container = spec.template.spec!.containers.find(isMigrate)!;
    const shards = Number(envOf(container, 'XYN_SHARDS')?.value);
    assert.ok(shards >= 1 && spec.completions === shards && spec.parallelism === shards, 'completions = parallelism = XYN_SHARDS');
    assert.equal(envOf(container, 'XYN_TARGETS_FILE')?.value, '/targets/targets.txt');
    assert.equal(container.volumeMounts?.find((m) => m.name === 'targets')?.mountPath, '/targets');
    const failIndex = spec.podFailurePolicy?.rules.find((r) => r.action === 'FailIndex');
    assert.deepEqual(failIndex?.onExitCodes?.values, [2, 5], 'configuration and verification errors are not retried');
    assert.equal(spec.template.spec!.restartPolicy, 'Never');
  });

  it('generates the migrations ConfigMap from exactly the files in migrations/ and mounts it at /migrations', () => {
    const component = join(K8S, 'components', 'configmap-migrations', 'kustomization.yaml');
    const kustomization = parseYaml(readFileSync(component, 'utf8')) as { configMapGenerator: { name: string; files: string[] }[] };
    const generator = kustomization.configMapGenerator.find((g) => g.name === 'xyn-migrations');
    assert.ok(generator, 'a configMapGenerator named xyn-migrations');
    const listed = generator.files.map((f) => resolve(dirname(component), f));
    assert.deepEqual(
      listed.map((f) => rel(f)).sort(),
      migrationFiles().map((f) => `migrations/${f}`),
      'the generator lists every NNN_name.sql file of migrations/ (add new files there)',
    );
    const mounts = patches.filter((p) => p.label.includes('configmap-migrations'));
    assert.equal(mounts.length, 2, 'one mount patch for the Deployment, one for the Job');
    for (const patch of mounts) {
      const spec = podSpecs({ ...patch, object: patch.object }).at(0)?.spec ?? ({} as IPodSpec);
      assert.ok(
        spec.volumes?.some((v) => v.name === 'migrations' && v.configMap?.name === 'xyn-migrations'),
        `${patch.label}: the ConfigMap volume`,
      );
      const mounted = allContainers(spec).flatMap((c) => c.volumeMounts ?? []);
      assert.ok(
        mounted.some((m) => m.name === 'migrations' && m.mountPath === '/migrations' && m.readOnly === true),
        `${patch.label}: mounted read-only at /migrations`,
      );
    }
  });

  it('reads DATABASE_URL from a Secret, and in the CloudNativePG variant from <cluster>-app, key uri', () => {
    const cnpg = patches.filter((p) => p.label.includes('cloudnative-pg'));
    assert.equal(cnpg.length, 2, 'one patch for the Deployment, one for the Job');
    for (const patch of cnpg) {
      const spec = podSpecs(patch)[0]!.spec;
      const containers = allContainers(spec);
      assert.ok(containers.some(() => true));
      for (const container of containers) {
        const ref = envOf(container, 'DATABASE_URL')?.valueFrom?.secretKeyRef;
        assert.match(ref?.name ?? '', /^[a-z0-9-]+-app$/, `${patch.label} ${container.name}: a <cluster>-app Secret`);
        assert.equal(ref?.key, 'uri');
      }
    }
  });

  it('references every file under k8s/ from a kustomization, and nothing that is missing', () => {
    const used = new Set<string>();
    for (const file of kustomizationFiles()) {
      used.add(file);
      const k = parseYaml(readFileSync(file, 'utf8')) as { resources?: string[]; components?: string[]; patches?: { path?: string }[] };
      for (const entry of [
        ...(k.resources ?? []),
        ...(k.components ?? []),
        ...(k.patches ?? []).flatMap((p) => (p.path ? [p.path] : [])),
      ]) {
        const path = resolve(dirname(file), entry);
        assert.ok(existsSync(path), `${rel(file)}: ${entry} exists`);
        used.add(path);
      }
    }
    for (const file of yamlFiles(K8S)) assert.ok(used.has(file), `${rel(file)} is used by a kustomization`);
  });

  it('renders every kustomization, and the output validates and is hardened (needs kustomize or kubectl on PATH)', () => {
    const command = kustomizeCommand();
    // kubectl comes with this project's machine image; a machine without it must fail loudly.
    assert.ok(command, 'no kustomize or kubectl binary on PATH: install kubectl (it ships kustomize) to check the kustomize output');
    const builds = kustomizeBuilds(command);
    assert.ok(builds.length >= 4);
    const all = builds.flatMap((b) => b.docs);
    validateAll(all);
    assertHardened(all);
    const output = (dir: string) => builds.find((b) => b.dir === dir)?.docs ?? assert.fail(`${dir} was rendered`);

    // the ConfigMap variant: the generated (hash-suffixed) ConfigMap holds the migrations and is mounted
    const cmDocs = output('k8s/overlays/configmap-migrations');
    const configMap = cmDocs.find((d) => d.object['kind'] === 'ConfigMap')!.object as unknown as IConfigMap;
    assert.deepEqual(Object.keys(configMap.data ?? {}).sort(), migrationFiles());
    for (const name of migrationFiles()) {
      assert.equal(configMap.data![name], readFileSync(join(ROOT, 'migrations', name), 'utf8'), `${name} is carried unchanged`);
    }
    const cmSpec = podSpecs(cmDocs.find((d) => d.object['kind'] === 'Deployment')!)[0]!.spec;
    assert.equal(cmSpec.volumes?.find((v) => v.name === 'migrations')?.configMap?.name, configMap.metadata?.name);

    // the Job pattern: the pre-deploy Job migrates, the app's pods await it, the post-deploy Job contracts
    const jobDocs = output('k8s/overlays/pre-deploy-job');
    const jobArgs = jobDocs
      .filter((d) => d.object['kind'] === 'Job')
      .map((d) => (d.object as unknown as IJob).spec!.template.spec!.containers.find(isMigrate)!.args);
    assert.deepEqual(jobArgs, [['migrate'], ['migrate', '--phase', 'post']]);
    const awaitSpec = podSpecs(jobDocs.find((d) => d.object['kind'] === 'Deployment')!)[0]!.spec;
    const gate = awaitSpec.initContainers?.[0];
    assert.deepEqual(gate?.args, ['await']);
    assert.ok(Number(envOf(gate, 'XYN_WAIT_TIMEOUT')?.value) >= 300, 'the pods wait long enough for the Job');

    // the CloudNativePG variant reaches every container, the Job's too
    for (const { spec, label } of output('k8s/overlays/cloudnative-pg').flatMap(podSpecs)) {
      for (const container of allContainers(spec)) {
        assert.deepEqual(
          envOf(container, 'DATABASE_URL')?.valueFrom?.secretKeyRef,
          { name: 'xyn-db-app', key: 'uri' },
          `${label} ${container.name}`,
        );
      }
    }
  });
  it('has an overlay per cloud: a ServiceAccount annotated for its workload identity, used by the Job, XYN_AUTH set', () => {
    const command = kustomizeCommand();
    assert.ok(command, 'no kustomize or kubectl binary on PATH: install kubectl (it ships kustomize) to check the kustomize output');
    const clouds = [
      { mode: 'aws-iam', annotation: 'eks.amazonaws.com/role-arn', value: /^arn:aws:iam::\d{12}:role\/[\w+=,.@-]+$/ },
      { mode: 'gcp-iam', annotation: 'iam.gke.io/gcp-service-account', value: /^[a-z][a-z0-9-]*@[a-z0-9-]+\.iam\.gserviceaccount\.com$/ },
      { mode: 'azure-entra', annotation: 'azure.workload.identity/client-id', value: /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/ },
    ];
    const builds = kustomizeBuilds(command);
    for (const { mode, annotation, value } of clouds) {
      const dir = `k8s/overlays/${mode}`;
      const docs = builds.find((b) => b.dir === dir)?.docs ?? assert.fail(`${dir} was rendered`);
      validateAll(docs);
      assertHardened(docs);
      const account = docs.find((d) => d.object['kind'] === 'ServiceAccount')?.object as {
        metadata?: { name?: string; annotations?: Record<string, string> };
      };
      assert.match(account?.metadata?.annotations?.[annotation] ?? '', value, `${dir}: the ServiceAccount's ${annotation}`);
      const job = docs.find((d) => d.object['kind'] === 'Job')!.object as unknown as IJob;
      const spec = job.spec!.template.spec!;
      assert.equal(spec.serviceAccountName, account.metadata?.name, `${dir}: the Job runs as that ServiceAccount`);
      const migrate = allContainers(spec).find(isMigrate)!;
      assert.equal(envOf(migrate, 'XYN_AUTH')?.value, mode, `${dir}: XYN_AUTH=${mode}`);
      for (const volume of spec.volumes ?? []) {
        assert.ok(
          migrate.volumeMounts?.some((m) => m.name === volume.name && m.readOnly === true),
          `${dir}: ${volume.name} mounted read-only`,
        );
      }
      if (mode === 'azure-entra') {
        assert.equal(
          job.spec!.template.metadata?.labels?.['azure.workload.identity/use'],
          'true',
          `${dir}: the pod label for AKS's webhook`,
        );
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

interface ComposeService {
  build?: string | { context?: string };
  image?: string;
  depends_on?: string[] | Record<string, { condition?: string }>;
  environment?: string[] | Record<string, string | number | boolean | null>;
  healthcheck?: { test?: string | string[] };
  restart?: string;
  read_only?: boolean;
  user?: string;
}
interface Compose {
  services: Record<string, ComposeService>;
}

/** The compose-spec JSON schema as dclint ships it, compiled with ajv (draft-07). */
function composeValidator() {
  const schemaPath = join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Obj;
  delete schema['$schema']; // draft-07, spelled with https and no '#', which ajv does not know by that name
  // strict: false only lets ajv ignore the schema's own annotation keywords; the schema's
  // additionalProperties: false still rejects every unknown key of the compose file.
  const ajv = new AjvModule.default({ allErrors: true, strict: false, allowUnionTypes: true });
  return { ajv, validate: ajv.compile(schema) };
}

describe('docker-compose.yml', () => {
  const { ajv, validate } = composeValidator();
  const compose = parseYaml(read('docker-compose.yml')) as Compose;
  const condition = (service: ComposeService, on: string) =>
    Array.isArray(service.depends_on) ? undefined : service.depends_on?.[on]?.condition;

  it('validates against the compose-spec JSON schema', () => {
    const ok = validate(compose);
    assert.ok(ok, `docker-compose.yml: ${ajv.errorsText(validate.errors)}`);
  });

  it('the schema check is strict: a misspelt key or condition fails', () => {
    const typo = structuredClone(compose) as unknown as { services: Record<string, Obj> };
    typo.services['app']!['dependson'] = typo.services['app']!['depends_on'];
    delete typo.services['app']!['depends_on'];
    assert.equal(validate(typo), false);
    assert.match(ajv.errorsText(validate.errors), /must NOT have additional properties/);
    const badCondition = structuredClone(compose);
    (badCondition.services['app']!.depends_on as Record<string, { condition: string }>)['migrate']!.condition = 'service_completed';
    assert.equal(validate(badCondition), false);
  });

  it('chains app → migrate → postgres: healthy database, migration completed successfully', () => {
    const { postgres, migrate, app } = compose.services;
    assert.ok(postgres && migrate && app, 'services postgres, migrate and app');
    const test = postgres.healthcheck?.test;
    assert.match(Array.isArray(test) ? test.join(' ') : (test ?? ''), /\bpg_isready\b/, 'postgres has a pg_isready healthcheck');

    const context = typeof migrate.build === 'string' ? migrate.build : migrate.build?.context;
    assert.equal(context, '.', 'migrate is built from this repository');
    assert.equal(condition(migrate, 'postgres'), 'service_healthy');
    assert.equal(migrate.restart, 'no', 'migrate is a one-shot job');
    const environment = migrate.environment;
    assert.ok(environment && !Array.isArray(environment) && typeof environment['DATABASE_URL'] === 'string', 'migrate gets DATABASE_URL');
    assert.equal(migrate.read_only, true, 'read-only root filesystem, as in Kubernetes');
    assert.match(migrate.user ?? '', /^[1-9]\d*(:\d+)?$/, 'a numeric non-root user');

    assert.equal(condition(app, 'migrate'), 'service_completed_successfully', 'app starts only after migrate exited 0');
    assert.equal(condition(migrate, 'app'), undefined, 'no cycle');
    assert.equal(condition(postgres, 'migrate') ?? condition(postgres, 'app'), undefined, 'no cycle');
  });
});

// ---------------------------------------------------------------------------------------------
// The Deploy documentation: its YAML blocks are meant to be pasted, so they must validate too.

describe('the Deploy documentation', () => {
  const deployFiles = ['README.md', 'docs/compose.md', 'docs/kubernetes.md'];
  const source = { text: deployFiles.map((file) => read(file)).join('\n') };
  const commands = read('docs/commands.md');

  it('has the copy-pasteable blocks: initContainer, Job, compose, docker run --read-only', () => {
    const blocks = (lang: string) => [...source.text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
    assert.ok(
      blocks('sh').some((b) => /docker run --rm --read-only/.test(b)),
      'a docker run --read-only block',
    );
    assert.ok(
      blocks('yaml').some((b) => /^initContainers:/m.test(b)),
      'an initContainer block',
    );
    assert.ok(
      blocks('yaml').some((b) => /^kind: Job$/m.test(b)),
      'a Job block',
    );
    assert.ok(
      blocks('yaml').some((b) => /^services:/m.test(b) && /service_completed_successfully/.test(b)),
      'a compose block',
    );
    // one exit codes table, in docs/commands.md; the deploy pages link to it
    assert.match(source.text, /\]\(commands\.md#exit-codes\)/, 'the deploy docs link to the exit codes table');
    for (const code of ['0', '1', '2', '3', '4', '5', '130 / 143']) {
      assert.equal(commands.match(new RegExp(`^\\| ${code} \\|`, 'gm'))?.length, 1, `the one exit codes table has ${code}, once`);
    }
  });

  it('every YAML block validates (Kubernetes objects, pod-spec fragments, env lists, compose files)', () => {
    const blocks = deployFiles.flatMap((file) =>
      [...read(file).matchAll(/```yaml\n([\s\S]*?)```/g)].map((m, i) => ({ label: `${file} yaml block ${i + 1}`, text: m[1]! })),
    );
    assert.ok(blocks.length >= 4);
    const objects: K8sDoc[] = [];
    const fragments: (K8sDoc & { partial: true })[] = [];
    const { validate: validateCompose } = composeValidator();
    const wrap = (podSpec: unknown): Obj => ({ apiVersion: 'apps/v1', kind: 'Deployment', spec: { template: { spec: podSpec } } });
    for (const block of blocks) {
      const value: unknown = parseYaml(block.text);
      if (isObj(value) && 'kind' in value) objects.push({ label: block.label, object: value });
      else if (isObj(value) && 'services' in value)
        assert.ok(validateCompose(value), `${block.label}: ${JSON.stringify(validateCompose.errors)}`);
      else if (isObj(value) && ('initContainers' in value || 'containers' in value))
        fragments.push({ label: block.label, object: wrap(value), partial: true });
      else if (Array.isArray(value) && value.every((e) => isObj(e) && typeof e['name'] === 'string')) {
        fragments.push({ label: block.label, object: wrap({ containers: [{ name: 'x', env: value }] }), partial: true });
      } else assert.fail(`${block.label}: not a Kubernetes object, pod-spec fragment, env list or compose file`);
    }
    assert.ok(objects.length > 0 && fragments.length > 0);
    validateAll(objects, fragments);
    assertHardened(objects);
    assertHardened(fragments.filter((f) => JSON.stringify(f.object).includes('"initContainers"')));
  });
});
