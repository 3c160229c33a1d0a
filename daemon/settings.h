/*
 * settings - every key authd.conf may hold, with its type and default.
 *
 * One table for the whole product: authd and pwtool read the same file,
 * so each accepts every key (and uses the ones it needs), and an unknown
 * key is an error in both.  authd.conf(5) documents this table.
 */
#ifndef AUTHD_SETTINGS_H
#define AUTHD_SETTINGS_H

#include "config.h"

extern const struct config_key settings_keys[];

/* settings_new - a configuration over settings_keys. */
struct config *settings_new(void);

#endif
