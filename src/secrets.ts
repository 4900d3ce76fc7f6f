/**
 * The last line of defence for "no secret in any output": every byte we write to stdout, stderr
 * or the termination log passes through `scrub`, which blanks every registered secret (as is,
 * URL-encoded and JSON-escaped). Errors and logs are also written not to hold secrets at all.
 */
const secrets = new Set<string>();

export function registerSecret(secret: string | undefined): void {
  if (secret === undefined || secret.length < 3) return;
  for (const form of [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]) secrets.add(form);
}

export function scrub(text: string): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
  return out;
}
