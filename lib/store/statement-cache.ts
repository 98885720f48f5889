import type Database from 'better-sqlite3';

/**
 * Prepared statements cached by their SQL text, for a class that runs a few
 * dozen statement shapes on one connection: prepare once, run many times.
 */
export function statementCache(db: Database.Database): (text: string) => Database.Statement {
  const statements = new Map<string, Database.Statement>();
  return (text) => {
    let statement = statements.get(text);
    if (!statement) {
      statement = db.prepare(text);
      statements.set(text, statement);
    }
    return statement;
  };
}
