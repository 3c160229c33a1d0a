/*
 * client - struct authd_client: the mechanism-independent driver of the
 * client side of a SASL exchange.  The mechanisms are in client_*.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authd.h"
#include "client.h"
#include "secret.h"
#include "util.h"

static const struct client_mech *const mechs[] = {
	&client_plain, &client_login, &client_cram_md5, &client_digest_md5,
	&client_scram_sha1, &client_scram_sha256,
};

int
client_err(struct authd_client *cl, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(cl->err, sizeof(cl->err), fmt, ap) < 0)
		snprintf(cl->err, sizeof(cl->err), "%s", authd_strerror(code));
	va_end(ap);
	return code;
}

int
client_nomem(struct authd_client *cl)
{
	return client_err(cl, AUTHD_ERR_NOMEM, "out of memory");
}

int
client_nonce(struct authd_client *cl, char **nonce_r)
{
	char fresh[25];

	if (cl->nonce != NULL)
		*nonce_r = util_strdup(cl->nonce);
	else if (!util_random_nonce(fresh))
		return client_err(cl, AUTHD_ERROR, "no random bytes for a "
				  "nonce (RAND_bytes failed)");
	else
		*nonce_r = util_strdup(fresh);
	if (*nonce_r == NULL)
		return client_nomem(cl);
	return AUTHD_OK;
}

int
authd_client_new(const char *mech, struct authd_client **client_r)
{
	struct authd_client *cl;
	size_t i;

	*client_r = NULL;
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (mech != NULL && strcasecmp(mech, mechs[i]->name) == 0)
			break;
	if (i == sizeof(mechs) / sizeof(mechs[0]))
		return AUTHD_ERR_UNSUPPORTED;
	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return AUTHD_ERR_NOMEM;
	cl->mech = mechs[i];
	*client_r = cl;
	return AUTHD_OK;
}

void
authd_client_free(struct authd_client *cl)
{
	if (cl == NULL)
		return;
	if (cl->mech->free_state != NULL)
		cl->mech->free_state(cl);
	util_free_str(cl->authcid);
	util_free_str(cl->password);
	util_free_str(cl->authzid);
	util_free_str(cl->service);
	util_free_str(cl->host);
	util_free_str(cl->realm);
	util_free_str(cl->nonce);
	buf_free(&cl->resp);
	secret_wipe(cl, sizeof(*cl));
	free(cl);
}

const char *
authd_client_mech(const struct authd_client *cl)
{
	return cl->mech->name;
}

const char *
authd_client_error(const struct authd_client *cl)
{
	return cl->err;
}

/* replace - *dst = a copy of s (NULL stays NULL), the old one wiped. */
static bool
replace(char **dst, const char *s)
{
	char *p = NULL;

	if (s != NULL && (p = util_strdup(s)) == NULL)
		return false;
	util_free_str(*dst);
	*dst = p;
	return true;
}

int
authd_client_set_credentials(struct authd_client *cl, const char *authcid,
			     const char *password, const char *authzid)
{
	char *c = NULL, *p = NULL, *z = NULL;

	if (cl->started)
		return client_err(cl, AUTHD_ERR_INVALID, "the exchange has "
				  "started");
	if (authcid == NULL || authcid[0] == '\0' || password == NULL ||
	    password[0] == '\0')
		return client_err(cl, AUTHD_ERR_INVALID, "a user name and a "
				  "password are required");
	if (authzid != NULL && authzid[0] == '\0')
		authzid = NULL;
	if (!replace(&c, authcid) || !replace(&p, password) ||
	    !replace(&z, authzid)) {
		util_free_str(c);
		util_free_str(p);
		return client_nomem(cl);
	}
	util_free_str(cl->authcid);
	util_free_str(cl->password);
	util_free_str(cl->authzid);
	cl->authcid = c;
	cl->password = p;
	cl->authzid = z;
	return AUTHD_OK;
}

int
authd_client_set_service(struct authd_client *cl, const char *service,
			 const char *host)
{
	if (cl->started)
		return client_err(cl, AUTHD_ERR_INVALID, "the exchange has "
				  "started");
	if (service == NULL || service[0] == '\0' ||
	    (host != NULL && host[0] == '\0'))
		return client_err(cl, AUTHD_ERR_INVALID, "empty service or "
				  "host");
	if (!replace(&cl->service, service) ||
	    !replace(&cl->host, host != NULL ? host : "localhost"))
		return client_nomem(cl);
	return AUTHD_OK;
}

int
authd_client_set_realm(struct authd_client *cl, const char *realm)
{
	if (cl->started)
		return client_err(cl, AUTHD_ERR_INVALID, "the exchange has "
				  "started");
	if (!replace(&cl->realm, realm))
		return client_nomem(cl);
	return AUTHD_OK;
}

int
authd_client_set_nonce(struct authd_client *cl, const char *nonce)
{
	size_t i;

	if (cl->started)
		return client_err(cl, AUTHD_ERR_INVALID, "the exchange has "
				  "started");
	/* RFC 5802 §7 printable (no ','); RFC 2831 quoted-string content
	 * without the characters that would need escaping. */
	for (i = 0; nonce != NULL && nonce[i] != '\0'; i++)
		if (nonce[i] < 0x21 || nonce[i] > 0x7e || nonce[i] == ',' ||
		    nonce[i] == '"' || nonce[i] == '\\')
			break;
	if (nonce == NULL || i == 0 || nonce[i] != '\0' || i > 256)
		return client_err(cl, AUTHD_ERR_INVALID, "a nonce is 1 to 256 "
				  "printable ASCII characters other than , \" "
				  "and \\");
	if (!replace(&cl->nonce, nonce))
		return client_nomem(cl);
	return AUTHD_OK;
}

/* give - hand cl->resp to the caller. */
static void
give(struct authd_client *cl, const unsigned char **resp_r, size_t *len_r)
{
	*resp_r = (const unsigned char *)(cl->resp.data != NULL ?
					  cl->resp.data : "");
	*len_r = cl->resp.len;
}

int
authd_client_start(struct authd_client *cl, bool use_initial,
		   const unsigned char **resp_r, size_t *len_r)
{
	bool has = false;
	int rc;

	*resp_r = NULL;
	*len_r = 0;
	cl->err[0] = '\0';
	if (cl->started)
		return client_err(cl, AUTHD_ERR_INVALID, "the exchange has "
				  "started already");
	if (cl->authcid == NULL)
		return client_err(cl, AUTHD_ERR_INVALID, "no credentials "
				  "(authd_client_set_credentials)");
	cl->started = true;
	buf_reset(&cl->resp);
	rc = cl->mech->start(cl, use_initial, &has);
	if (rc == AUTHD_OK && !buf_ok(&cl->resp))
		rc = client_nomem(cl);
	if (rc != AUTHD_OK) {
		cl->dead = true;
		buf_reset(&cl->resp);
		return rc;
	}
	if (has)
		give(cl, resp_r, len_r);
	return AUTHD_OK;
}

int
authd_client_step(struct authd_client *cl, const unsigned char *challenge,
		  size_t len, const unsigned char **resp_r, size_t *len_r)
{
	int rc;

	*resp_r = NULL;
	*len_r = 0;
	cl->err[0] = '\0';
	if (!cl->started || cl->dead)
		return client_err(cl, AUTHD_ERR_INVALID, cl->dead ?
				  "the exchange has failed already" :
				  "the exchange has not started");
	if (challenge == NULL && len > 0)
		return client_err(cl, AUTHD_ERR_INVALID, "no challenge");
	buf_reset(&cl->resp);
	rc = cl->mech->step(cl, challenge != NULL ? challenge :
			    (const unsigned char *)"", len);
	if (rc == AUTHD_CONTINUE && !buf_ok(&cl->resp))
		rc = client_nomem(cl);
	if (rc != AUTHD_CONTINUE) {
		cl->dead = true;
		buf_reset(&cl->resp);
		return rc;
	}
	give(cl, resp_r, len_r);
	return AUTHD_CONTINUE;
}

int
authd_client_finish(struct authd_client *cl, const unsigned char *final,
		    size_t len)
{
	int rc;

	cl->err[0] = '\0';
	if (!cl->started || cl->dead)
		return client_err(cl, AUTHD_ERR_INVALID, cl->dead ?
				  "the exchange has failed already" :
				  "the exchange has not started");
	buf_reset(&cl->resp);
	rc = cl->mech->finish(cl, final != NULL ? final :
			      (const unsigned char *)"",
			      final != NULL ? len : 0);
	if (rc != AUTHD_OK)
		cl->dead = true;
	return rc;
}
