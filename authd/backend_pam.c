/*
 * backend_pam - PAM conversation and result mapping.  See backend_pam.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

#include "backend_pam.h"
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

/* no_delay - replaces the module's failure sleep (see backend_pam.h). */
static void
no_delay(int retval, unsigned usec_delay, void *appdata)
{
	(void)retval;
	(void)usec_delay;
	(void)appdata;
}

enum auth_result
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
