/**
 * XYN_AUTH=aws-iam: RDS / Aurora IAM authentication. The token is signed here (sigv4.ts) with
 * credentials found as AWS's default chain finds them in a pod, in its order: environment keys,
 * web identity (EKS IRSA), the container credentials endpoint (EKS Pod Identity, ECS), the
 * instance metadata service (IMDSv2). Each source's endpoint is overridable by the variable the
 * AWS SDKs honour for it.
 */
import { registerSecret } from '../secrets.js';
import { AuthError } from './errors.js';
import { readSecretFile } from './secret-file.js';
import { field, send, sendForJson } from './http.js';
import { rdsAuthToken, type AwsCredentials } from './sigv4.js';
import { isFresh, type Environment, type Expiring, type LoginTarget } from './token.js';

const TOKEN_LIFE_MS = 15 * 60_000;

export async function rdsToken(target: LoginTarget, env: Environment): Promise<Expiring<string>> {
  const region = awsRegion(target.host, env);
  const credentials = await awsCredentials(env);
  const now = Date.now();
  const value = rdsAuthToken(target, region, credentials, new Date(now));
  // The token dies with the credentials that signed it.
  const expiresAt = Math.min(now + TOKEN_LIFE_MS, credentials.expiresAt ?? Infinity);
  return { value, expiresAt };
}

/** AWS_REGION (set by EKS for IRSA and Pod Identity), else AWS_DEFAULT_REGION, else the region in an RDS host name. */
export function awsRegion(host: string, env: Environment): string {
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || /\.([a-z]{2}(?:-[a-z]+)+-\d+)\.rds\.amazonaws\.com(?:\.cn)?$/.exec(host)?.[1];
  if (region) return region;
  throw new AuthError(`no AWS region: set AWS_REGION (the host ${host} is not an RDS endpoint name that carries one)`, 'config');
}

let cached: { obtainedAt: number; credentials: AwsCredentials } | undefined;

async function awsCredentials(env: Environment): Promise<AwsCredentials> {
  const now = Date.now();
  if (cached && isFresh({ value: undefined, expiresAt: cached.credentials.expiresAt }, cached.obtainedAt, now)) return cached.credentials;
  const credentials = await fromDefaultChain(env);
  registerSecret(credentials.secretAccessKey);
  registerSecret(credentials.sessionToken);
  cached = { obtainedAt: now, credentials };
  return credentials;
}

/** The first source that is configured answers; when none is, the instance metadata service is asked last. */
async function fromDefaultChain(env: Environment): Promise<AwsCredentials> {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      sessionToken: env.AWS_SESSION_TOKEN || undefined,
    };
  }
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) return fromWebIdentity(env.AWS_WEB_IDENTITY_TOKEN_FILE, env.AWS_ROLE_ARN, env);
  if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) return fromContainerEndpoint(env);
  if ((env.AWS_EC2_METADATA_DISABLED ?? '').toLowerCase() === 'true') throw noCredentials('AWS_EC2_METADATA_DISABLED=true');
  try {
    return await fromInstanceMetadata(env);
  } catch (error) {
    if (error instanceof AuthError) throw noCredentials(error.message);
    throw error;
  }
}

function noCredentials(imds: string): AuthError {
  return new AuthError(
    `no AWS credentials found; tried the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY unset), web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN unset: EKS IRSA sets them for a service account annotated eks.amazonaws.com/role-arn), the container endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI unset: EKS Pod Identity sets it), and ${imds}`,
    'config',
  );
}

/** STS AssumeRoleWithWebIdentity: unsigned; the projected service account token is the proof. */
async function fromWebIdentity(tokenFile: string, roleArn: string, env: Environment): Promise<AwsCredentials> {
  const webIdentityToken = readSecretFile(tokenFile, 'AWS_WEB_IDENTITY_TOKEN_FILE');
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  // the regional endpoint, as the SDK uses now (China's regions have their own domain)
  const regional = region ? `https://sts.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}` : 'https://sts.amazonaws.com';
  const endpoint = env.AWS_ENDPOINT_URL_STS || env.AWS_ENDPOINT_URL || regional;
  const what = `STS AssumeRoleWithWebIdentity for ${roleArn}`;
  const response = await send({
    url: endpoint,
    what,
    timeoutMs: 10_000,
    form: {
      Action: 'AssumeRoleWithWebIdentity',
      Version: '2011-06-15',
      RoleArn: roleArn,
      RoleSessionName: env.AWS_ROLE_SESSION_NAME || `xyn-migrate-${Date.now()}`,
      WebIdentityToken: webIdentityToken,
    },
  });
  const xml = response.body;
  if (response.status !== 200) {
    const code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1] ?? `HTTP ${response.status}`;
    const message = /<Message>([^<]*)<\/Message>/.exec(xml)?.[1] ?? '';
    throw new AuthError(
      `${what} failed: ${code}${message ? `: ${message}` : ''} (check the role's trust policy for this service account)`,
      response.status >= 500 ? 'unavailable' : 'refused',
    );
  }
  const tag = (name: string) => {
    const value = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
    if (!value) throw new AuthError(`${what} answered without ${name}`, 'refused');
    return value;
  };
  return {
    accessKeyId: tag('AccessKeyId'),
    secretAccessKey: tag('SecretAccessKey'),
    sessionToken: tag('SessionToken'),
    expiresAt: Date.parse(tag('Expiration')),
  };
}

/**
 * The container credentials endpoint: EKS Pod Identity's agent (AWS_CONTAINER_CREDENTIALS_FULL_URI
 * with the token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE), or ECS (a relative URI on 169.254.170.2).
 */
async function fromContainerEndpoint(env: Environment): Promise<AwsCredentials> {
  const url = env.AWS_CONTAINER_CREDENTIALS_FULL_URI || `http://169.254.170.2${env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ?? ''}`;
  const authorization = env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
    ? readSecretFile(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE')
    : env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
  registerSecret(authorization);
  const what = 'the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI: EKS Pod Identity)';
  const json = await sendForJson({ url, what, timeoutMs: 5_000, headers: authorization ? { authorization } : {} });
  return credentialsFromJson(json, what);
}

/** IMDSv2: a session token first (PUT), then the instance role's name, then its credentials. */
async function fromInstanceMetadata(env: Environment): Promise<AwsCredentials> {
  const base = (env.AWS_EC2_METADATA_SERVICE_ENDPOINT || 'http://169.254.169.254').replace(/\/+$/, '');
  const what = 'the instance metadata service';
  const session = await send({
    url: `${base}/latest/api/token`,
    method: 'PUT',
    what,
    timeoutMs: 1_000,
    headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '21600' },
  });
  if (session.status !== 200) throw new AuthError(`${what} refused a session token (HTTP ${session.status})`, 'refused');
  const headers = { 'x-aws-ec2-metadata-token': session.body };
  const roles = await send({ url: `${base}/latest/meta-data/iam/security-credentials/`, what, timeoutMs: 1_000, headers });
  const role = roles.status === 200 ? roles.body.split('\n')[0]?.trim() : undefined;
  if (!role) throw new AuthError(`${what} has no IAM role for this instance (HTTP ${roles.status})`, 'refused');
  const json = await sendForJson({
    url: `${base}/latest/meta-data/iam/security-credentials/${encodeURIComponent(role)}`,
    what,
    timeoutMs: 1_000,
    headers,
  });
  return credentialsFromJson(json, what);
}

function credentialsFromJson(json: Record<string, unknown>, what: string): AwsCredentials {
  const expiration = typeof json.Expiration === 'string' ? Date.parse(json.Expiration) : NaN;
  return {
    accessKeyId: field(json, 'AccessKeyId', what),
    secretAccessKey: field(json, 'SecretAccessKey', what),
    sessionToken: field(json, 'Token', what),
    expiresAt: Number.isNaN(expiration) ? undefined : expiration,
  };
}
