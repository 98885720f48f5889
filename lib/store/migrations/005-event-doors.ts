import type { Migration } from './types';

/** Queues an event for the shared log, when replication is on (one INSERT OR REPLACE: a re-queued event gets a new seq). */
const queue = (id: string, at: string) => `
  INSERT OR REPLACE INTO event_outbox (event_id, queued_at)
  SELECT ${id}, ${at} WHERE EXISTS (SELECT 1 FROM event_replication);`;

/**
 * Many doors, one log. `events.door` names the door or camera an event came
 * from (`msg.event.source.door`).
 *
 * `event_outbox` lists the events whose latest state has not yet reached the
 * shared PostgreSQL log. Triggers queue an event when it is completed or
 * failed, whenever it changes after that (a later error, a snapshot or crop
 * removed by retention or privacy) and when it is deleted, so no code path
 * that writes the log can forget to. They only do so while `event_replication`
 * holds its row (a PostgreSQL database is configured): a house on SQLite alone
 * keeps no outbox. A re-queued event gets a new `seq` (AUTOINCREMENT never
 * reuses one), which is how the replicator knows that what it copied is still
 * the latest state.
 */
const eventDoors: Migration = {
  version: 5,
  name: 'event-doors',
  up(db) {
    db.exec(`
      ALTER TABLE events ADD COLUMN door TEXT;
      CREATE INDEX events_door_started ON events (door, started_at);

      CREATE TABLE event_replication (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        enabled_at INTEGER NOT NULL
      );
      CREATE TABLE event_outbox (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id  TEXT NOT NULL UNIQUE,
        queued_at INTEGER NOT NULL
      );
      CREATE TRIGGER event_outbox_insert AFTER INSERT ON events WHEN NEW.status IN ('completed', 'failed')
      BEGIN ${queue('NEW.id', 'NEW.updated_at')} END;
      CREATE TRIGGER event_outbox_update AFTER UPDATE ON events WHEN NEW.status IN ('completed', 'failed')
      BEGIN ${queue('NEW.id', 'NEW.updated_at')} END;
      CREATE TRIGGER event_outbox_delete AFTER DELETE ON events
      BEGIN ${queue('OLD.id', 'OLD.updated_at')} END;
      CREATE TRIGGER event_outbox_crop AFTER UPDATE OF crop ON event_faces WHEN NEW.crop IS NULL AND OLD.crop IS NOT NULL
      BEGIN ${queue('NEW.event_id', "CAST(unixepoch('subsec') * 1000 AS INTEGER)")} END;
    `);
  },
  // The shared log of every door: the door column, and the pictures in the
  // database itself (see lib/eventlog/replicate), so that any door's dashboard
  // shows every event. No outbox here: this is where the outboxes empty into.
  postgres: `
    ALTER TABLE events ADD COLUMN door text;
    CREATE INDEX events_door_started ON events (door, started_at);

    CREATE TABLE event_images (
      event_id  text  PRIMARY KEY,
      snapshot  bytea NOT NULL,
      thumbnail bytea
    );
  `,
};

export default eventDoors;
