import { CreateScans } from './20261123000000-create-scans.ts';

/**
 * Every migration, oldest first. Listed explicitly rather than discovered from
 * a folder, so the API and worker apply exactly what was committed.
 */
export const migrations = [{ name: '20261123000000-create-scans', class: CreateScans }];
