/*  schema.h - the registry's migrations (schema.c). */
#ifndef ADUAN_SCHEMA_H
#define ADUAN_SCHEMA_H

#include <stddef.h>

/* Migration i (0-based) takes user_version i to i+1. */
size_t aduan_schema_migration_count(void);
const char *aduan_schema_migration(size_t index);

#endif
