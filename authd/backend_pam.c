/*
 * backend_pam - the PAM back-end: checks against the system's PAM stack
 * (system accounts).  Untrusted input: the login and password (passed
 * to PAM only after resolve() has checked the name's bytes).
 *
 * Runs on the PAM worker pool: PAM modules may block (network, disk,
 * deliberate failure delays).  authd installs its own PAM_FAIL_DELAY
 * callback that does nothing, so pam_unix's ~2 s sleep after a failure
 * does not hold a worker; the throttle applies authd's own delay without
 * blocking anything.
 *
 * pam_unix must read /etc/shadow, which is root:shadow 0640 on Debian.
 * authd drops root, so it keeps the supplementary groups named in
 * pam_groups (normally "shadow"); unix_chkpwd cannot help a non-root
 * caller check other users' passwords.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

#include "backend.h"
#include "server.h"
#include "utf8.h"
#include "secret.h"

struct conv_data {
	const char *user;
	const char *pw;
};

/* conv - answer PAM's prompts: echo-off prompts get the password, echo-on
 * prompts the user name; messages are ignored. */
static int
conv(int n, const struct pam_message **msg, struct pam_response **resp_r,
     void *appdata)
{
	const struct conv_data *d = appdata;
	struct pam_response *resp;
	int i;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	resp = calloc((size_t)n, sizeof(*resp));
	if (resp == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		const char *answer = NULL;

		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
			answer = d->pw;
		else if (msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			answer = d->user;
		if (answer != NULL && (resp[i].resp = strdup(answer)) == NULL) {
			while (i-- > 0)
				secret_free_str(resp[i].resp);
			free(resp);
			return PAM_BUF_ERR;
		}
	}
	*resp_r = resp;
	return PAM_SUCCESS;
}

/* no_delay - replaces the module's failure sleep (see the top of this file). */
static void
no_delay(int retval, unsigned usec_delay, void *appdata)
{
	(void)retval;
	(void)usec_delay;
	(void)appdata;
}

/* backend_pam_check - pam_authenticate + pam_acct_mgmt for user with
 * password under service; reason (for the log) written to reason_r. */
static enum auth_result
backend_pam_check(const char *service, const char *user, const char *pw,
		  size_t pw_len, const char *rhost, char *reason_r,
		  size_t reason_len)
{
	struct conv_data d = { user, pw };
	struct pam_conv pc = { conv, &d };
	void (*delay_fn)(int, unsigned, void *) = no_delay;
	pam_handle_t *ph = NULL;
	enum auth_result result;
	int rc;

	(void)pw_len;
	rc = pam_start(service[0] != '\0' ? service : "other", user, &pc, &ph);
	if (rc != PAM_SUCCESS) {
		snprintf(reason_r, reason_len, "pam_start: %s",
			 pam_strerror(ph, rc));
		return AUTH_TEMPFAIL;
	}
	{
		/* PAM takes the callback through a void *. */
		const void *item;

		memcpy(&item, &delay_fn, sizeof(item));
		(void)pam_set_item(ph, PAM_FAIL_DELAY, item);
	}
	if (rhost != NULL && rhost[0] != '\0' && strcmp(rhost, "-") != 0)
		(void)pam_set_item(ph, PAM_RHOST, rhost);
	rc = pam_authenticate(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(ph, PAM_SILENT);
	switch (rc) {
	case PAM_SUCCESS:
		result = AUTH_OK;
		break;
	case PAM_AUTH_ERR:
	case PAM_USER_UNKNOWN:
	case PAM_MAXTRIES:
	case PAM_CRED_INSUFFICIENT:
	case PAM_ACCT_EXPIRED:
	case PAM_NEW_AUTHTOK_REQD:
	case PAM_PERM_DENIED:
		result = AUTH_FAIL;
		break;
	default:	/* the stack itself is unwell: not the user's fault */
		result = AUTH_TEMPFAIL;
		break;
	}
	snprintf(reason_r, reason_len, "pam: %s", pam_strerror(ph, rc));
	pam_end(ph, rc);
	return result;
}

/* --- the back-end interface --- */

/* pam_text_ok - (s, n) is UTF-8 without control characters or ':', the
 * byte rule of a PAM user name (and of a realm appended to one). */
static bool
pam_text_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == ':')
			return false;
	return utf8_valid((const unsigned char *)s, n);
}

/* pam_name - the PAM user: the login as sent (system accounts have no
 * realms and are case-sensitive), with "@realm" only if asked to. */
static const char *
pam_name(const struct auth_request *r, char *id, size_t idlen)
{
	if (r->login_len == 0 || r->login_len > USERDB_USER_MAX ||
	    !pam_text_ok(r->login, r->login_len))
		return "invalid user name";
	if (authd.set->pam_append_realm && r->realm_len > 0 &&
	    memchr(r->login, '@', r->login_len) == NULL &&
	    r->realm_len <= USERDB_REALM_MAX) {
		/* The id names the user in the log and in OK user=. */
		if (!pam_text_ok(r->realm, r->realm_len))
			return "invalid realm";
		snprintf(id, idlen, "%.*s@%.*s", (int)r->login_len,
			 r->login, (int)r->realm_len, r->realm);
	} else {
		snprintf(id, idlen, "%.*s", (int)r->login_len,
			 r->login);
	}
	return NULL;
}

/* pam_identity - the name a PAM success answers with (the auth socket's
 * OK user=): the PAM user as checked, not a store key; the realm is the
 * part after its last '@', if any. */
static void
pam_identity(const char *id, struct userdb_name *name)
{
	const char *at = strrchr(id, '@');
	size_t n = at != NULL ? (size_t)(at - id) : strlen(id);

	memset(name, 0, sizeof(*name));
	snprintf(name->key, sizeof(name->key), "%s", id);
	name->key_len = strlen(name->key);
	if (n > USERDB_USER_MAX)
		n = USERDB_USER_MAX;
	memcpy(name->user, id, n);
	name->user_len = n;
	if (at != NULL) {
		snprintf(name->realm, sizeof(name->realm), "%s", at + 1);
		name->realm_len = strlen(name->realm);
	}
}

static bool
pam_service_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0')	/* backend_pam uses "other" */
		return true;
	if (s[0] == '.')
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' ||
		      s[i] == '.'))
			return false;
	return true;
}

static const char *
pam_resolve(const struct auth_request *r, const char *service,
	    struct userdb_name *name_r)
{
	char id[USERDB_KEY_MAX + 1];
	const char *why = pam_name(r, id, sizeof(id));

	/* The service names a file under /etc/pam.d: a client must not be
	 * able to point it anywhere else. */
	if (why == NULL && !pam_service_ok(service))
		why = "invalid PAM service name";
	if (why == NULL)
		pam_identity(id, name_r);
	return why;
}

static enum auth_result
pam_verify(const struct backend_request *r, char *reason, size_t len)
{
	return backend_pam_check(r->service, r->name->key, r->pw, r->pw_len,
				 r->rhost, reason, len);
}

const struct backend backend_pam = {
	"pam", pam_resolve, NULL, pam_verify, true, true,
};
