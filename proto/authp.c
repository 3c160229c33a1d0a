/*
 * authp - the auth-client protocol codec, parsers and encoders.  See
 * authp.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "authp.h"


long
authp_unescape(char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] != '\001') {
			s[o++] = s[i];
			continue;
		}
		if (++i == n)
			return -1;
		switch (s[i]) {
		case '0': s[o++] = '\0'; break;
		case '1': s[o++] = '\001'; break;
		case 't': s[o++] = '\t'; break;
		case 'r': s[o++] = '\r'; break;
		case 'n': s[o++] = '\n'; break;
		default: return -1;
		}
	}
	s[o] = '\0';
	return (long)o;
}

int
authp_split(char *line, size_t len, char **fields, size_t *lens, int max)
{
	size_t i, start = 0;
	int n = 0;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (i = 0; i <= len; i++) {
		if (i < len && line[i] != '\t')
			continue;
		if (n == max)
			return -1;
		fields[n] = line + start;
		lens[n] = i - start;
		n++;
		if (i < len)
			line[i] = '\0';
		start = i + 1;
	}
	line[len] = '\0';
	return n;
}

bool
authp_parse_id(const char *s, uint32_t *id_r)
{
	unsigned long v;
	char *end;

	if (s[0] < '1' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 0xffffffffUL)
		return false;
	*id_r = (uint32_t)v;
	return true;
}

/* param - match "name" or "name=value"; returns the value (or "" for a
 * bare word) or NULL. */
static const char *
param(const char *field, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(field, name, n) != 0)
		return NULL;
	if (field[n] == '\0')
		return field + n;
	if (field[n] == '=')
		return field + n + 1;
	return NULL;
}

const char *
authp_parse_auth(char **f, size_t *lens, int n, struct authp_auth *a,
		 bool *id_ok_r)
{
	const char *v;
	int i;

	memset(a, 0, sizeof(*a));
	*id_ok_r = false;
	if (n < 2 || !authp_parse_id(f[1], &a->id))
		return "invalid request id";
	*id_ok_r = true;
	if (n < 3)
		return "AUTH needs a mechanism";
	if (lens[2] == 0)
		return "empty mechanism name";
	a->mech = f[2];
	for (i = 3; i < n; i++) {
		long len = authp_unescape(f[i], lens[i]);

		if (len < 0)
			return "bad escape in a parameter";
		lens[i] = (size_t)len;
		if (a->has_resp)	/* resp= must be the last parameter */
			return "parameter after resp=";
		if ((v = param(f[i], "resp")) != NULL) {
			a->has_resp = true;
			a->resp = v;
			a->resp_len = lens[i] - (size_t)(v - f[i]);
			/* "resp=" and "resp==" both mean an empty response */
			if (a->resp_len == 1 && v[0] == '=')
				a->resp_len = 0;
		} else if ((v = param(f[i], "service")) != NULL ||
			   (v = param(f[i], "protocol")) != NULL) {
			a->service = v;
		} else if ((v = param(f[i], "lip")) != NULL) {
			a->lip = v;
		} else if ((v = param(f[i], "rip")) != NULL) {
			a->rip = v;
		} else if ((v = param(f[i], "lport")) != NULL) {
			a->lport = v;
		} else if ((v = param(f[i], "rport")) != NULL) {
			a->rport = v;
		} else if ((v = param(f[i], "session")) != NULL) {
			a->session = v;
		} else if (param(f[i], "secured") != NULL) {
			a->secured = true;
		} else if (strcmp(f[i], "valid-client-cert") == 0) {
			a->valid_client_cert = true;
		} else if (strcmp(f[i], "no-penalty") == 0) {
			a->no_penalty = true;
		} else if (strcmp(f[i], "final-resp-ok") == 0) {
			a->final_resp_ok = true;
		}
		/* Unknown parameters are ignored (protocol rule). */
	}
	if (a->service == NULL || a->service[0] == '\0')
		return "service= missing";
	return NULL;
}

/* --- encoders --- */

void
authp_escape(struct buf *out, const char *s, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		char e;

		switch (s[i]) {
		case '\001': e = '1'; break;
		case '\t': e = 't'; break;
		case '\r': e = 'r'; break;
		case '\n': e = 'n'; break;
		case '\0': e = '0'; break;
		default: continue;
		}
		buf_append(out, s + start, i - start);
		buf_append_c(out, '\001');
		buf_append_c(out, e);
		start = i + 1;
	}
	buf_append(out, s + start, n - start);
}

void
authp_put_cont(struct buf *out, uint32_t id, const char *b64)
{
	buf_printf(out, "CONT\t%u\t%s\n", id, b64);
}

void
authp_put_ok(struct buf *out, uint32_t id, const char *user,
	     const char *original_user, const char *b64_final)
{
	buf_printf(out, "OK\t%u\tuser=", id);
	authp_escape(out, user, strlen(user));
	if (original_user != NULL && strcmp(original_user, user) != 0) {
		buf_append_str(out, "\toriginal_user=");
		authp_escape(out, original_user, strlen(original_user));
	}
	if (b64_final != NULL)
		buf_printf(out, "\tresp=%s", b64_final);
	buf_append_c(out, '\n');
}

void
authp_put_fail(struct buf *out, uint32_t id, const char *user,
	       const char *code, const char *reason)
{
	buf_printf(out, "FAIL\t%u", id);
	if (user != NULL) {
		buf_append_str(out, "\tuser=");
		authp_escape(out, user, strlen(user));
	}
	if (code != NULL)
		buf_printf(out, "\tcode=%s", code);
	if (reason != NULL) {
		buf_append_str(out, "\treason=");
		authp_escape(out, reason, strlen(reason));
	}
	buf_append_c(out, '\n');
}
