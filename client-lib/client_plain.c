/*
 * client_plain - PLAIN (RFC 4616): one message, [authzid] NUL authcid
 * NUL passwd, as the initial response or as the answer to the server's
 * (empty) challenge.
 */
#include "client.h"

static void
put_message(struct authd_client *cl)
{
	if (cl->authzid != NULL)
		buf_append_str(&cl->resp, cl->authzid);
	buf_append_c(&cl->resp, '\0');
	buf_append_str(&cl->resp, cl->authcid);
	buf_append_c(&cl->resp, '\0');
	buf_append_str(&cl->resp, cl->password);
	cl->sent++;
}

static int
plain_start(struct authd_client *cl, bool use_initial, bool *has_resp_r)
{
	if (use_initial) {
		put_message(cl);
		*has_resp_r = true;
	}
	return AUTHD_OK;
}

static int
plain_step(struct authd_client *cl, const unsigned char *in, size_t len)
{
	(void)in;
	(void)len;
	if (cl->sent > 0)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "PLAIN has a single "
				  "message, sent already: unexpected challenge");
	put_message(cl);
	return AUTHD_CONTINUE;
}

static int
plain_finish(struct authd_client *cl, const unsigned char *in, size_t len)
{
	(void)in;
	if (len != 0)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "unexpected final "
				  "data for PLAIN");
	return AUTHD_OK;
}

const struct client_mech client_plain = {
	"PLAIN", plain_start, plain_step, plain_finish, NULL,
};
