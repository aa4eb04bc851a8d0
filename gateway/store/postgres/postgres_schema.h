// PostgresStore's schema and its migrations (internal to
// gatehouse_store_postgres).
//
// The schema is a list of migrations, each taking it from one version to
// the next; table schema_version keeps a row for each applied. A new
// database gets every migration; one an older gateway migrated gets those
// it lacks. Each migration is one transaction with its schema_version row:
// a failure leaves the database at the version before it. Migrations run
// under a transaction-scoped advisory lock, so that replicas opening one
// database at once migrate it once. A change to the schema is a migration
// appended in postgres_schema.cc, never an edit of one a database may
// already have.
//
// Example:
//   RETURN_IF_ERROR(postgres::MigrateSchema(connection));
//
// Not thread-safe: call with the only use of the connection.
#ifndef GATEHOUSE_GATEWAY_STORE_POSTGRES_POSTGRES_SCHEMA_H_
#define GATEHOUSE_GATEWAY_STORE_POSTGRES_POSTGRES_SCHEMA_H_

#include "absl/status/status.h"
#include "pg/pg_connection.h"

namespace gatehouse::postgres {

// The schema version this gateway writes (its last migration's).
int LatestSchemaVersion();

// Brings the database `c` is connected to up to LatestSchemaVersion().
// Errors: FailedPrecondition, changing nothing, if the database holds a
// newer schema than this gateway knows, or tables but no schema_version
// (not a Gatehouse store); Unavailable if PostgreSQL fails, leaving the
// database at the last version fully migrated.
absl::Status MigrateSchema(PgConnection& c);

}  // namespace gatehouse::postgres

#endif  // GATEHOUSE_GATEWAY_STORE_POSTGRES_POSTGRES_SCHEMA_H_
