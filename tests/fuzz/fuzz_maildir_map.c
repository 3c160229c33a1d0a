/*
 * fuzz_maildir_map - recipient addresses (the client's) through the
 * Maildir template, and templates (the admin's) through the checker.
 * Input: a mode byte, then the bytes.  Mode 0: an address for
 * smtp_addr_parse; mode 1: raw local-part bytes (NUL and all) in a
 * local domain, bypassing the parser; mode 2: a template.
 * Properties: never crashes or leaks; a path made from
 * /m/%d/%u/Maildir is exactly four components below "/", the two from
 * the address neither "." nor ".." nor hidden, with no control byte and
 * no '/': no address reaches outside /m/.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maildir_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_path(const char *p)
{
	const char *c = p;
	int comps = 0;

	if (strncmp(p, "/m/", 3) != 0)
		abort();
	while (*c == '/') {
		const char *e = strchr(c + 1, '/');
		size_t n = e != NULL ? (size_t)(e - c - 1) : strlen(c + 1);

		if (n == 0 || c[1] == '.')
			abort();
		comps++;
		if (e == NULL)
			break;
		c = e;
	}
	if (comps != 4 || strcmp(p + strlen(p) - 8, "/Maildir") != 0)
		abort();
	for (c = p; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct maildir_map *mm;
	char *err = NULL, path[PATH_MAX];
	struct smtp_addr a;
	const char *in = (const char *)data + 1;

	if (size == 0)
		return 0;
	size--;
	if (mm == NULL &&
	    (mm = maildir_map_new("example.org [127.0.0.1]", NULL,
				  "/m/%d/%u/Maildir", &err)) == NULL)
		abort();
	switch (data[0] % 3) {
	case 0:
		if (smtp_addr_parse(in, size, &a) != NULL)
			return 0;
		break;
	case 1:
		memset(&a, 0, sizeof(a));
		a.local_len = size < SMTP_LOCAL_MAX ? size : SMTP_LOCAL_MAX;
		memcpy(a.local, in, a.local_len);
		memcpy(a.domain, "example.org", 12);
		a.domain_len = 11;
		break;
	default: {
		/* Not strndup: the input has no NUL, and a strict string
		 * check reads for one. */
		char *t = malloc(size + 1);
		struct maildir_map *tm;

		if (t == NULL)
			return 0;
		memcpy(t, in, size);
		t[size] = '\0';
		tm = maildir_map_new("example.org", NULL, t, &err);
		free(t);
		if (tm == NULL) {
			if (err == NULL)
				abort();
			free(err);
			return 0;
		}
		if (smtp_addr_parse("bob@example.org", 15, &a) != NULL ||
		    (maildir_map_lookup(tm, &a, path, sizeof(path)) ==
		     MAILDIR_FOUND && path[0] != '/'))
			abort();
		maildir_map_free(tm);
		return 0;
	}
	}
	if (maildir_map_lookup(mm, &a, path, sizeof(path)) == MAILDIR_FOUND)
		check_path(path);
	return 0;
}
