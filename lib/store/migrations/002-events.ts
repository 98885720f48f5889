import type { Migration } from './types';

/**
 * The event log: one row per doorbell event through its lifecycle, the people
 * its verdict named (indexed for "when did Alice come?"), and the faces seen.
 * Times are milliseconds since the epoch. Child rows carry no foreign keys to
 * `people`: the record of a visit stays when a person is renamed or forgotten
 * (forgetting removes their crops and snapshots from the log, see EventLog.forgetPerson).
 */
const events: Migration = {
  version: 2,
  name: 'events',
  up(db) {
    db.exec(`
      CREATE TABLE events (
        id             TEXT PRIMARY KEY,
        trigger        TEXT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('created', 'processing', 'completed', 'failed')),
        verdict        TEXT CHECK (verdict IN ('known', 'unknown', 'blacklisted', 'no_face')),
        people         TEXT NOT NULL DEFAULT '[]',  -- JSON [{personId, name, list, distance}]
        started_at     INTEGER NOT NULL,
        processing_at  INTEGER,
        completed_at   INTEGER,
        processing_ms  INTEGER,
        frames_seen    INTEGER NOT NULL DEFAULT 0,
        error_message  TEXT,
        snapshot_bytes INTEGER,                     -- snapshot + thumbnail on disk; NULL when there is none
        data           TEXT NOT NULL DEFAULT '{}',  -- JSON: the verdict as received
        metadata       TEXT NOT NULL DEFAULT '{}',  -- JSON: event source, recording node, topic
        updated_at     INTEGER NOT NULL
      );
      CREATE INDEX events_started ON events (started_at);
      CREATE INDEX events_status_started ON events (status, started_at);
      CREATE INDEX events_verdict_started ON events (verdict, started_at);
      CREATE INDEX events_snapshots_started ON events (started_at) WHERE snapshot_bytes IS NOT NULL;

      -- started_at and verdict are copied from the event so that "Alice's visits"
      -- pages straight from an index, without reading each of her events first.
      CREATE TABLE event_people (
        event_id   TEXT NOT NULL,
        person_id  TEXT,
        name       TEXT NOT NULL,
        list       TEXT,
        distance   REAL,
        started_at INTEGER NOT NULL,
        verdict    TEXT NOT NULL,
        PRIMARY KEY (event_id, name)
      ) WITHOUT ROWID;
      CREATE INDEX event_people_name ON event_people (name COLLATE NOCASE, started_at, verdict);
      CREATE INDEX event_people_person ON event_people (person_id, started_at, verdict);

      CREATE TABLE event_faces (
        id         INTEGER PRIMARY KEY,
        event_id   TEXT NOT NULL,
        frame_seq  INTEGER,
        x          REAL NOT NULL,
        y          REAL NOT NULL,
        width      REAL NOT NULL,
        height     REAL NOT NULL,
        score      REAL,
        quality    REAL,
        person_id  TEXT,
        name       TEXT,
        list       TEXT,
        distance   REAL,
        confidence REAL,
        crop       BLOB
      );
      CREATE INDEX event_faces_event ON event_faces (event_id);
      CREATE INDEX event_faces_list ON event_faces (list) WHERE crop IS NOT NULL;
      CREATE INDEX event_faces_person ON event_faces (person_id) WHERE crop IS NOT NULL;
    `);
  },
};

export default events;
