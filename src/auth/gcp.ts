/**
 * XYN_AUTH=gcp-iam: Cloud SQL IAM database authentication. The password is an OAuth2 access
 * token from Google's application default credentials, in their order: the file named by
 * GOOGLE_APPLICATION_CREDENTIALS (a service account key, an external account for workload identity
 * federation, a user's gcloud credentials), gcloud's own ADC file, then the metadata server (GKE
 * workload identity, Compute Engine, Cloud Run; GCE_METADATA_HOST overrides its address).
 */
import { createSign } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { registerSecret } from '../secrets.js';
import { AuthError } from './errors.js';
import { field, send, sendForJson } from './http.js';
import { readSecretFile } from './secret-file.js';
import type { Environment, Expiring } from './token.js';

/** The scope Cloud SQL wants of a token used to log in. */
const SQL_LOGIN_SCOPE = 'https://www.googleapis.com/auth/sqlservice.login';
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';

export async function googleAccessToken(env: Environment): Promise<Expiring<string>> {
  const file = env.GOOGLE_APPLICATION_CREDENTIALS || gcloudCredentialsFile(env);
  if (file)
    return fromCredentialsFile(
      file,
      env.GOOGLE_APPLICATION_CREDENTIALS ? 'GOOGLE_APPLICATION_CREDENTIALS' : "gcloud's application default credentials",
    );
  try {
    return await fromMetadataServer(env);
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    throw new AuthError(
      `no Google credentials found; tried GOOGLE_APPLICATION_CREDENTIALS (unset), gcloud's application_default_credentials.json (absent), and ${error.message} (on GKE: workload identity, with the service account annotated iam.gke.io/gcp-service-account)`,
      error.transient ? 'unavailable' : 'config',
    );
  }
}

function gcloudCredentialsFile(env: Environment): string | undefined {
  const file = join(env.CLOUDSDK_CONFIG || join(env.HOME || homedir(), '.config', 'gcloud'), 'application_default_credentials.json');
  return existsSync(file) ? file : undefined;
}

/** The metadata server answers for the service account the pod (or VM) runs as; on GKE it is workload identity's. */
async function fromMetadataServer(env: Environment): Promise<Expiring<string>> {
  const host = env.GCE_METADATA_HOST || env.GCE_METADATA_IP || '169.254.169.254';
  const what = 'the metadata server';
  const json = await sendForJson({
    url: `http://${host}/computeMetadata/v1/instance/service-accounts/default/token?scopes=${encodeURIComponent(SQL_LOGIN_SCOPE)}`,
    headers: { 'metadata-flavor': 'Google' },
    what,
    timeoutMs: 3_000,
  });
  return accessToken(json, what);
}

async function fromCredentialsFile(path: string, variable: string): Promise<Expiring<string>> {
  const credentials = parseCredentialsFile(readSecretFile(path, variable), `${variable} ${path}`);
  switch (credentials.type) {
    case 'service_account':
      return fromServiceAccountKey(credentials, `${variable} ${path}`);
    case 'authorized_user':
      return fromUserRefreshToken(credentials, `${variable} ${path}`);
    case 'external_account':
      return fromExternalAccount(credentials, `${variable} ${path}`);
    default:
      throw new AuthError(
        `${variable} ${path} is of type ${JSON.stringify(credentials.type)}; service_account, external_account and authorized_user are understood`,
        'config',
      );
  }
}

function parseCredentialsFile(text: string, where: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object') return parsed as Record<string, unknown>;
  } catch {
    // said below
  }
  throw new AuthError(`${where} is not a JSON credentials file`, 'config');
}

const text = (json: Record<string, unknown>, name: string, where: string): string => {
  const value = json[name];
  if (typeof value === 'string' && value !== '') return value;
  throw new AuthError(`${where} has no ${name}`, 'config');
};

/** A service account key: a JWT signed with its private key, exchanged for an access token (RFC 7523). */
async function fromServiceAccountKey(key: Record<string, unknown>, where: string): Promise<Expiring<string>> {
  const tokenUri = typeof key.token_uri === 'string' ? key.token_uri : GOOGLE_TOKEN_URI;
  const now = Math.floor(Date.now() / 1000);
  const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = base64url({ alg: 'RS256', typ: 'JWT', ...(typeof key.private_key_id === 'string' ? { kid: key.private_key_id } : {}) });
  const claims = base64url({ iss: text(key, 'client_email', where), scope: SQL_LOGIN_SCOPE, aud: tokenUri, iat: now, exp: now + 3600 });
  let signature: string;
  try {
    signature = createSign('RSA-SHA256')
      .update(`${header}.${claims}`)
      .sign(text(key, 'private_key', where), 'base64url');
  } catch (error) {
    if (error instanceof AuthError) throw error;
    throw new AuthError(`${where}: its private_key cannot sign (${(error as Error).message})`, 'config');
  }
  const what = `Google's token endpoint (${tokenUri}) for ${String(key.client_email)}`;
  const json = await sendForJson({
    url: tokenUri,
    what,
    timeoutMs: 10_000,
    form: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: `${header}.${claims}.${signature}` },
  });
  return accessToken(json, what);
}

/** A user's gcloud credentials (`gcloud auth application-default login`): a refresh token. */
async function fromUserRefreshToken(user: Record<string, unknown>, where: string): Promise<Expiring<string>> {
  const tokenUri = typeof user.token_uri === 'string' ? user.token_uri : GOOGLE_TOKEN_URI;
  const what = `Google's token endpoint (${tokenUri}) for the user of ${where}`;
  const json = await sendForJson({
    url: tokenUri,
    what,
    timeoutMs: 10_000,
    form: {
      grant_type: 'refresh_token',
      client_id: text(user, 'client_id', where),
      client_secret: text(user, 'client_secret', where),
      refresh_token: text(user, 'refresh_token', where),
    },
  });
  return accessToken(json, what);
}

/**
 * Workload identity federation: a token of another identity provider (a file or a URL, as the
 * configuration's credential_source says) exchanged at Google's STS, then, when the file says so,
 * for a service account's token.
 */
async function fromExternalAccount(account: Record<string, unknown>, where: string): Promise<Expiring<string>> {
  const subjectToken = await externalSubjectToken(account.credential_source, where);
  const tokenUrl = text(account, 'token_url', where);
  const impersonation =
    typeof account.service_account_impersonation_url === 'string' ? account.service_account_impersonation_url : undefined;
  const what = `Google's STS (${tokenUrl})`;
  const exchanged = await sendForJson({
    url: tokenUrl,
    what,
    timeoutMs: 10_000,
    form: {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      audience: text(account, 'audience', where),
      scope: impersonation ? CLOUD_PLATFORM_SCOPE : SQL_LOGIN_SCOPE,
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      subject_token: subjectToken,
      subject_token_type: text(account, 'subject_token_type', where),
    },
  });
  const federated = accessToken(exchanged, what);
  if (!impersonation) return federated;
  registerSecret(federated.value);
  const impersonating = `the IAM credentials API (${impersonation})`;
  const json = await sendForJson({
    url: impersonation,
    what: impersonating,
    timeoutMs: 10_000,
    headers: { authorization: `Bearer ${federated.value}` },
    json: { scope: [SQL_LOGIN_SCOPE], lifetime: '3600s' },
  });
  const value = field(json, 'accessToken', impersonating);
  const expiresAt = typeof json.expireTime === 'string' ? Date.parse(json.expireTime) : NaN;
  return { value, expiresAt: Number.isNaN(expiresAt) ? Date.now() + 3600_000 : expiresAt };
}

async function externalSubjectToken(source: unknown, where: string): Promise<string> {
  const credentialSource = (source ?? {}) as Record<string, unknown>;
  const format = (credentialSource.format ?? {}) as Record<string, unknown>;
  let raw: string;
  if (typeof credentialSource.file === 'string') {
    raw = readSecretFile(credentialSource.file, `${where} credential_source.file`);
  } else if (typeof credentialSource.url === 'string') {
    const response = await send({
      url: credentialSource.url,
      what: `${where} credential_source.url`,
      timeoutMs: 5_000,
      headers: (credentialSource.headers ?? {}) as Record<string, string>,
    });
    if (response.status !== 200) throw new AuthError(`${where} credential_source.url answered HTTP ${response.status}`, 'refused');
    raw = response.body.trim();
  } else {
    throw new AuthError(`${where} has a credential_source that is neither a file nor a url (the kinds understood here)`, 'config');
  }
  if (format.type !== 'json') return raw;
  const name = typeof format.subject_token_field_name === 'string' ? format.subject_token_field_name : '';
  const token = (JSON.parse(raw) as Record<string, unknown>)[name];
  if (typeof token !== 'string') throw new AuthError(`${where}: the subject token has no field ${name}`, 'config');
  registerSecret(token);
  return token;
}

function accessToken(json: Record<string, unknown>, what: string): Expiring<string> {
  const value = field(json, 'access_token', what);
  const expiresIn = Number(json.expires_in);
  return { value, expiresAt: Date.now() + (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : 3600_000) };
}
