import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { awsRegion } from '../../src/auth/aws.js';
import { checkedUrl } from '../../src/auth/http.js';
import { presignQuery, rdsAuthToken, signingKey } from '../../src/auth/sigv4.js';
import { isFresh } from '../../src/auth/token.js';
import { loadConfig } from '../../src/config.js';
import { resolveTargets } from '../../src/fleet/targets.js';
import { assertConfigError } from '../support/assertions.js';

describe('SigV4, checked against the examples AWS publishes', () => {
  it('derives the signing key of the documented example (20120215, us-east-1, iam)', () => {
    const key = signingKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam');
    assert.equal(key.toString('hex'), 'f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
  });

  it("presigns S3's documented query-string example (GET /test.txt, 86400 s)", () => {
    const query = presignQuery(
      {
        host: 'examplebucket.s3.amazonaws.com',
        path: '/test.txt',
        query: {},
        service: 's3',
        region: 'us-east-1',
        expiresInSeconds: 86400,
        now: new Date('2013-05-24T00:00:00Z'),
        payloadHash: 'UNSIGNED-PAYLOAD',
      },
      { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    );
    assert.equal(
      query,
      'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    );
  });

  it("makes the RDS auth token of botocore's generate_db_auth_token test", () => {
    const token = rdsAuthToken(
      { host: 'prod-instance.us-east-1.rds.amazonaws.com', port: 3306, user: 'someusername' },
      'us-east-1',
      { accessKeyId: 'akid', secretAccessKey: 'skid' },
      new Date('2016-11-07T17:39:33Z'),
    );
    assert.equal(
      token,
      'prod-instance.us-east-1.rds.amazonaws.com:3306/?Action=connect&DBUser=someusername&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=akid%2F20161107%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20161107T173933Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=d1138cdbc0ca63eec012ec0fc6c2267e03642168f5884a7795320d4c18374c61',
    );
  });

  it('signs a session token and encodes the user as SigV4 wants (space %20, @ %40)', () => {
    const token = rdsAuthToken({ host: 'db.example', port: 5432, user: 'app user@x' }, 'eu-west-1', {
      accessKeyId: 'AKID',
      secretAccessKey: 'secret',
      sessionToken: 'tok/en+=',
    });
    assert.match(token, /^db\.example:5432\/\?Action=connect&DBUser=app%20user%40x&/);
    assert.match(token, /&X-Amz-Security-Token=tok%2Fen%2B%3D&X-Amz-SignedHeaders=host&X-Amz-Signature=[0-9a-f]{64}$/);
  });

  it('takes the region from AWS_REGION, else from an RDS host name; none is exit 2', () => {
    assert.equal(awsRegion('db.abc.eu-central-1.rds.amazonaws.com', { AWS_REGION: 'us-west-2' }), 'us-west-2');
    assert.equal(awsRegion('db.cluster-abc.eu-central-1.rds.amazonaws.com', {}), 'eu-central-1');
    assertConfigError(() => awsRegion('db.internal', {}), /no AWS region: set AWS_REGION/);
  });
});

describe('credential endpoints', () => {
  it('plain http only on loopback and the link-local metadata addresses; anything else must be https (exit 2)', () => {
    for (const url of [
      'http://127.0.0.1:8080/x',
      'http://169.254.169.254',
      'http://169.254.170.23/v1/credentials',
      'http://[fd00:ec2::23]/v1/credentials',
    ]) {
      assert.equal(checkedUrl(url, 'the endpoint').href.startsWith('http://'), true, url);
    }
    assert.equal(checkedUrl('https://sts.eu-west-1.amazonaws.com', 'STS').protocol, 'https:');
    assertConfigError(() => checkedUrl('http://sts.example.com/', 'STS'), /^STS: http:\/\/sts\.example\.com must be https/);
    assertConfigError(() => checkedUrl('not a url', 'AZURE_AUTHORITY_HOST'), /is not a URL/);
  });
});

describe('a token is reused only while it has life left', () => {
  it('a one-hour token serves 55 minutes; a 2-second token, one second; a key without end, always', () => {
    const hour = { value: 't', expiresAt: 3600_000 };
    assert.equal(isFresh(hour, 0, 55 * 60_000 - 1), true);
    assert.equal(isFresh(hour, 0, 55 * 60_000), false);
    assert.equal(isFresh({ value: 't', expiresAt: 2_000 }, 0, 999), true);
    assert.equal(isFresh({ value: 't', expiresAt: 2_000 }, 0, 1_000), false);
    assert.equal(isFresh({ value: 't', expiresAt: undefined }, 0, Number.MAX_SAFE_INTEGER), true);
  });
});

describe('XYN_AUTH: what a URL must say with a token mode', () => {
  const url = 'postgres://app@db.example:5432/app';

  it('password is the default and changes nothing (sslmode stays prefer)', () => {
    const database = loadConfig({}, { DATABASE_URL: url }).database!;
    assert.equal(database.auth, undefined);
    assert.equal(database.sslMode, 'prefer');
  });

  it('a token mode makes verify-full the default, and the flag --auth works as the variable', () => {
    for (const mode of ['aws-iam', 'gcp-iam', 'azure-entra'] as const) {
      const database = loadConfig({ auth: mode }, { DATABASE_URL: url }).database!;
      assert.equal(database.auth, mode);
      assert.equal(database.sslMode, 'verify-full');
      assert.ok(!database.password, 'no password of its own');
    }
  });

  it('sslrootcert=system is understood (verify-full with the trusted roots)', () => {
    const database = loadConfig({}, { DATABASE_URL: `${url}?sslrootcert=system`, XYN_AUTH: 'aws-iam' }).database!;
    assert.equal(database.sslMode, 'verify-full');
  });

  it('a URL asking for less than verify-full is exit 2 saying why', () => {
    for (const sslmode of ['disable', 'allow', 'prefer', 'require', 'verify-ca']) {
      assertConfigError(
        () => loadConfig({}, { DATABASE_URL: `${url}?sslmode=${sslmode}`, XYN_AUTH: 'gcp-iam' }),
        new RegExp(`DATABASE_URL asks for sslmode=${sslmode}, but the token is sent as the password`),
        /use sslmode=verify-full/,
      );
    }
    assertConfigError(() => loadConfig({}, { DATABASE_URL: url, PGSSLMODE: 'require', XYN_AUTH: 'aws-iam' }), /sslmode=require/);
  });

  it('a URL without a user, or with a password, is exit 2', () => {
    assertConfigError(() => loadConfig({}, { DATABASE_URL: 'postgres://db.example/app', XYN_AUTH: 'azure-entra' }), /names no user/);
    const withPassword = assertConfigError(
      () => loadConfig({}, { DATABASE_URL: 'postgres://app:hunter2-Sekr1t@db.example/app', XYN_AUTH: 'aws-iam' }),
      /holds a password, which XYN_AUTH=aws-iam would never use/,
    );
    assert.doesNotMatch(withPassword.message, /hunter2/);
  });

  it('an unknown mode is exit 2 naming the choices', () => {
    assertConfigError(() => loadConfig({}, { DATABASE_URL: url, XYN_AUTH: 'kerberos' }), /XYN_AUTH \(--auth\)/, /aws-iam/);
  });

  it("a fleet's URL targets get the mode, and its rule", () => {
    const config = loadConfig({}, { DATABASE_URL: url, XYN_AUTH: 'aws-iam' });
    const rules = { base: config.database, tlsDefaults: config.tlsDefaults, ledgerSchema: 'public' };
    const [byName, byUrl] = resolveTargets(
      [
        { spec: { database: 'tenant_a' }, origin: 'targets:1' },
        { spec: { url: 'postgres://app@other.example/b' }, origin: 'targets:2' },
      ],
      rules,
    );
    assert.equal(byName!.connection.auth, 'aws-iam');
    assert.equal(byUrl!.connection.auth, 'aws-iam');
    assert.equal(byUrl!.connection.sslMode, 'verify-full');
    const weak = [{ spec: { url: 'postgres://app@other.example/b?sslmode=require' }, origin: 'targets:3' }];
    assertConfigError(() => resolveTargets(weak, rules), /targets:3/, /sslmode=require/);
  });
});
