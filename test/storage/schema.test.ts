// Schema versioning: a fresh database is stamped, migrations run in order on older ones (the hook
// for version 2+), and a newer database is refused with a hint.
import { describe, expect, it } from 'vitest';
import { SchemaVersionError, StorageError } from '../../src/storage/errors';
import { SCHEMA_VERSION, migrateDatabase, planMigrations, type Migration } from '../../src/storage/schema';
import { testDb } from './helpers';

describe('schema', () => {
  it('is at version 1 with nothing to migrate', () => {
    expect(SCHEMA_VERSION).toBe(1);
    expect(planMigrations(1, 1)).toEqual([]);
  });

  it('plans migrations in order and names a missing step', () => {
    const m = (from: number): Migration => ({ from, describe: `v${from}`, run: async () => undefined });
    expect(planMigrations(1, 3, [m(2), m(1)]).map((x) => x.from)).toEqual([1, 2]);
    expect(() => planMigrations(1, 3, [m(1)])).toThrow(/no migration from storage schema 2 to 3/);
    expect(() => planMigrations(4, 3, [])).toThrow(SchemaVersionError);
  });

  it('stamps a fresh database at open', async () => {
    const db = testDb();
    await db.open();
    expect(await db.raw().get('tabzero:schema')).toEqual({ schemaVersion: SCHEMA_VERSION });
  });

  it('runs a migration hook on an older database and records each step', async () => {
    const db = testDb();
    const raw = db.raw();
    await raw.set('tabzero:schema', { schemaVersion: 1 });
    await raw.set('legacy', 'x');
    const seen: number[] = [];
    const mig: Migration = { from: 1, describe: 'rename legacy', run: async (b) => { seen.push(1); await b.set('renamed', await b.get('legacy')); await b.del('legacy'); } };
    expect(await migrateDatabase(raw, 'tabzero:schema', [mig], 2)).toEqual({ from: 1, to: 2 });
    expect(seen).toEqual([1]);
    expect(await raw.get('renamed')).toBe('x');
    expect(await raw.get('tabzero:schema')).toEqual({ schemaVersion: 2 });
  });

  it('refuses a database written by a newer schema, with a hint', async () => {
    const db = testDb();
    await db.raw().set('tabzero:schema', { schemaVersion: 9 });
    const err = await db.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaVersionError);
    expect((err as StorageError).message).toMatch(/schema version 9 is not supported/);
    expect((err as StorageError).hint).toMatch(/update the app/);
  });
});
