/*
 * conf_keys - every key authd.conf may hold, with its type and default.
 *
 * One table for the whole product: authd and pwtool read the same file,
 * so each accepts every key (and uses the ones it needs), and an unknown
 * key is an error in both.  authd.conf(5) documents this table.
 */
#ifndef AUTHD_CONF_KEYS_H
#define AUTHD_CONF_KEYS_H

#include "config.h"

extern const struct config_key conf_keys[];

/* conf_keys_new - a configuration over conf_keys. */
struct config *conf_keys_new(void);

#endif
