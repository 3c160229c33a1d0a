/*
 * fuzz_client - libauthd's client mechanisms reading server challenges
 * (untrusted: whatever answers on the socket or the SMTP next hop).  The
 * first byte picks the mechanism; the rest is cut at 0xff bytes into the
 * challenges of successive steps, the last piece going to
 * authd_client_finish() as final data.  A fixed client nonce lets the
 * corpus hold real SCRAM server-first messages (RFC 5802's).  Property: no
 * crash, no leak, every call returns one of the documented codes.
 *
 * Inputs whose SCRAM iteration count the client would accept and that is
 * above 100,000 are skipped: the client honours up to 10,000,000 (what
 * authd allows), seconds of PBKDF2 that only time out the fuzzer.  Counts
 * above the cap still run (the refusal is cheap).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_rc(int rc)
{
	if (rc != AUTHD_OK && rc != AUTHD_CONTINUE && rc != AUTHD_FAIL &&
	    rc != AUTHD_ERR_CHALLENGE && rc != AUTHD_ERR_VERIFY &&
	    rc != AUTHD_ERR_PASSWORD && rc != AUTHD_ERR_INVALID &&
	    rc != AUTHD_ERR_NOMEM && rc != AUTHD_ERROR)	/* OpenSSL failed */
		abort();
}

/* costly - an "i=" count in 100,001..10,000,000 somewhere in the input. */
static int
costly(const uint8_t *d, size_t n)
{
	size_t i, k;

	for (i = 0; i + 2 < n; i++) {
		unsigned long v = 0;

		if (d[i] != 'i' || d[i + 1] != '=' || (i > 0 && d[i - 1] != ','))
			continue;
		for (k = i + 2; k < n && k < i + 12 && d[k] >= '0' && d[k] <= '9'; k++)
			v = v * 10 + (unsigned long)(d[k] - '0');
		if (v > 100000 && v <= 10000000)
			return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const mechs[] = { "PLAIN", "LOGIN", "CRAM-MD5",
		"DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256" };
	struct authd_client *cl;
	const unsigned char *resp;
	size_t len, i, start;
	int rc, steps = 0;

	if (size < 1 || costly(data, size))
		return 0;
	if (authd_client_new(mechs[data[0] % 6], &cl) != AUTHD_OK)
		abort();
	if (authd_client_set_credentials(cl, "user", "pencil", NULL) != AUTHD_OK ||
	    authd_client_set_service(cl, "smtp", "elwood.innosoft.com") != AUTHD_OK ||
	    authd_client_set_nonce(cl, "fyko+d2lbbFgONRv9qkxdawL") != AUTHD_OK)
		abort();
	rc = authd_client_start(cl, (data[0] & 0x80) != 0, &resp, &len);
	check_rc(rc);
	for (start = 1, i = 1; rc >= 0 && i <= size && steps < 8; i++) {
		if (i < size && data[i] != 0xff)
			continue;
		if (i == size)	/* the last piece: the OK's final data */
			rc = authd_client_finish(cl, data + start, i - start);
		else
			rc = authd_client_step(cl, data + start, i - start,
					       &resp, &len);
		check_rc(rc);
		if (rc == AUTHD_CONTINUE && len > 0 && resp == NULL)
			abort();
		start = i + 1;
		steps++;
	}
	authd_client_free(cl);
	return 0;
}
