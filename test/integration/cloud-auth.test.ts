/**
 * XYN_AUTH without any cloud: loopback stand-ins issue the credentials and tokens, and the
 * database role's password is set to each token as it is issued (ALTER ROLE … PASSWORD), so a
 * run succeeds only when it used the token it was just given.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { migrationsDir, runCli, startCli, type CliResult, type Env } from '../support/cli.js';
import {
  managedServer,
  localhostCertificate,
  standIn,
  tokenFile,
  validRdsToken,
  type ManagedServer,
  type StandIn,
  type IssuedAwsCredentials,
} from '../support/cloud.js';
import { adminQuery, freshDatabase, testServer, untilRunning, type TestDatabase } from '../support/postgres.js';
import { reservePort } from '../support/proxy.js';

const server = testServer();
const scratch = mkdtempSync(join(tmpdir(), 'xyn-cloud-'));
const roles: string[] = [];
/** the databases the roles own: dropped here too, when a failed test left its own */
const owned: string[] = [];
after(async () => {
  rmSync(scratch, { recursive: true, force: true });
  for (const name of owned) await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  for (const role of roles) await adminQuery(`DROP ROLE IF EXISTS "${role}"`);
});

/**
 * The managed server every test logs in to: it asks for the password in clear text, and `check`
 * (set by each test) says whether the token is one the stand-in issued and still alive; accepted,
 * the token becomes the role's password and the login goes on to the test PostgreSQL.
 */
let managed: ManagedServer;
let managedCaFile: string;
let check: (password: string, user: string) => Promise<string | undefined> = () => Promise.resolve('no check set');
before(async () => {
  const tls = localhostCertificate();
  managedCaFile = tls.caFile;
  managed = await managedServer(server.port, tls, (password, user) => check(password, user));
});
after(() => managed.close());

/** Accepts the tokens `issued` while they live (expiresAt, ms), making each the role's password as it is used. */
function acceptIssued(issued: ReadonlyMap<string, number>): typeof check {
  return async (password, user) => {
    const expiresAt = issued.get(password);
    if (expiresAt === undefined || Date.now() >= expiresAt) return `password authentication failed for user "${user}"`;
    await setPassword(user, password);
    return undefined;
  };
}

const quoted = (text: string) => `'${text.replaceAll("'", "''")}'`;
const setPassword = (role: string, password: string) => adminQuery(`ALTER ROLE "${role}" PASSWORD ${quoted(password)}`);

/** A login role with no password yet, owning `databases`. */
async function tokenRole(databases: readonly TestDatabase[], name = `cloud_${randomBytes(4).toString('hex')}`): Promise<string> {
  await adminQuery(`CREATE ROLE "${name}" LOGIN`);
  roles.push(name);
  for (const db of databases) {
    owned.push(db.name);
    await adminQuery(`ALTER DATABASE ${db.name} OWNER TO "${name}"`);
  }
  return name;
}

/** No sslmode: a token mode's default, verify-full, with the CA of the managed server's certificate for localhost. */
const tlsUrl = (role: string, database: string) =>
  `postgres://${encodeURIComponent(role)}@localhost:${managed.port}/${database}?sslrootcert=${managedCaFile}`;

const migrations = () => migrationsDir({ '001_accounts.sql': 'CREATE TABLE accounts (id int);' });

async function ledgerIds(db: TestDatabase): Promise<string[]> {
  const [exists] = await db.query(`SELECT to_regclass('public.schema_migrations') IS NOT NULL AS present`);
  if (!exists?.present) return [];
  return (await db.query('SELECT id FROM schema_migrations ORDER BY id')).map((row) => row.id as string);
}

function assertNoneShown(result: CliResult, secrets: readonly string[]): void {
  for (const secret of secrets) {
    assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), `a secret (${secret.slice(0, 6)}…) was printed`);
  }
}

const bodyOf = (body: string) => Object.fromEntries(new URLSearchParams(body));

describe('XYN_AUTH=aws-iam: a SigV4 token, checked as RDS does', () => {
  const region = 'eu-west-1';
  const issued: IssuedAwsCredentials[] = [];
  /** roles granted rds_iam: RDS refuses the others */
  const rdsIam = new Set<string>();

  const issueCredentials = (): IssuedAwsCredentials => {
    const credentials = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(20).toString('base64'),
      sessionToken: `IQoJb3JpZ2luX2Vj${randomBytes(24).toString('hex')}`,
    };
    issued.push(credentials);
    return credentials;
  };
  const expiration = () => new Date(Date.now() + 3600_000).toISOString();

  before(() => {
    check = async (password, user) => {
      if (!rdsIam.has(user) || !validRdsToken(password, user, managed.port, region, issued))
        return `PAM authentication failed for user "${user}"`;
      await setPassword(user, password);
      return undefined;
    };
  });

  async function migrateThroughRds(env: Env, options: { grantRdsIam?: boolean } = {}) {
    const db = await freshDatabase('cloud');
    const role = await tokenRole([db]);
    if (options.grantRdsIam ?? true) rdsIam.add(role);
    const passwordsBefore = managed.passwords.length;
    const result = await runCli([], {
      DATABASE_URL: tlsUrl(role, db.name),
      XYN_AUTH: 'aws-iam',
      AWS_REGION: region,
      XYN_MIGRATIONS_DIR: migrations(),
      XYN_WAIT_TIMEOUT: '10',
      ...env,
    });
    return { db, role, result, tokens: managed.passwords.slice(passwordsBefore) };
  }

  it('web identity (EKS IRSA): STS is given the projected token and the role; its credentials sign the token', async () => {
    const webIdentityToken = `eyJ.irsa.${randomBytes(16).toString('hex')}`;
    const sts = await standIn((req) => {
      const form = bodyOf(req.body);
      if (req.method !== 'POST' || form.Action !== 'AssumeRoleWithWebIdentity') return undefined;
      if (form.WebIdentityToken !== webIdentityToken || form.RoleArn !== 'arn:aws:iam::123456789012:role/migrator') {
        return {
          status: 403,
          text: '<ErrorResponse><Error><Code>AccessDenied</Code><Message>Not authorized</Message></Error></ErrorResponse>',
        };
      }
      const c = issueCredentials();
      return {
        text: `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>${c.accessKeyId}</AccessKeyId><SecretAccessKey>${c.secretAccessKey}</SecretAccessKey><SessionToken>${c.sessionToken}</SessionToken><Expiration>${expiration()}</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`,
      };
    });
    try {
      const { db, result, tokens } = await migrateThroughRds({
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile(scratch, 'irsa-token', `${webIdentityToken}\n`),
        AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/migrator',
        AWS_ENDPOINT_URL_STS: sts.url,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(await ledgerIds(db), ['001_accounts']);
      assert.equal(sts.requests.length, 1);
      assert.equal(tokens.length, 1);
      assertNoneShown(result, [...tokens, webIdentityToken, issued.at(-1)!.secretAccessKey, issued.at(-1)!.sessionToken]);
      await db.drop();
    } finally {
      await sts.close();
    }
  });

  it('EKS Pod Identity: the agent is asked with the authorization token from its file', async () => {
    const agentToken = `pod-identity-${randomBytes(16).toString('hex')}`;
    const agent = await standIn((req) => {
      if (req.path !== '/v1/credentials') return undefined;
      if (req.headers.authorization !== agentToken) return { status: 401, json: { message: 'bad token' } };
      const c = issueCredentials();
      return { json: { AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, Token: c.sessionToken, Expiration: expiration() } };
    });
    try {
      const { db, result, tokens } = await migrateThroughRds({
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${agent.url}/v1/credentials`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile(scratch, 'pod-identity-token', agentToken),
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(await ledgerIds(db), ['001_accounts']);
      assert.equal(agent.requests.length, 1);
      assertNoneShown(result, [...tokens, agentToken, issued.at(-1)!.secretAccessKey]);
      await db.drop();
    } finally {
      await agent.close();
    }
  });

  it("the instance metadata service (IMDSv2): a session token, the instance's role, its credentials", async () => {
    const session = `imds-${randomBytes(8).toString('hex')}`;
    const imds = await standIn((req) => {
      if (req.method === 'PUT' && req.path === '/latest/api/token' && req.headers['x-aws-ec2-metadata-token-ttl-seconds'])
        return { text: session };
      if (req.headers['x-aws-ec2-metadata-token'] !== session) return { status: 401, text: '' };
      if (req.path === '/latest/meta-data/iam/security-credentials/') return { text: 'migrator-instance-role' };
      if (req.path !== '/latest/meta-data/iam/security-credentials/migrator-instance-role') return undefined;
      const c = issueCredentials();
      return {
        json: {
          Code: 'Success',
          AccessKeyId: c.accessKeyId,
          SecretAccessKey: c.secretAccessKey,
          Token: c.sessionToken,
          Expiration: expiration(),
        },
      };
    });
    try {
      const { db, result } = await migrateThroughRds({ AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(await ledgerIds(db), ['001_accounts']);
      assert.deepEqual(
        imds.requests.map((r) => `${r.method} ${r.path}`),
        [
          'PUT /latest/api/token',
          'GET /latest/meta-data/iam/security-credentials/',
          'GET /latest/meta-data/iam/security-credentials/migrator-instance-role',
        ],
      );
      await db.drop();
    } finally {
      await imds.close();
    }
  });

  it('a role without rds_iam: the server refuses the token (PAM authentication failed), exit 3 saying so', async () => {
    const c = issueCredentials();
    const { db, role, result, tokens } = await migrateThroughRds(
      { AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey, AWS_SESSION_TOKEN: c.sessionToken },
      { grantRdsIam: false },
    );
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.lastMessage, /refused the XYN_AUTH=aws-iam token for user/);
    assert.match(result.lastMessage, /PAM authentication failed/);
    assert.match(result.lastMessage, new RegExp(`GRANT rds_iam TO "${role}"`));
    assert.equal(tokens.length, 1, 'fatal at once: not retried');
    assert.deepEqual(await ledgerIds(db), []);
    assertNoneShown(result, [...tokens, c.secretAccessKey, c.sessionToken]);
    await db.drop();
  });

  it('no credentials anywhere: exit 2 naming every source tried', async () => {
    const closedPort = await reservePort();
    const { db, result, tokens } = await migrateThroughRds({ AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${closedPort}` });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.lastMessage, /^XYN_AUTH=aws-iam: no AWS credentials found; tried the environment/);
    assert.match(result.lastMessage, /AWS_WEB_IDENTITY_TOKEN_FILE/);
    assert.match(result.lastMessage, /AWS_CONTAINER_CREDENTIALS_FULL_URI/);
    assert.match(
      result.lastMessage,
      /and the instance metadata service at http:\/\/127\.0\.0\.1:\d+ could not be reached \(ECONNREFUSED\)$/,
    );
    assert.deepEqual(tokens, [], 'no password was sent');
    assert.deepEqual(await ledgerIds(db), []);
    await db.drop();
  });
});

describe('XYN_AUTH=gcp-iam: an access token from application default credentials', () => {
  /** What a run needs to take its token from `metadata`, with no gcloud credentials file to find first. */
  const fromMetadata = (metadata: StandIn) => ({
    GCE_METADATA_HOST: metadata.hostPort,
    CLOUDSDK_CONFIG: mkdtempSync(join(scratch, 'gcloud-')),
  });

  /** Google's metadata server, issuing tokens that live `lifeSeconds` into `issued`; with `notReadyFirst`, the first answer is a 503. */
  function metadataServer(issued: Map<string, number>, lifeSeconds: number, notReadyFirst = false): Promise<StandIn> {
    let answered = 0;
    return standIn((req) => {
      if (!req.path.startsWith('/computeMetadata/v1/instance/service-accounts/default/token')) return undefined;
      if (req.headers['metadata-flavor'] !== 'Google') return { status: 403, text: 'Missing Metadata-Flavor:Google header.' };
      if (notReadyFirst && answered++ === 0) return { status: 503, text: 'not ready' };
      const token = `ya29.stand-in-${randomBytes(16).toString('hex')}`;
      issued.set(token, Date.now() + lifeSeconds * 1000);
      return { json: { access_token: token, expires_in: lifeSeconds, token_type: 'Bearer' } };
    });
  }

  it('the metadata server (GKE workload identity): fetched per connection, again once the last one expired', async () => {
    const [first, second] = [await freshDatabase('cloud'), await freshDatabase('cloud')];
    const role = await tokenRole([first, second]);
    const issued = new Map<string, number>();
    check = acceptIssued(issued);
    const metadata = await metadataServer(issued, 2);
    try {
      // One target at a time; each takes 1.5 s, longer than a 2-second token stays fresh (half its life).
      const result = await runCli([], {
        DATABASE_URL: tlsUrl(role, first.name),
        XYN_AUTH: 'gcp-iam',
        ...fromMetadata(metadata),
        XYN_TARGETS_FILE: tokenFile(scratch, 'targets', `${first.name}\n${second.name}\n`),
        XYN_CONCURRENCY: '1',
        XYN_MIGRATIONS_DIR: migrationsDir({ '001_slow.sql': 'CREATE TABLE accounts (id int); SELECT pg_sleep(1.5);' }),
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(await ledgerIds(first), ['001_slow']);
      // the first token had expired when the second target connected: it was given a new one
      assert.deepEqual(await ledgerIds(second), ['001_slow']);
      assert.ok(issued.size >= 2, `expected a new token for a connection after expiry, got ${issued.size}`);
      assert.match(metadata.requests[0]!.path, /scopes=https%3A%2F%2Fwww\.googleapis\.com%2Fauth%2Fsqlservice\.login/);
      assertNoneShown(result, [...issued.keys()]);
      await Promise.all([first.drop(), second.drop()]);
    } finally {
      await metadata.close();
    }
  });

  it("the blocking budget's watchdog, a second connection, logs in with a token too", async () => {
    const db = await freshDatabase('cloud');
    const role = await tokenRole([db]);
    const issued = new Map<string, number>();
    check = acceptIssued(issued);
    const metadata = await metadataServer(issued, 3600);
    try {
      const logins = managed.passwords.length;
      // a rewrite that would hold ACCESS EXCLUSIVE for a minute, with a reader queued behind it
      const dir = migrationsDir({
        '001_orders.sql': `CREATE TABLE orders (id int, amount int); INSERT INTO orders VALUES (1, 1);
CREATE FUNCTION slowly(v int) RETURNS int LANGUAGE sql AS $$ SELECT v FROM pg_sleep(60) $$;`,
        '002_rewrite.sql': 'ALTER TABLE orders ALTER COLUMN amount TYPE bigint USING slowly(amount);',
      });
      const { result } = startCli([], {
        DATABASE_URL: tlsUrl(role, db.name),
        XYN_AUTH: 'gcp-iam',
        ...fromMetadata(metadata),
        XYN_MIGRATIONS_DIR: dir,
        XYN_MAX_BLOCKING: '1',
      });
      await untilRunning(db, 'slowly(amount)');
      const reader = (await db.client()).query('SELECT count(*) FROM orders');
      const run = await result;
      await reader;
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.lastMessage, /was cancelled by the blocking budget/);
      assert.ok(managed.passwords.length - logins >= 2, 'the migration and its watchdog each logged in');
      assert.ok(
        managed.passwords.slice(logins).every((password) => issued.has(password)),
        'each with an issued token',
      );
      assert.deepEqual(await ledgerIds(db), ['001_orders']);
      assertNoneShown(run, [...issued.keys()]);
      await db.drop();
    } finally {
      await metadata.close();
    }
  });

  it('a metadata server not answering yet (a GKE pod just started) is waited for, then its token used', async () => {
    const db = await freshDatabase('cloud');
    const role = await tokenRole([db]);
    const issued = new Map<string, number>();
    check = acceptIssued(issued);
    const metadata = await metadataServer(issued, 3600, true);
    try {
      const result = await runCli([], {
        DATABASE_URL: tlsUrl(role, db.name),
        XYN_AUTH: 'gcp-iam',
        ...fromMetadata(metadata),
        XYN_MIGRATIONS_DIR: migrations(),
        XYN_WAIT_TIMEOUT: '20',
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(await ledgerIds(db), ['001_accounts']);
      assert.equal(metadata.requests.length, 2, 'asked again on the next wait attempt');
      const waiting = result.logs.find((line) => line.msg === 'waiting for PostgreSQL');
      assert.match(String(waiting?.reason), /XYN_AUTH=gcp-iam: .*the metadata server answered HTTP 503/);
      await db.drop();
    } finally {
      await metadata.close();
    }
  });

  it("a service account key (GOOGLE_APPLICATION_CREDENTIALS): a signed JWT for the Cloud SQL login scope; the user is the account's IAM name", async () => {
    const db = await freshDatabase('cloud');
    const principal = await tokenRole([db], `cloud-${randomBytes(4).toString('hex')}@project.iam`);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const issued = new Map<string, number>();
    check = acceptIssued(issued);
    const google = await standIn((req) => {
      if (req.method !== 'POST' || req.path !== '/token') return undefined;
      const form = bodyOf(req.body);
      const [header, claims, signature] = (form.assertion ?? '').split('.');
      const signed = verify('RSA-SHA256', Buffer.from(`${header}.${claims}`), publicKey, Buffer.from(signature ?? '', 'base64url'));
      const claim = JSON.parse(Buffer.from(claims ?? '', 'base64url').toString()) as Record<string, unknown>;
      if (form.grant_type !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' || !signed)
        return { status: 400, json: { error: 'invalid_grant' } };
      if (claim.iss !== principal.replace(/@project\.iam$/, '@project.iam.gserviceaccount.com') || claim.aud !== `${google.url}/token`) {
        return { status: 400, json: { error: 'invalid_grant', error_description: 'bad claims' } };
      }
      if (claim.scope !== 'https://www.googleapis.com/auth/sqlservice.login') return { status: 400, json: { error: 'invalid_scope' } };
      const token = `ya29.sa-${randomBytes(16).toString('hex')}`;
      issued.set(token, Date.now() + 3599_000);
      return { json: { access_token: token, expires_in: 3599, token_type: 'Bearer' } };
    });
    try {
      const key = {
        type: 'service_account',
        client_email: principal.replace(/@project\.iam$/, '@project.iam.gserviceaccount.com'),
        private_key_id: 'k1',
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
        token_uri: `${google.url}/token`,
      };
      const result = await runCli([], {
        DATABASE_URL: tlsUrl(principal, db.name),
        XYN_AUTH: 'gcp-iam',
        GOOGLE_APPLICATION_CREDENTIALS: tokenFile(scratch, 'sa.json', JSON.stringify(key)),
        XYN_MIGRATIONS_DIR: migrations(),
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(await ledgerIds(db), ['001_accounts']);
      assert.equal(issued.size, 1);
      assertNoneShown(result, [...issued.keys()]);
      await db.drop();
    } finally {
      await google.close();
    }
  });
  it('an external account (workload identity federation): the subject token exchanged at STS, then a service account impersonated', async () => {
    const db = await freshDatabase('cloud');
    const principal = await tokenRole([db], `cloud-${randomBytes(4).toString('hex')}@project.iam`);
    const subject = `eyJ.k8s.${randomBytes(16).toString('hex')}`;
    const audience = '//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/k8s';
    const issued = new Map<string, number>();
    check = acceptIssued(issued);
    let federated = '';
    const google = await standIn((req) => {
      if (req.method === 'POST' && req.path === '/v1/token') {
        const form = bodyOf(req.body);
        const good =
          form.subject_token === subject &&
          form.audience === audience &&
          form.grant_type === 'urn:ietf:params:oauth:grant-type:token-exchange';
        if (!good) return { status: 400, json: { error: 'invalid_grant' } };
        federated = `ya29.federated-${randomBytes(16).toString('hex')}`;
        return { json: { access_token: federated, expires_in: 3600, token_type: 'Bearer' } };
      }
      if (req.method === 'POST' && req.path.endsWith(':generateAccessToken')) {
        const body = JSON.parse(req.body) as { scope?: string[] };
        if (
          req.headers.authorization !== `Bearer ${federated}` ||
          !body.scope?.includes('https://www.googleapis.com/auth/sqlservice.login')
        ) {
          return { status: 403, json: { error: { message: 'Permission iam.serviceAccounts.getAccessToken denied' } } };
        }
        const token = `ya29.impersonated-${randomBytes(16).toString('hex')}`;
        issued.set(token, Date.now() + 3600_000);
        return { json: { accessToken: token, expireTime: new Date(Date.now() + 3600_000).toISOString() } };
      }
      return undefined;
    });
    try {
      const configuration = {
        type: 'external_account',
        audience,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        token_url: `${google.url}/v1/token`,
        service_account_impersonation_url: `${google.url}/v1/projects/-/serviceAccounts/${principal}.gserviceaccount.com:generateAccessToken`,
        credential_source: { file: tokenFile(scratch, 'k8s-token', subject) },
      };
      const result = await runCli([], {
        DATABASE_URL: tlsUrl(principal, db.name),
        XYN_AUTH: 'gcp-iam',
        GOOGLE_APPLICATION_CREDENTIALS: tokenFile(scratch, 'external.json', JSON.stringify(configuration)),
        XYN_MIGRATIONS_DIR: migrations(),
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(await ledgerIds(db), ['001_accounts']);
      assert.deepEqual(
        google.requests.map((r) => r.path.replace(/serviceAccounts\/.*:/, 'serviceAccounts/SA:')),
        ['/v1/token', '/v1/projects/-/serviceAccounts/SA:generateAccessToken'],
      );
      assertNoneShown(result, [...issued.keys(), federated, subject]);
      await db.drop();
    } finally {
      await google.close();
    }
  });
});

describe('XYN_AUTH=azure-entra: a token for Azure Database for PostgreSQL', () => {
  const scope = 'https://ossrdbms-aad.database.windows.net/.default';

  async function run(db: TestDatabase, role: string, env: Env): Promise<CliResult> {
    return runCli([], { DATABASE_URL: tlsUrl(role, db.name), XYN_AUTH: 'azure-entra', XYN_MIGRATIONS_DIR: migrations(), ...env });
  }

  it('workload identity (AKS): the federated token file is the client assertion, for the database scope', async () => {
    const db = await freshDatabase('cloud');
    const role = await tokenRole([db]);
    const federated = `eyJ.aks.${randomBytes(16).toString('hex')}`;
    const issued = new Map<string, number>();
    check = acceptIssued(issued);
    const entra = await standIn((req) => {
      if (req.method !== 'POST' || req.path !== '/tenant-1234/oauth2/v2.0/token') return undefined;
      const form = bodyOf(req.body);
      const good =
        form.client_assertion === federated &&
        form.client_id === 'client-5678' &&
        form.scope === scope &&
        form.grant_type === 'client_credentials' &&
        form.client_assertion_type === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
      if (!good) return { status: 400, json: { error: 'invalid_client', error_description: 'AADSTS700016' } };
      const token = `eyJ.entra.${randomBytes(16).toString('hex')}`;
      issued.set(token, Date.now() + 3599_000);
      return { json: { token_type: 'Bearer', expires_in: 3599, access_token: token } };
    });
    try {
      const result = await run(db, role, {
        AZURE_FEDERATED_TOKEN_FILE: tokenFile(scratch, 'azure-token', federated),
        AZURE_CLIENT_ID: 'client-5678',
        AZURE_TENANT_ID: 'tenant-1234',
        AZURE_AUTHORITY_HOST: `${entra.url}/`,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(await ledgerIds(db), ['001_accounts']);
      assert.equal(issued.size, 1);
      assertNoneShown(result, [...issued.keys(), federated]);
      await db.drop();
    } finally {
      await entra.close();
    }
  });

  it('a managed identity through the instance metadata service', async () => {
    const db = await freshDatabase('cloud');
    const role = await tokenRole([db]);
    const issued = new Map<string, number>();
    check = acceptIssued(issued);
    const imds = await standIn((req) => {
      const url = new URL(req.path, 'http://x');
      if (url.pathname !== '/metadata/identity/oauth2/token' || req.headers.metadata !== 'true') return undefined;
      if (url.searchParams.get('resource') !== 'https://ossrdbms-aad.database.windows.net')
        return { status: 400, json: { error: 'invalid_resource' } };
      const token = `eyJ.mi.${randomBytes(16).toString('hex')}`;
      issued.set(token, Date.now() + 86399_000);
      return { json: { access_token: token, expires_in: '86399', token_type: 'Bearer' } };
    });
    try {
      const result = await run(db, role, { AZURE_POD_IDENTITY_AUTHORITY_HOST: imds.url });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(await ledgerIds(db), ['001_accounts']);
      await db.drop();
    } finally {
      await imds.close();
    }
  });

  it("App Service / Container Apps' managed identity endpoint (IDENTITY_ENDPOINT, IDENTITY_HEADER)", async () => {
    const db = await freshDatabase('cloud');
    const role = await tokenRole([db]);
    const header = `identity-header-${randomBytes(8).toString('hex')}`;
    const issued = new Map<string, number>();
    check = acceptIssued(issued);
    const endpoint = await standIn((req) => {
      const url = new URL(req.path, 'http://x');
      if (url.pathname !== '/msi/token' || req.headers['x-identity-header'] !== header) return undefined;
      if (
        url.searchParams.get('api-version') !== '2019-08-01' ||
        url.searchParams.get('resource') !== 'https://ossrdbms-aad.database.windows.net'
      ) {
        return { status: 400, json: { error: 'invalid_request' } };
      }
      const token = `eyJ.appservice.${randomBytes(16).toString('hex')}`;
      issued.set(token, Date.now() + 3600_000);
      return { json: { access_token: token, expires_on: String(Math.floor(Date.now() / 1000) + 3600), token_type: 'Bearer' } };
    });
    try {
      const result = await run(db, role, { IDENTITY_ENDPOINT: `${endpoint.url}/msi/token`, IDENTITY_HEADER: header });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(await ledgerIds(db), ['001_accounts']);
      assert.equal(issued.size, 1);
      assertNoneShown(result, [...issued.keys(), header]);
      await db.drop();
    } finally {
      await endpoint.close();
    }
  });

  it('a token the server refuses (no Entra role of that name): exit 3 naming the mode and what to check', async () => {
    const db = await freshDatabase('cloud');
    const role = await tokenRole([db]);
    const token = `eyJ.unknown.${randomBytes(16).toString('hex')}`;
    check = acceptIssued(new Map()); // a token of another identity: this server knows no role for it
    const imds = await standIn(() => ({ json: { access_token: token, expires_in: '3599' } }));
    try {
      const result = await run(db, role, { AZURE_POD_IDENTITY_AUTHORITY_HOST: imds.url });
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.lastMessage, new RegExp(`refused the XYN_AUTH=azure-entra token for user "${role}" \\(28P01`));
      assert.match(result.lastMessage, /pgaadauth_create_principal/);
      assert.deepEqual(await ledgerIds(db), []);
      assertNoneShown(result, [token]);
      await db.drop();
    } finally {
      await imds.close();
    }
  });

  it('Entra ID refusing the identity is exit 2 with its error; the federated token is not shown', async () => {
    const db = await freshDatabase('cloud');
    const role = await tokenRole([db]);
    const federated = `eyJ.aks.${randomBytes(16).toString('hex')}`;
    const entra = await standIn(() => ({
      status: 401,
      json: { error: 'invalid_client', error_description: 'AADSTS70021: No matching federated identity record found' },
    }));
    try {
      const result = await run(db, role, {
        AZURE_FEDERATED_TOKEN_FILE: tokenFile(scratch, 'azure-token-2', federated),
        AZURE_CLIENT_ID: 'client-5678',
        AZURE_TENANT_ID: 'tenant-1234',
        AZURE_AUTHORITY_HOST: entra.url,
      });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.lastMessage, /^XYN_AUTH=azure-entra: Microsoft Entra ID .* answered HTTP 401: invalid_client: AADSTS70021/);
      assert.deepEqual(await ledgerIds(db), []);
      assertNoneShown(result, [federated]);
      await db.drop();
    } finally {
      await entra.close();
    }
  });
});
