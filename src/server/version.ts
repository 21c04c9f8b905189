/** Switchyard's version from package.json, read once at start (readiness reports it). */
import { readFileSync } from 'node:fs';

// Compiled to dist/src/server/version.js; package.json is at the repository root.
export const version: string = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
