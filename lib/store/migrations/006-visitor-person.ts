import type { Migration } from './types';

/**
 * The person a visitor was named as, without a foreign key: with the
 * PostgreSQL backend a door's visitors stay in its own SQLite file while the
 * person is enrolled in the shared database, so `visitors.person_id`
 * (`REFERENCES people`, this file's) cannot hold them. `named_person` can;
 * the visitor book drops the link itself when the person is forgotten (store
 * `person-removed`, and on load for a person forgotten while it was not
 * listening). `person_id` stays (a column in a foreign key cannot be dropped
 * in SQLite) and is no longer written.
 */
const visitorPerson: Migration = {
  version: 6,
  name: 'visitor-person',
  up(db) {
    db.exec(`
      ALTER TABLE visitors ADD COLUMN named_person INTEGER;
      UPDATE visitors SET named_person = person_id;
    `);
  },
  postgres: `
    ALTER TABLE visitors ADD COLUMN named_person integer;
    UPDATE visitors SET named_person = person_id;
  `,
};

export default visitorPerson;
