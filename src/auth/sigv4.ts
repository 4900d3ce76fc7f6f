/**
 * AWS Signature Version 4, query-string form (a presigned URL): what an RDS IAM token is. Written
 * here rather than bundling the AWS SDK (see docs/kubernetes.md, "What each mode adds to the image"); checked
 * against AWS's published examples in test/unit/cloud-auth.test.ts.
 */
import { createHash, createHmac } from 'node:crypto';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  /** when temporary credentials stop working; undefined for long-term keys */
  readonly expiresAt?: number | undefined;
}

export interface PresignRequest {
  /** host[:port] as it appears in the URL */
  readonly host: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly service: string;
  readonly region: string;
  readonly expiresInSeconds: number;
  readonly now: Date;
  /** hex SHA-256 of the body; S3 presigns with the literal UNSIGNED-PAYLOAD */
  readonly payloadHash?: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** SHA-256 of the empty body */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** RFC 3986 unreserved characters stay; everything else is %XX, as SigV4 wants (encodeURIComponent leaves !'()* alone). */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
export function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), 'aws4_request');
}

/** The signed query string (without `?`): the request's parameters, the X-Amz-* ones, and X-Amz-Signature last. */
export function presignQuery(request: PresignRequest, credentials: AwsCredentials): string {
  const amzDate = request.now.toISOString().replace(/[-:]|\.\d{3}/g, ''); // 20161107T173933Z
  const date = amzDate.slice(0, 8);
  const scope = `${date}/${request.region}/${request.service}/aws4_request`;
  const params: Record<string, string> = {
    ...request.query,
    'X-Amz-Algorithm': ALGORITHM,
    'X-Amz-Credential': `${credentials.accessKeyId}/${scope}`,
    'X-Amz-Date': amzDate,
    'X-Amz-Expires': String(request.expiresInSeconds),
    'X-Amz-SignedHeaders': 'host',
    ...(credentials.sessionToken ? { 'X-Amz-Security-Token': credentials.sessionToken } : {}),
  };
  const canonicalQuery = Object.keys(params)
    .sort()
    .map((name) => `${uriEncode(name)}=${uriEncode(params[name]!)}`)
    .join('&');
  const canonicalRequest = [
    'GET',
    request.path,
    canonicalQuery,
    `host:${request.host}\n`,
    'host',
    request.payloadHash ?? EMPTY_SHA256,
  ].join('\n');
  const stringToSign = [ALGORITHM, amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const signature = createHmac('sha256', signingKey(credentials.secretAccessKey, date, request.region, request.service))
    .update(stringToSign)
    .digest('hex');
  return `${canonicalQuery}&X-Amz-Signature=${signature}`;
}

/**
 * The RDS IAM authentication token: `host:port/?Action=connect&DBUser=…&X-Amz-…`, valid for 15
 * minutes, sent as the password over TLS.
 */
export function rdsAuthToken(
  target: { readonly host: string; readonly port: number; readonly user: string },
  region: string,
  credentials: AwsCredentials,
  now: Date = new Date(),
): string {
  const host = `${target.host}:${target.port}`;
  const query = presignQuery(
    { host, path: '/', query: { Action: 'connect', DBUser: target.user }, service: 'rds-db', region, expiresInSeconds: 900, now },
    credentials,
  );
  return `${host}/?${query}`;
}
