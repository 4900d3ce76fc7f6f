/**
 * How long to wait before the next attempt, for everything we retry (connecting, a migration that
 * gave up on a table lock): exponential with jitter, so that runners started together spread out.
 */

/** Half fixed, half random: 200 ms doubling to a 5 s ceiling. */
export function backoff(attempt: number): number {
  const ceiling = Math.min(5000, 100 * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
