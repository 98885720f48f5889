import type { Migration } from './types';

/** People (known or blacklisted) and their faces: embedding, crop, provenance. */
const migration: Migration = {
  version: 1,
  name: 'faces',
  up(db) {
    db.exec(`
      CREATE TABLE people (
        id         INTEGER PRIMARY KEY,
        name       TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (length(name) BETWEEN 1 AND 100),
        list       TEXT    NOT NULL DEFAULT 'known' CHECK (list IN ('known', 'blacklist')),
        notes      TEXT    NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );

      CREATE TABLE faces (
        id         INTEGER PRIMARY KEY,
        person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        model      TEXT    NOT NULL,
        embedding  BLOB    NOT NULL,
        dim        INTEGER NOT NULL CHECK (dim > 0 AND length(embedding) = 4 * dim),
        quality    REAL,
        crop       BLOB,
        source     TEXT,
        metadata   TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
        created_at INTEGER NOT NULL
      );
      CREATE INDEX faces_person ON faces (person_id);
      CREATE INDEX faces_model ON faces (model, id);

      -- For people querying the file by hand (node-red-node-sqlite): one row per face with its person.
      CREATE VIEW face_list AS
        SELECT f.id AS face_id, p.id AS person_id, p.name, p.list,
               p.list = 'blacklist' AS is_blacklisted,
               f.model, f.dim, f.quality, f.source, f.metadata, f.created_at
          FROM faces f JOIN people p ON p.id = f.person_id;
    `);
  },
};

export default migration;
