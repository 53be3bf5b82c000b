/*
 * migrate - apply sql/NNN_*.sql in order, exactly once each
 *
 * The migration files are compiled into the binary (build/sql_embed.c,
 * generated from sql/ by the makefile), so a deployed feedctl always
 * carries the schema it was built for.  migrate_run() connects with the
 * owner's conninfo, takes an advisory lock, and applies each file not
 * yet in schema_migrations inside its own transaction together with its
 * schema_migrations row; re-running is a no-op.  migrate_status()
 * prints one line per known migration: applied (with time) or pending.
 */
#ifndef MXFEED_MIGRATE_H
#define MXFEED_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

#include "util/error.h"

struct migration {
	const char *name; /* "001_init.sql" */
	const char *sql;
};

extern const struct migration migrations[];
extern const size_t migrations_count;

/* Applied count into *applied; progress lines to out (may be NULL). */
int migrate_run(const char *conninfo, FILE *out, int *applied,
		struct error *err) __attribute__((warn_unused_result));
int migrate_status(const char *conninfo, FILE *out, int *pending,
		   struct error *err) __attribute__((warn_unused_result));

#endif
