// SqliteStore's schema and its migrations (internal to gatehouse_store).
//
// The schema is the one version 2 created, then each migration in turn. A
// new file gets the base and every migration; a file an older version wrote
// gets the migrations it lacks. A change to the schema is a migration
// appended in sqlite_schema.cc, never an edit of what an existing file
// already has.
//
// Not thread-safe: call with the only use of the connection.
#ifndef GATEHOUSE_GATEWAY_STORE_SQLITE_SCHEMA_H_
#define GATEHOUSE_GATEWAY_STORE_SQLITE_SCHEMA_H_

#include <sqlite3.h>

#include <string>

#include "absl/status/status.h"

namespace gatehouse::sqlite {

// Brings `db` (the file at `path`, named in messages) to this version's
// schema, all in one transaction with the new user_version.
// Errors, each leaving the file as it was: FailedPrecondition if it holds a
// schema this store cannot migrate (older than 2, newer than this version's,
// or tables without a version: not one of ours); Unavailable if SQLite
// fails.
absl::Status MigrateSchema(sqlite3* db, const std::string& path);

}  // namespace gatehouse::sqlite

#endif  // GATEHOUSE_GATEWAY_STORE_SQLITE_SCHEMA_H_
