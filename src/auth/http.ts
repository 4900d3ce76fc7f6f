/**
 * The few HTTP requests a token mode makes (a credential endpoint, a metadata server), with
 * node:http/https: no fetch, whose first use loads Node's whole HTTP client (undici).
 * Plain http is allowed only where the clouds serve it: the link-local metadata addresses and
 * loopback (a node-local agent, a test's stand-in); anything else must be https.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AuthError } from './errors.js';

export interface HttpRequest {
  readonly url: string;
  readonly method?: 'GET' | 'POST' | 'PUT';
  readonly headers?: Readonly<Record<string, string>>;
  /** application/x-www-form-urlencoded */
  readonly form?: Readonly<Record<string, string>>;
  /** application/json */
  readonly json?: unknown;
  readonly timeoutMs: number;
  /** what is being asked, for error messages: "the EKS Pod Identity agent" */
  readonly what: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

const PLAIN_HTTP_HOSTS = new Set([
  '127.0.0.1',
  'localhost',
  '[::1]',
  '169.254.169.254',
  '169.254.170.2',
  '169.254.170.23',
  '[fd00:ec2::23]',
  '[fd00:ec2::254]',
  'metadata.google.internal',
]);

export function checkedUrl(url: string, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AuthError(`${what}: "${url}" is not a URL`, 'config');
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:' && PLAIN_HTTP_HOSTS.has(parsed.hostname)) return parsed;
  throw new AuthError(
    `${what}: ${parsed.origin} must be https (plain http only for loopback and the link-local metadata addresses)`,
    'config',
  );
}

/** One request; rejects with an AuthError ('unavailable') when the endpoint cannot be reached in time. */
export function send(req: HttpRequest): Promise<HttpResponse> {
  const url = checkedUrl(req.url, req.what);
  const body = req.form ? new URLSearchParams(req.form).toString() : req.json === undefined ? undefined : JSON.stringify(req.json);
  const headers: Record<string, string> = { ...req.headers };
  if (body !== undefined) {
    headers['content-type'] = req.form ? 'application/x-www-form-urlencoded' : 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: req.method ?? (body === undefined ? 'GET' : 'POST'), headers }, (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', (error) => reject(unreachable(req, url, error)));
    });
    outgoing.setTimeout(req.timeoutMs, () => outgoing.destroy(new Error(`no answer within ${req.timeoutMs / 1000}s`)));
    outgoing.on('error', (error) => reject(unreachable(req, url, error)));
    outgoing.end(body);
  });
}

function unreachable(req: HttpRequest, url: URL, error: Error): AuthError {
  const code = (error as NodeJS.ErrnoException).code;
  return new AuthError(`${req.what} at ${url.origin} could not be reached (${code ?? error.message})`, 'unavailable');
}

/** The JSON body of a 2xx answer; anything else is an AuthError naming the endpoint, its status and its error text. */
export async function sendForJson(req: HttpRequest): Promise<Record<string, unknown>> {
  const response = await send(req);
  if (response.status < 200 || response.status > 299) {
    throw new AuthError(
      `${req.what} answered HTTP ${response.status}${errorText(response.body)}`,
      response.status >= 500 || response.status === 429 ? 'unavailable' : 'refused',
    );
  }
  try {
    return JSON.parse(response.body) as Record<string, unknown>;
  } catch {
    throw new AuthError(`${req.what} answered HTTP ${response.status} with a body that is not JSON`, 'refused');
  }
}

/** The error an OAuth2/STS endpoint gave (error, error_description, message), short; never the request's secrets. */
export function errorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const error = parsed.error as Record<string, unknown> | string | undefined;
    const parts = [
      typeof error === 'string' ? error : typeof error?.message === 'string' ? error.message : undefined,
      parsed.error_description,
      parsed.message,
    ].filter((p): p is string => typeof p === 'string');
    if (parts.length > 0) return `: ${parts.join(': ').slice(0, 300)}`;
  } catch {
    // XML (STS) or text
  }
  const xmlMessage = /<Message>([^<]*)<\/Message>/.exec(body)?.[1];
  const xmlCode = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  if (xmlCode || xmlMessage) return `: ${[xmlCode, xmlMessage].filter(Boolean).join(': ').slice(0, 300)}`;
  return body.trim() ? `: ${body.trim().slice(0, 200)}` : '';
}

/** A string field of a JSON answer, or an AuthError saying which one is missing. */
export function field(json: Record<string, unknown>, name: string, what: string): string {
  const value = json[name];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number') return String(value);
  throw new AuthError(`${what} answered without ${name}`, 'refused');
}
