/*
 * map - access maps from text files.  See map.h.
 *
 * Entries are kept sorted by key for binary search; CIDR keys also go to
 * a list searched in file order (Postfix's cidr tables are first match).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "map.h"
#include "secret.h"
#include "xalloc.h"

struct map_entry {
	char *key;			/* lower-cased */
	char *value;
};

struct map_cidr {
	struct net net;
	const char *value;		/* owned by the entry of the same key */
};

struct map {
	struct map_entry *e;
	size_t n;
	struct map_cidr *cidr;
	size_t n_cidr;
};

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct map_entry *)a)->key,
		      ((const struct map_entry *)b)->key);
}

void
map_free(struct map *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->e[i].key);
		/* A password map's values are passwords. */
		secret_free_str(m->e[i].value);
	}
	free(m->e);
	free(m->cidr);
	free(m);
}

size_t
map_size(const struct map *m)
{
	return m->n;
}

/* add_line - one "key value" line (trimmed, not a comment). */
static const char *
add_line(struct map *m, const char *s, size_t n)
{
	size_t k = 0, v, i;
	struct map_entry *e;

	while (k < n && s[k] != ' ' && s[k] != '\t')
		k++;
	for (v = k; v < n && (s[v] == ' ' || s[v] == '\t'); v++)
		;
	if (v == n)
		return "expected \"key value\"";
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
			return "control character";
	m->e = xrealloc(m->e, (m->n + 1) * sizeof(*m->e));
	e = &m->e[m->n++];
	e->key = xstrndup(s, k);
	for (i = 0; i < k; i++)
		if (e->key[i] >= 'A' && e->key[i] <= 'Z')
			e->key[i] = (char)(e->key[i] - 'A' + 'a');
	e->value = xstrndup(s + v, n - v);
	return NULL;
}

struct map *
map_parse(const char *text, size_t len, const char *name, char **errmsg_r)
{
	struct map *m = xcalloc(1, sizeof(*m));
	size_t pos = 0, i;
	unsigned int line = 0;
	const char *why = NULL;

	while (pos < len && why == NULL) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - s) : len - pos;

		pos += n + 1;
		line++;
		if (n > MAP_LINE_MAX) {
			why = "line too long";
			break;
		}
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
				 s[n - 1] == '\r'))
			n--;
		while (n > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		if (n == 0 || *s == '#')
			continue;
		if (memchr(s, '\0', n) != NULL)
			why = "NUL byte";
		else
			why = add_line(m, s, n);
	}
	if (why != NULL) {
		*errmsg_r = xasprintf("%s:%u: %s", name, line, why);
		map_free(m);
		return NULL;
	}
	/* CIDR keys in file order, before sorting moves them. */
	for (i = 0; i < m->n; i++) {
		struct net net;

		if (strchr(m->e[i].key, '/') == NULL)
			continue;
		if ((why = net_parse(m->e[i].key, strlen(m->e[i].key),
				     &net)) != NULL) {
			*errmsg_r = xasprintf("%s: %s: %s", name, m->e[i].key, why);
			map_free(m);
			return NULL;
		}
		m->cidr = xrealloc(m->cidr, (m->n_cidr + 1) * sizeof(*m->cidr));
		m->cidr[m->n_cidr].net = net;
		m->cidr[m->n_cidr++].value = m->e[i].value;
	}
	if (m->n > 1)	/* qsort and bsearch want a non-NULL array */
		qsort(m->e, m->n, sizeof(*m->e), entry_cmp);
	for (i = 1; i < m->n; i++)
		if (strcmp(m->e[i - 1].key, m->e[i].key) == 0) {
			*errmsg_r = xasprintf("%s: key \"%s\" appears twice",
					      name, m->e[i].key);
			map_free(m);
			return NULL;
		}
	return m;
}

struct map *
map_load(const char *path, char **errmsg_r)
{
	struct stat st;
	struct map *m = NULL;
	char *text;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		*errmsg_r = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > MAP_FILE_MAX) {
		*errmsg_r = xasprintf("%s: not a regular file of at most 64 MiB",
				      path);
		close(fd);
		return NULL;
	}
	text = xmalloc((size_t)st.st_size + 1);
	got = read(fd, text, (size_t)st.st_size);
	close(fd);
	if (got != (ssize_t)st.st_size)
		*errmsg_r = xasprintf("%s: short read", path);
	else
		m = map_parse(text, (size_t)got, path, errmsg_r);
	free(text);
	return m;
}

const char *
map_find(const struct map *m, const char *key, size_t n)
{
	char k[SMTP_PATH_MAX + 2];
	struct map_entry want = { k, NULL }, *hit;
	size_t i;

	if (m == NULL || m->n == 0 || n == 0 || n >= sizeof(k))
		return NULL;
	for (i = 0; i < n; i++)
		k[i] = (char)(key[i] >= 'A' && key[i] <= 'Z' ?
			      key[i] - 'A' + 'a' : key[i]);
	k[n] = '\0';
	hit = bsearch(&want, m->e, m->n, sizeof(*m->e), entry_cmp);
	return hit != NULL ? hit->value : NULL;
}

const char *
map_lookup_domain(const struct map *m, const char *domain, size_t n)
{
	const char *v, *dot;

	/* example.org, then org: a domain entry covers its subdomains (as
	 * Postfix's parent_domain_matches_subdomains does for access maps). */
	while (n > 0) {
		if ((v = map_find(m, domain, n)) != NULL)
			return v;
		if ((dot = memchr(domain, '.', n)) == NULL)
			break;
		n -= (size_t)(dot + 1 - domain);
		domain = dot + 1;
	}
	return NULL;
}

const char *
map_lookup_addr(const struct map *m, const struct smtp_addr *a)
{
	char key[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 2];
	const char *v;
	int n;

	if (a->null)
		return map_find(m, "<>", 2);
	n = snprintf(key, sizeof(key), "%s@%s", a->local, a->domain);
	if (n > 0 && (size_t)n < sizeof(key) &&
	    (v = map_find(m, key, (size_t)n)) != NULL)
		return v;
	if ((v = map_lookup_domain(m, a->domain, a->domain_len)) != NULL)
		return v;
	n = snprintf(key, sizeof(key), "%s@", a->local);
	if (n > 0 && (size_t)n < sizeof(key))
		return map_find(m, key, (size_t)n);
	return NULL;
}

const char *
map_lookup_client(const struct map *m, const char *text,
		  const struct net_addr *a)
{
	const char *v;
	size_t i;

	if (m == NULL)
		return NULL;
	if ((v = map_find(m, text, strlen(text))) != NULL)
		return v;
	for (i = 0; i < m->n_cidr; i++)
		if (net_match(&m->cidr[i].net, a))
			return m->cidr[i].value;
	return NULL;
}
