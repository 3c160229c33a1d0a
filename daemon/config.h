/*
 * config - the reader of authd.conf: "key = value" lines.
 *
 * The file is untrusted input (an admin's typo must give a clear message,
 * never a crash): every line is checked against a table of known keys and
 * their types, and the first problem is reported as "FILE:LINE: reason".
 * Unknown keys, duplicate keys and bad values are errors.
 */
#ifndef AUTHD_CONFIG_H
#define AUTHD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum config_type {
	CONFIG_STR,	/* printable text, may be empty */
	CONFIG_BOOL,	/* yes/no, true/false, on/off, 1/0 */
	CONFIG_UINT,	/* decimal within [min, max] */
	CONFIG_MODE,	/* octal file mode, at most 0777 */
	CONFIG_ENUM,	/* one of the words in choices, '|'-separated */
	CONFIG_TIME,	/* number with unit ms, s (default) or m; [min, max] ms */
};

struct config_key {
	const char *name;
	enum config_type type;
	const char *def;		/* default, as it would be written */
	unsigned long min, max;		/* CONFIG_UINT */
	const char *choices;		/* CONFIG_ENUM */
};

struct config;

/* config_new - an empty configuration over a key table ending in a
 * { NULL } entry.  Every key has its default until set. */
struct config *config_new(const struct config_key *keys);
void config_free(struct config *cfg);

/* config_parse - parse (text, len) as read from file name; on error return
 * false and set *errmsg_r to an allocated "name:line: reason" message. */
bool config_parse(struct config *cfg, const char *text, size_t len,
		  const char *name, char **errmsg_r);
/* config_load - read and parse a file.  A missing file is an error unless
 * missing_ok, in which case the defaults stay. */
bool config_load(struct config *cfg, const char *path, bool missing_ok,
		 char **errmsg_r);
/* config_set - set one key from the command line; same checks. */
bool config_set(struct config *cfg, const char *key, const char *value,
		char **errmsg_r);

/* Accessors, for reading settings at load (never per request); the key
 * must be in the table (panic() if not: a programming error). */
const char *config_str(const struct config *cfg, const char *key);
bool config_bool(const struct config *cfg, const char *key);
unsigned long config_uint(const struct config *cfg, const char *key);
/* config_time - a CONFIG_TIME value in milliseconds. */
unsigned long config_time(const struct config *cfg, const char *key);
/* config_is_set - whether the file or config_set() gave the key a value. */
bool config_is_set(const struct config *cfg, const char *key);

/* config_line - the line of the file that set key; 0 for a default or a
 * value from the command line.  For messages that point at the line at
 * fault after the file parsed (a dangerous combination of keys). */
unsigned int config_line(const struct config *cfg, const char *key);

/* config_split - the words of a space/comma/TAB separated list value,
 * allocated (NULL when there are none), for settings read once at load. */
char **config_split(const char *list, size_t *n_r);
void config_split_free(char **words, size_t n);

/* config_check_value - validate a value for a key description; returns
 * NULL or a static reason.  Exposed for tests. */
const char *config_check_value(const struct config_key *k, const char *value);

#endif
