import type { Migration } from './types';

/**
 * The person a visitor was named as, without a foreign key: with the
 * PostgreSQL backend a door's visitors stay in its own SQLite file while the
 * person is enrolled in the shared database, so `visitors.person_id`
 * (`REFERENCES people`, this file's) cannot hold them. `named_person` can.
 * `person_id` stays (a column in a foreign key cannot be dropped in SQLite)
 * and is no longer written.
 *
 * Forgetting a person forgets the faces of the visitors named as them (and so
 * the visitors): a trigger does it when the person is in the same database,
 * before their id can be given to someone new; the visitor book does it for a
 * person in another database (store `person-removed`, and a check when it
 * opens for a forget it missed).
 */
const visitorPerson: Migration = {
  version: 6,
  name: 'visitor-person',
  up(db) {
    db.exec(`
      ALTER TABLE visitors ADD COLUMN named_person INTEGER;
      UPDATE visitors SET named_person = person_id;
      CREATE TRIGGER visitors_of_forgotten_person AFTER DELETE ON people
      BEGIN
        DELETE FROM visitor_faces WHERE visitor_id IN (SELECT id FROM visitors WHERE named_person = OLD.id);
      END;
    `);
  },
  postgres: `
    ALTER TABLE visitors ADD COLUMN named_person integer;
    UPDATE visitors SET named_person = person_id;
    CREATE FUNCTION porchlight_visitors_of_forgotten_person() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM visitor_faces WHERE visitor_id IN (SELECT id FROM visitors WHERE named_person = OLD.id);
      RETURN OLD;
    END $$;
    CREATE TRIGGER visitors_of_forgotten_person AFTER DELETE ON people
      FOR EACH ROW EXECUTE FUNCTION porchlight_visitors_of_forgotten_person();
  `,
};

export default visitorPerson;
