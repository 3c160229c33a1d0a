/*
 * client_login - LOGIN (draft-murchison-sasl-login): the user name, then
 * the password, one per challenge.  The prompts' text ("Username:",
 * "Password:") is not interpreted, as the draft advises; the user name
 * may go as the initial response, which skips the first prompt.
 */
#include "client.h"

static int
login_start(struct authd_client *cl, bool use_initial, bool *has_resp_r)
{
	if (use_initial) {
		buf_append_str(&cl->resp, cl->authcid);
		cl->sent = 1;
		*has_resp_r = true;
	}
	return AUTHD_OK;
}

static int
login_step(struct authd_client *cl, const unsigned char *in, size_t len)
{
	(void)in;
	(void)len;
	if (cl->sent >= 2)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "LOGIN has sent the "
				  "user name and the password: unexpected "
				  "third challenge");
	buf_append_str(&cl->resp, cl->sent == 0 ? cl->authcid : cl->password);
	cl->sent++;
	return AUTHD_CONTINUE;
}

static int
login_finish(struct authd_client *cl, const unsigned char *in, size_t len)
{
	(void)in;
	if (len != 0)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "unexpected final "
				  "data for LOGIN");
	return AUTHD_OK;
}

const struct client_mech client_login = {
	"LOGIN", login_start, login_step, login_finish, NULL,
};
