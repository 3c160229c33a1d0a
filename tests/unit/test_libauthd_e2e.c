/*
 * test_libauthd_e2e - libauthd against a running authd.  Skipped (TAP
 * "1..0 # SKIP") unless AUTHD_AUTH_SOCKET names its auth socket; then
 * AUTHD_TEST_USER (default alice@example.org) and AUTHD_TEST_PASSWORD
 * (required) name a user that has every verifier (pwtool -m all), and
 * AUTHD_MUX_SOCKET, if set, the mux socket.  For example:
 *
 *   AUTHD_AUTH_SOCKET=/run/authd/auth AUTHD_MUX_SOCKET=/run/authd/mux \
 *   AUTHD_TEST_PASSWORD=secret build/tests/unit/unit-libauthd_e2e
 *
 * Every mechanism both sides know, with the right and a wrong password,
 * final data as a challenge and with the OK (final-resp-ok), blocking;
 * then all of them at once on one connection through the non-blocking
 * API.
 */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "test.h"

#define TIMEOUT_MS	15000

static const char *sock, *user, *pass;

/* client_for - the client side; DIGEST-MD5 gets user@realm split the
 * way authd stores its hash. */
static struct authd_client *
client_for(const char *mech, const char *password)
{
	struct authd_client *cl;
	char local[256], *at;

	if (authd_client_new(mech, &cl) != AUTHD_OK)
		return NULL;
	snprintf(local, sizeof(local), "%s", user);
	at = strrchr(local, '@');
	if (strcmp(mech, "DIGEST-MD5") == 0 && at != NULL) {
		*at = '\0';
		authd_client_set_realm(cl, at + 1);
	}
	authd_client_set_credentials(cl, local, password, NULL);
	authd_client_set_service(cl, "smtp", NULL);
	return cl;
}

/* run - one blocking exchange; the final status (AUTHD_ERR_VERIFY when
 * the server's OK came without its proof). */
static int
run(struct authd_conn *c, const char *mech, const char *password,
    unsigned int flags)
{
	struct authd_client *cl = client_for(mech, password);
	struct authd_session *s = authd_session_new(c, mech, "smtp");
	const unsigned char *r, *d;
	size_t n, dn;
	int st;

	if (cl == NULL || s == NULL) {
		authd_client_free(cl);
		authd_session_free(s);
		return AUTHD_ERROR;
	}
	authd_session_set_flags(s, flags);
	authd_client_start(cl, true, &r, &n);
	st = authd_session_start(s, r, n, TIMEOUT_MS);
	while (st == AUTHD_CONTINUE) {
		d = authd_session_challenge(s, &dn);
		if (authd_client_step(cl, d, dn, &r, &n) != AUTHD_CONTINUE) {
			st = AUTHD_ERR_VERIFY;
			break;
		}
		st = authd_session_step(s, r, n, TIMEOUT_MS);
	}
	if (st == AUTHD_OK) {
		d = authd_session_final_data(s, &dn);
		if (authd_client_finish(cl, d, d != NULL ? dn : 0) != AUTHD_OK)
			st = AUTHD_ERR_VERIFY;
		else if (strcmp(authd_session_user(s), user) != 0)
			st = AUTHD_ERROR;
	}
	authd_client_free(cl);
	authd_session_free(s);
	return st;
}

struct job {
	struct authd_client *cl;
	bool good, done, passed;
};

/* run_all - every mechanism, right and wrong, at once, non-blocking. */
static void
run_all(struct authd_conn *c, const char *const *mechs, size_t nmechs)
{
	struct authd_session *s[32];
	struct job jobs[32];
	size_t i, njobs = 0, done = 0;
	int rounds;

	for (i = 0; i < 2 * nmechs && njobs < 32; i++) {
		struct job *j = &jobs[njobs];
		const unsigned char *r;
		size_t n;

		j->good = i % 2 == 0;
		j->done = j->passed = false;
		j->cl = client_for(mechs[i / 2], j->good ? pass : "wrong-pass");
		s[njobs] = authd_session_new(c, mechs[i / 2], "smtp");
		authd_session_set_data(s[njobs], j);
		authd_client_start(j->cl, true, &r, &n);
		authd_session_send_start(s[njobs], r, n);
		njobs++;
	}
	for (rounds = 0; rounds < 3000 && done < njobs; rounds++) {
		struct pollfd p = { authd_conn_fd(c), POLLIN, 0 };
		struct authd_session *ready;
		int to = authd_conn_next_timeout(c);

		if (authd_conn_want_write(c))
			p.events |= POLLOUT;
		poll(&p, 1, to < 0 || to > 100 ? 100 : to);
		if (authd_conn_process(c) < 0)
			break;
		while ((ready = authd_conn_next_result(c)) != NULL) {
			struct job *j = authd_session_data(ready);
			const unsigned char *d, *r;
			size_t dn, n;
			int st = authd_session_status(ready);

			if (st == AUTHD_CONTINUE) {
				d = authd_session_challenge(ready, &dn);
				if (authd_client_step(j->cl, d, dn, &r, &n) ==
				    AUTHD_CONTINUE) {
					authd_session_send_step(ready, r, n);
					continue;
				}
				authd_session_cancel(ready);
				st = AUTHD_FAIL;	/* the proof was wrong */
			}
			if (st == AUTHD_OK) {
				d = authd_session_final_data(ready, &dn);
				j->passed = j->good && authd_client_finish(j->cl,
					d, d != NULL ? dn : 0) == AUTHD_OK;
			} else {
				j->passed = !j->good && st == AUTHD_FAIL;
			}
			j->done = true;
			done++;
		}
	}
	for (i = 0; i < njobs; i++) {
		CHECK(jobs[i].done && jobs[i].passed, "in flight together: %s "
		      "with the %s password", mechs[i / 2],
		      jobs[i].good ? "right" : "wrong");
		authd_client_free(jobs[i].cl);
		authd_session_free(s[i]);
	}
}

int
main(void)
{
	static const char *const known[] = { "PLAIN", "LOGIN", "CRAM-MD5",
		"DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256" };
	const char *mechs[16], *mux = getenv("AUTHD_MUX_SOCKET");
	struct authd_conn *c;
	size_t i, n = 0;
	char reason[256];

	sock = getenv("AUTHD_AUTH_SOCKET");
	user = getenv("AUTHD_TEST_USER");
	pass = getenv("AUTHD_TEST_PASSWORD");
	if (sock == NULL || sock[0] == '\0') {
		printf("1..0 # SKIP AUTHD_AUTH_SOCKET is not set\n");
		return 0;
	}
	if (pass == NULL) {
		printf("Bail out! AUTHD_TEST_PASSWORD is not set\n");
		return 1;
	}
	if (user == NULL)
		user = "alice@example.org";

	c = authd_conn_new();
	CHECK(authd_conn_connect(c, sock, TIMEOUT_MS) == AUTHD_OK,
	      "connect to %s (%s)", sock, authd_conn_error(c));
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (authd_conn_has_mech(c, known[i], NULL))
			mechs[n++] = known[i];
	CHECK(n > 0, "the server announces %zu mechanisms the library knows", n);
	for (i = 0; i < n; i++) {
		CHECK(run(c, mechs[i], pass, 0) == AUTHD_OK, "%s: right password",
		      mechs[i]);
		CHECK(run(c, mechs[i], "wrong-pass", 0) == AUTHD_FAIL,
		      "%s: wrong password", mechs[i]);
		CHECK(run(c, mechs[i], pass, AUTHD_SESSION_FINAL_RESP_OK) ==
		      AUTHD_OK, "%s: right password, final-resp-ok", mechs[i]);
	}
	run_all(c, mechs, n);
	authd_conn_free(c);

	if (mux != NULL && mux[0] != '\0') {
		CHECK(authd_mux_check(mux, user, pass, "smtp", "", TIMEOUT_MS,
				      reason, sizeof(reason)) == AUTHD_OK,
		      "mux: right password (%s)", reason);
		CHECK(authd_mux_check(mux, user, "wrong-pass", "smtp", "",
				      TIMEOUT_MS, reason, sizeof(reason)) ==
		      AUTHD_FAIL, "mux: wrong password (%s)", reason);
	}
	return test_done();
}
