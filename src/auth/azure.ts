/**
 * XYN_AUTH=azure-entra: Azure Database for PostgreSQL with Microsoft Entra ID. The password is an
 * access token for the database's resource, from workload identity (AKS: AZURE_FEDERATED_TOKEN_FILE,
 * AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_AUTHORITY_HOST, set by its webhook), else a managed
 * identity: App Service / Container Apps (IDENTITY_ENDPOINT, IDENTITY_HEADER), else the instance
 * metadata service (AZURE_POD_IDENTITY_AUTHORITY_HOST overrides its address, as in Azure's SDK).
 */
import { registerSecret } from '../secrets.js';
import { AuthError } from './errors.js';
import { field, sendForJson } from './http.js';
import { readSecretFile } from './secret-file.js';
import type { Environment, Expiring } from './token.js';

const RESOURCE = 'https://ossrdbms-aad.database.windows.net';
const SCOPE = `${RESOURCE}/.default`;

export async function entraToken(env: Environment): Promise<Expiring<string>> {
  if (env.AZURE_FEDERATED_TOKEN_FILE) return fromWorkloadIdentity(env.AZURE_FEDERATED_TOKEN_FILE, env);
  if (env.IDENTITY_ENDPOINT && env.IDENTITY_HEADER) return fromAppServiceIdentity(env.IDENTITY_ENDPOINT, env.IDENTITY_HEADER, env);
  try {
    return await fromInstanceMetadata(env);
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    throw new AuthError(
      `no Azure credentials found; tried workload identity (AZURE_FEDERATED_TOKEN_FILE unset: on AKS, label the pod azure.workload.identity/use: "true" and annotate its service account azure.workload.identity/client-id), App Service's managed identity (IDENTITY_ENDPOINT unset), and ${error.message}`,
      'config',
    );
  }
}

/** The federated (Kubernetes service account) token is the client assertion of a client-credentials grant. */
async function fromWorkloadIdentity(tokenFile: string, env: Environment): Promise<Expiring<string>> {
  const missing = ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID'].filter((name) => !env[name]);
  if (missing.length > 0) throw new AuthError(`AZURE_FEDERATED_TOKEN_FILE is set but ${missing.join(' and ')} not`, 'config');
  const authority = (env.AZURE_AUTHORITY_HOST || 'https://login.microsoftonline.com').replace(/\/+$/, '');
  const url = `${authority}/${encodeURIComponent(env.AZURE_TENANT_ID!)}/oauth2/v2.0/token`;
  const what = `Microsoft Entra ID (${authority}) for client ${env.AZURE_CLIENT_ID}`;
  const json = await sendForJson({
    url,
    what,
    timeoutMs: 10_000,
    form: {
      client_id: env.AZURE_CLIENT_ID!,
      scope: SCOPE,
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: readSecretFile(tokenFile, 'AZURE_FEDERATED_TOKEN_FILE'),
    },
  });
  return token(json, what);
}

async function fromAppServiceIdentity(endpoint: string, header: string, env: Environment): Promise<Expiring<string>> {
  registerSecret(header);
  const what = `the managed identity endpoint (IDENTITY_ENDPOINT ${new URL(endpoint).origin})`;
  const query = new URLSearchParams({
    'api-version': '2019-08-01',
    resource: RESOURCE,
    ...(env.AZURE_CLIENT_ID ? { client_id: env.AZURE_CLIENT_ID } : {}),
  });
  const json = await sendForJson({
    url: `${endpoint}?${query.toString()}`,
    headers: { 'x-identity-header': header },
    what,
    timeoutMs: 10_000,
  });
  return token(json, what);
}

async function fromInstanceMetadata(env: Environment): Promise<Expiring<string>> {
  const base = (env.AZURE_POD_IDENTITY_AUTHORITY_HOST || 'http://169.254.169.254').replace(/\/+$/, '');
  const what = 'the instance metadata service';
  const query = new URLSearchParams({
    'api-version': '2018-02-01',
    resource: RESOURCE,
    ...(env.AZURE_CLIENT_ID ? { client_id: env.AZURE_CLIENT_ID } : {}),
  });
  const json = await sendForJson({
    url: `${base}/metadata/identity/oauth2/token?${query.toString()}`,
    headers: { metadata: 'true' },
    what,
    timeoutMs: 3_000,
  });
  return token(json, what);
}

/** expires_in (seconds from now) from Entra ID and IMDS; expires_on (epoch seconds) from App Service. */
function token(json: Record<string, unknown>, what: string): Expiring<string> {
  const value = field(json, 'access_token', what);
  const expiresIn = Number(json.expires_in);
  const expiresOn = Number(json.expires_on);
  const expiresAt =
    Number.isFinite(expiresIn) && expiresIn > 0
      ? Date.now() + expiresIn * 1000
      : Number.isFinite(expiresOn) && expiresOn > 0
        ? expiresOn * 1000
        : Date.now() + 3600_000;
  return { value, expiresAt };
}
