/*
 * maildir_map - local domains and their Maildirs.  See maildir_map.h.
 *
 * Untrusted input: the recipient address (only ever one checked path
 * component in a template) and the map file (map.c parses it; a value
 * is checked when it is used).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "maildir_map.h"
#include "map.h"
#include "xalloc.h"

struct maildir_map {
	char **domains;			/* lower-cased, sorted */
	size_t ndomains;
	struct map *map;		/* NULL: none */
	char *template;			/* NULL: none */
};

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
maildir_map_free(struct maildir_map *mm)
{
	size_t i;

	if (mm == NULL)
		return;
	for (i = 0; i < mm->ndomains; i++)
		free(mm->domains[i]);
	free(mm->domains);
	map_free(mm->map);
	free(mm->template);
	free(mm);
}

/* add_domains - split s at commas and white space; lower-case, drop a
 * final dot. */
static const char *
add_domains(struct maildir_map *mm, const char *s)
{
	while (*s != '\0') {
		size_t len = strcspn(s, ", \t\r\n"), n = len, i;
		char *d;

		if (len == 0) {
			s++;
			continue;
		}
		if (s[n - 1] == '.')
			n--;
		if (n == 0 || n > SMTP_DOMAIN_MAX)
			return "local_domains: a domain is empty or too long";
		d = xstrndup(s, n);
		for (i = 0; i < n; i++) {
			if ((unsigned char)d[i] <= 0x20 || d[i] == 0x7f ||
			    d[i] == '/') {
				free(d);
				return "local_domains: a domain holds a bad "
				       "character";
			}
			if (d[i] >= 'A' && d[i] <= 'Z')
				d[i] = (char)(d[i] - 'A' + 'a');
		}
		mm->domains = xreallocarray(mm->domains, mm->ndomains + 1,
					    sizeof(*mm->domains));
		mm->domains[mm->ndomains++] = d;
		s += len;
	}
	if (mm->ndomains > 1)
		qsort(mm->domains, mm->ndomains, sizeof(*mm->domains),
		      str_cmp);
	return NULL;
}

/* check_template - absolute, and % only before u, d or %. */
static const char *
check_template(const char *t)
{
	size_t i;

	if (t[0] != '/')
		return "maildir_template: not an absolute path";
	if (strlen(t) >= PATH_MAX / 2)
		return "maildir_template: too long";
	for (i = 0; t[i] != '\0'; i++) {
		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
			return "maildir_template: control character";
		if (t[i] != '%')
			continue;
		i++;
		if (t[i] != 'u' && t[i] != 'd' && t[i] != '%')
			return "maildir_template: only %u, %d and %% may "
			       "follow a %";
	}
	return NULL;
}

struct maildir_map *
maildir_map_new(const char *local_domains, const char *map_path,
		const char *template, char **errmsg_r)
{
	struct maildir_map *mm = xcalloc(1, sizeof(*mm));
	const char *why = NULL;

	if (local_domains != NULL)
		why = add_domains(mm, local_domains);
	if (why == NULL && template != NULL && template[0] != '\0') {
		why = check_template(template);
		mm->template = xstrdup(template);
	}
	if (why != NULL) {
		*errmsg_r = xstrdup(why);
		maildir_map_free(mm);
		return NULL;
	}
	if (map_path != NULL && map_path[0] != '\0' &&
	    (mm->map = map_load(map_path, errmsg_r)) == NULL) {
		maildir_map_free(mm);
		return NULL;
	}
	return mm;
}

bool
maildir_map_is_local(const struct maildir_map *mm, const char *domain,
		     size_t n)
{
	char d[SMTP_DOMAIN_MAX + 1], *key = d;
	size_t i;

	if (n > 0 && domain[n - 1] == '.')
		n--;
	if (mm == NULL || mm->ndomains == 0 || n == 0 || n >= sizeof(d))
		return false;
	for (i = 0; i < n; i++) {
		if (domain[i] == '\0')
			return false;
		d[i] = (char)(domain[i] >= 'A' && domain[i] <= 'Z' ?
			      domain[i] - 'A' + 'a' : domain[i]);
	}
	d[n] = '\0';
	return bsearch(&key, mm->domains, mm->ndomains, sizeof(*mm->domains),
		       str_cmp) != NULL;
}

bool
maildir_path_part_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || p[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c >= 0x7f || c == '/')
			return false;
		if (c == '.' && i + 1 < n && p[i + 1] == '.')
			return false;
	}
	return true;
}

/* expand - the template with the checked parts (%u lower-cased, so
 * User and user share a Maildir); false when too long. */
static bool
expand(const char *t, const struct smtp_addr *a, char *out, size_t outlen)
{
	size_t o = 0, i;

	for (; *t != '\0'; t++) {
		const char *s = t;
		size_t n = 1;
		bool lower = false;

		if (*t == '%') {
			t++;
			s = t;
			if (*t == 'u') {
				s = a->local;
				n = a->local_len;
				lower = true;
			} else if (*t == 'd') {
				s = a->domain;
				n = a->domain_len;
			}
		}
		if (o + n >= outlen)
			return false;
		for (i = 0; i < n; i++)
			out[o + i] = (char)(lower && s[i] >= 'A' &&
					    s[i] <= 'Z' ? s[i] - 'A' + 'a' :
					    s[i]);
		o += n;
	}
	out[o] = '\0';
	return true;
}

/* from_map - the map's value for user@domain, then @domain. */
static const char *
from_map(const struct maildir_map *mm, const struct smtp_addr *a)
{
	char key[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 2];
	const char *v;
	int n;

	n = snprintf(key, sizeof(key), "%.*s@%.*s", (int)a->local_len,
		     a->local, (int)a->domain_len, a->domain);
	if (n > 0 && (size_t)n < sizeof(key) &&
	    (v = map_find(mm->map, key, (size_t)n)) != NULL)
		return v;
	n = snprintf(key, sizeof(key), "@%.*s", (int)a->domain_len,
		     a->domain);
	if (n > 0 && (size_t)n < sizeof(key))
		return map_find(mm->map, key, (size_t)n);
	return NULL;
}

enum maildir_lookup
maildir_map_lookup(const struct maildir_map *mm, const struct smtp_addr *a,
		   char *path_r, size_t pathlen)
{
	const char *v;
	size_t n;

	if (a->null || !maildir_map_is_local(mm, a->domain, a->domain_len))
		return MAILDIR_REMOTE;
	if (a->local_len == 0 || a->local_len > SMTP_LOCAL_MAX ||
	    memchr(a->local, '\0', a->local_len) != NULL)
		return MAILDIR_REFUSED;
	if (mm->map != NULL && (v = from_map(mm, a)) != NULL) {
		n = strlen(v);
		if (v[0] != '/' || n >= pathlen) {
			log_warnx("maildir_map: the value for a recipient in "
				  "%s is not an absolute path that fits",
				  a->domain);
			return MAILDIR_TEMPFAIL;
		}
		memcpy(path_r, v, n + 1);
		return MAILDIR_FOUND;
	}
	if (mm->template == NULL)
		return MAILDIR_UNKNOWN;
	if (!maildir_path_part_ok(a->local, a->local_len) ||
	    !maildir_path_part_ok(a->domain, a->domain_len))
		return MAILDIR_REFUSED;
	if (!expand(mm->template, a, path_r, pathlen)) {
		log_warnx("maildir_template: the path for a recipient in %s "
			  "is too long", a->domain);
		return MAILDIR_TEMPFAIL;
	}
	return MAILDIR_FOUND;
}
