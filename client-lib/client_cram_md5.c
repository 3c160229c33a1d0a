/*
 * client_cram_md5 - CRAM-MD5 (RFC 2195): the server's challenge, then
 * "user SP hex(HMAC-MD5(password, challenge))" in lowercase hex.  No
 * initial response (RFC 2195: the server speaks first).
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "client.h"
#include "codec.h"
#include "secret.h"

static int
cram_start(struct authd_client *cl, bool use_initial, bool *has_resp_r)
{
	(void)cl;
	(void)use_initial;
	*has_resp_r = false;
	return AUTHD_OK;
}

static int
cram_step(struct authd_client *cl, const unsigned char *in, size_t len)
{
	unsigned char mac[16];
	unsigned int n = 0;
	char hex[33];

	if (cl->sent > 0)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "CRAM-MD5 has a "
				  "single response, sent already: unexpected "
				  "challenge");
	if (len == 0)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "empty CRAM-MD5 "
				  "challenge");
	if (HMAC(EVP_md5(), cl->password, (int)strlen(cl->password), in, len,
		 mac, &n) == NULL || n != sizeof(mac)) {
		secret_wipe(mac, sizeof(mac));
		return client_err(cl, AUTHD_ERROR, "HMAC-MD5 is not available "
				  "(FIPS mode?)");
	}
	codec_hex_encode(mac, sizeof(mac), hex);
	buf_append_str(&cl->resp, cl->authcid);
	buf_append_c(&cl->resp, ' ');
	buf_append_str(&cl->resp, hex);
	/* The digest is password-equivalent for this challenge only, but
	 * an attacker's dictionary attack starts from it. */
	secret_wipe(mac, sizeof(mac));
	secret_wipe(hex, sizeof(hex));
	cl->sent++;
	return AUTHD_CONTINUE;
}

static int
cram_finish(struct authd_client *cl, const unsigned char *in, size_t len)
{
	(void)in;
	if (len != 0)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "unexpected final "
				  "data for CRAM-MD5");
	return AUTHD_OK;
}

const struct client_mech client_cram_md5 = {
	"CRAM-MD5", cram_start, cram_step, cram_finish, NULL,
};
