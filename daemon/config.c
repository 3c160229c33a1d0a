/*
 * config - "key = value" configuration files.  See config.h.
 *
 * Untrusted input: the whole file.  Lines are parsed from (pointer, length)
 * without assuming NUL termination; a NUL byte or an over-long line is an
 * error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "xalloc.h"

#define CONFIG_MAX_LINE		4096
#define CONFIG_MAX_FILE		(1024 * 1024)

struct config {
	const struct config_key *keys;
	size_t nkeys;
	char **values;		/* NULL: not set, default applies */
	unsigned int *lines;	/* where it was set, for duplicate reports */
};

struct config *
config_new(const struct config_key *keys)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));

	cfg->keys = keys;
	while (keys[cfg->nkeys].name != NULL)
		cfg->nkeys++;
	cfg->values = xcalloc(cfg->nkeys, sizeof(char *));
	cfg->lines = xcalloc(cfg->nkeys, sizeof(unsigned int));
	return cfg;
}

void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nkeys; i++)
		free(cfg->values[i]);
	free(cfg->values);
	free(cfg->lines);
	free(cfg);
}

static long
config_index(const struct config *cfg, const char *key, size_t keylen)
{
	size_t i;

	for (i = 0; i < cfg->nkeys; i++)
		if (strlen(cfg->keys[i].name) == keylen &&
		    memcmp(cfg->keys[i].name, key, keylen) == 0)
			return (long)i;
	return -1;
}

static bool
parse_bool(const char *v, bool *out)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool
parse_ulong(const char *v, int base, unsigned long *out)
{
	char *end;

	if (*v == '\0' || *v == '-' || *v == '+' || *v == ' ')
		return false;
	errno = 0;
	*out = strtoul(v, &end, base);
	return errno == 0 && *end == '\0';
}

/* parse_time - "250ms", "5s", "5" (seconds), "2m" into milliseconds. */
static bool
parse_time(const char *v, unsigned long *ms)
{
	char num[32];
	size_t n = strspn(v, "0123456789");
	unsigned long u, mult;

	if (n == 0 || n >= sizeof(num))
		return false;
	memcpy(num, v, n);
	num[n] = '\0';
	if (!parse_ulong(num, 10, &u))
		return false;
	if (strcmp(v + n, "ms") == 0)
		mult = 1;
	else if (v[n] == '\0' || strcmp(v + n, "s") == 0)
		mult = 1000;
	else if (strcmp(v + n, "m") == 0)
		mult = 60000;
	else
		return false;
	if (u > 0xffffffffUL / mult)
		return false;
	*ms = u * mult;
	return true;
}

/* enum_has - whether word is one of the '|'-separated choices. */
static bool
enum_has(const char *choices, const char *word)
{
	size_t n = strlen(word);
	const char *p = choices;

	while (*p != '\0') {
		const char *bar = strchr(p, '|');
		size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);

		if (len == n && strncmp(p, word, n) == 0)
			return true;
		if (bar == NULL)
			break;
		p = bar + 1;
	}
	return false;
}

const char *
config_check_value(const struct config_key *k, const char *v)
{
	unsigned long u;
	bool b;
	const char *p;

	for (p = v; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "control character in value";
	switch (k->type) {
	case CONFIG_STR:
		return NULL;
	case CONFIG_BOOL:
		return parse_bool(v, &b) ? NULL : "expected yes or no";
	case CONFIG_UINT:
		if (!parse_ulong(v, 10, &u))
			return "expected a whole number";
		if (u < k->min || u > k->max)
			return "number out of range";
		return NULL;
	case CONFIG_MODE:
		if (!parse_ulong(v, 8, &u) || u > 0777)
			return "expected an octal mode such as 0640";
		return NULL;
	case CONFIG_ENUM:
		return enum_has(k->choices, v) ? NULL : "not one of the allowed values";
	case CONFIG_TIME:
		if (!parse_time(v, &u))
			return "expected a time such as 500ms, 5s or 2m";
		if (u < k->min || u > k->max)
			return "time out of range";
		return NULL;
	}
	return "unknown type";
}

static bool
config_store(struct config *cfg, const char *key, size_t keylen,
	     const char *value, const char *name, unsigned int line,
	     char **errmsg_r)
{
	long i = config_index(cfg, key, keylen);
	const char *why;

	if (i < 0) {
		*errmsg_r = xasprintf("%s:%u: unknown key \"%.*s\"", name, line,
				     (int)(keylen > 64 ? 64 : keylen), key);
		return false;
	}
	if (cfg->values[i] != NULL && line != 0 && cfg->lines[i] != 0) {
		*errmsg_r = xasprintf("%s:%u: %s is already set at line %u",
				     name, line, cfg->keys[i].name,
				     cfg->lines[i]);
		return false;
	}
	if ((why = config_check_value(&cfg->keys[i], value)) != NULL) {
		*errmsg_r = xasprintf("%s:%u: %s: %s", name, line,
				     cfg->keys[i].name, why);
		return false;
	}
	free(cfg->values[i]);
	cfg->values[i] = xstrdup(value);
	cfg->lines[i] = line;
	return true;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

bool
config_parse(struct config *cfg, const char *text, size_t len,
	     const char *name, char **errmsg_r)
{
	size_t pos = 0;
	unsigned int lineno = 0;

	while (pos < len) {
		const char *line = text + pos, *eq, *nl;
		size_t n, ks, ke, vs, ve, k;
		char *value;
		bool ok;

		lineno++;
		nl = memchr(line, '\n', len - pos);
		n = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += n + (nl != NULL);
		if (n > CONFIG_MAX_LINE) {
			*errmsg_r = xasprintf("%s:%u: line too long", name,
					     lineno);
			return false;
		}
		if (memchr(line, '\0', n) != NULL) {
			*errmsg_r = xasprintf("%s:%u: NUL byte", name, lineno);
			return false;
		}
		for (ks = 0; ks < n && is_space(line[ks]); ks++)
			;
		if (ks == n || line[ks] == '#')
			continue;
		eq = memchr(line, '=', n);
		if (eq == NULL) {
			*errmsg_r = xasprintf("%s:%u: expected \"key = value\"",
					     name, lineno);
			return false;
		}
		ke = (size_t)(eq - line);
		while (ke > ks && is_space(line[ke - 1]))
			ke--;
		for (vs = ke; vs < n && line[vs] != '='; vs++)
			;
		for (vs++; vs < n && is_space(line[vs]); vs++)
			;
		ve = n;
		while (ve > vs && is_space(line[ve - 1]))
			ve--;
		if (ke == ks) {
			*errmsg_r = xasprintf("%s:%u: missing key before \"=\"",
					     name, lineno);
			return false;
		}
		/* "key = value   # note" would make the note part of the value
		 * (a path, a realm) and fail later, or not at all, far from
		 * the line that caused it: say so here.  A '#' right after a
		 * non-blank stays part of the value. */
		for (k = vs + 1; k < ve; k++)
			if (line[k] == '#' && is_space(line[k - 1])) {
				*errmsg_r = xasprintf("%s:%u: %.*s: a comment must "
						     "be on a line of its own",
						     name, lineno,
						     (int)(ke - ks), line + ks);
				return false;
			}
		value = xstrndup(line + vs, ve - vs);
		ok = config_store(cfg, line + ks, ke - ks, value, name, lineno,
				  errmsg_r);
		free(value);
		if (!ok)
			return false;
	}
	return true;
}

bool
config_load(struct config *cfg, const char *path, bool missing_ok,
	    char **errmsg_r)
{
	struct stat st;
	char *text;
	ssize_t n;
	size_t got = 0;
	bool ok;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT && missing_ok)
			return true;
		*errmsg_r = xasprintf("%s: %s", path, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > CONFIG_MAX_FILE) {
		*errmsg_r = xasprintf("%s: not a regular file of at most 1 MiB",
				     path);
		close(fd);
		return false;
	}
	text = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size &&
	       (n = read(fd, text + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	ok = config_parse(cfg, text, got, path, errmsg_r);
	free(text);
	return ok;
}

bool
config_set(struct config *cfg, const char *key, const char *value,
	   char **errmsg_r)
{
	return config_store(cfg, key, strlen(key), value, "command line", 0,
			    errmsg_r);
}

static size_t
config_must(const struct config *cfg, const char *key)
{
	long i = config_index(cfg, key, strlen(key));

	/* A key missing from the table is a programming error; accessors
	 * run while settings are read at load, never on a request. */
	if (i < 0)
		panic("config: no key \"%s\" in the table", key);
	return (size_t)i;
}

const char *
config_str(const struct config *cfg, const char *key)
{
	size_t i = config_must(cfg, key);

	return cfg->values[i] != NULL ? cfg->values[i] : cfg->keys[i].def;
}

bool
config_bool(const struct config *cfg, const char *key)
{
	bool b = false;

	(void)parse_bool(config_str(cfg, key), &b);
	return b;
}

unsigned long
config_uint(const struct config *cfg, const char *key)
{
	size_t i = config_must(cfg, key);
	unsigned long u = 0;

	(void)parse_ulong(config_str(cfg, key),
			  cfg->keys[i].type == CONFIG_MODE ? 8 : 10, &u);
	return u;
}

unsigned long
config_time(const struct config *cfg, const char *key)
{
	unsigned long ms = 0;

	(void)config_must(cfg, key);
	(void)parse_time(config_str(cfg, key), &ms);
	return ms;
}

bool
config_is_set(const struct config *cfg, const char *key)
{
	return cfg->values[config_must(cfg, key)] != NULL;
}

unsigned int
config_line(const struct config *cfg, const char *key)
{
	return cfg->lines[config_must(cfg, key)];
}

char **
config_split(const char *list, size_t *n_r)
{
	char *copy = xstrdup(list), *tok, *save = NULL;
	char **words = NULL;

	*n_r = 0;
	for (tok = strtok_r(copy, " ,\t", &save); tok != NULL;
	     tok = strtok_r(NULL, " ,\t", &save)) {
		words = xrealloc(words, (*n_r + 1) * sizeof(*words));
		words[(*n_r)++] = xstrdup(tok);
	}
	free(copy);
	return words;
}

void
config_split_free(char **words, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(words[i]);
	free(words);
}
