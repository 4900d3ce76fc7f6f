import { readFileSync } from 'node:fs';
import { registerSecret } from '../secrets.js';
import { AuthError } from './errors.js';

/** A mounted token (a projected service account token, an agent's authorization token): read at each use, since the kubelet rotates it. */
export function readSecretFile(path: string, variable: string): string {
  try {
    const text = readFileSync(path, 'utf8').trim();
    registerSecret(text);
    return text;
  } catch (error) {
    throw new AuthError(`${variable} ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, 'config');
  }
}
