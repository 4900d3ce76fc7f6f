/**
 * `rehearse`'s scratch database: made on the server the admin session is connected to, dropped
 * (forcibly: the rehearsal's own sessions may linger) when the rehearsal is over.
 */
import pg from 'pg';
import type { Session } from './session.js';

export async function createDatabase(admin: Session, name: string): Promise<void> {
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
}

export async function dropDatabase(admin: Session, name: string): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
}
