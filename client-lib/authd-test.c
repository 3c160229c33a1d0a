/*
 * authd-test - check a user and password against authd from the command
 * line, like Cyrus testsaslauthd; for admins and for the test suite.
 *
 *   authd-test mux  [-f SOCKET] -u USER [-r REALM] [-s SERVICE] [-a ADDR]
 *                 [-p PASS | -P]
 *   authd-test auth [-f SOCKET] -m MECH -u USER [-s SERVICE] [-z AUTHZID]
 *                 [-r REALM] [--secured] [--final-resp-ok] [--no-initial]
 *                 [-p PASS | -P]
 *
 * mux: one saslauthd-protocol request (authd_mux_check_addr()); prints
 * the server's reply.  auth: a whole SASL exchange on the auth socket,
 * the client side computed by libauthd (struct authd_client) for any
 * mechanism it knows; prints "OK user=..." or "FAIL ...".
 *
 * Exit 0 for OK, 1 for a refusal, 2 for usage or connection errors (and
 * for a server that fails to prove itself in DIGEST-MD5 or SCRAM).  -p
 * puts the password in argv (visible in ps(1)); -P reads it from
 * standard input instead.  Built only on libauthd's public API, plus
 * common/secret.c to wipe its own copy of the password.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "secret.h"

#define TIMEOUT_MS	15000
#define PASSWORD_MAX	1100

static void
usage(void)
{
	fputs("usage: authd-test mux [-f socket] -u user [-r realm] [-s service] "
	      "[-a client_addr]\n"
	      "                    [-p password | -P]\n"
	      "       authd-test auth [-f socket] -m mechanism -u user "
	      "[-s service] [-z authzid]\n"
	      "                     [-r realm] [--secured] [--final-resp-ok] "
	      "[--no-initial]\n"
	      "                     [-p password | -P]\n", stderr);
	exit(2);
}

/* read_password - the first line of standard input, without CR LF. */
static char *
read_password(void)
{
	char line[PASSWORD_MAX], *pass;

	if (fgets(line, sizeof(line), stdin) == NULL)
		usage();
	line[strcspn(line, "\r\n")] = '\0';
	pass = strdup(line);
	secret_wipe(line, sizeof(line));
	if (pass == NULL) {
		fputs("authd-test: out of memory\n", stderr);
		exit(2);
	}
	return pass;
}

static void
set_password(char **pass, const char *value)
{
	secret_free_str(*pass);
	*pass = value != NULL ? strdup(value) : read_password();
	if (*pass == NULL) {
		fputs("authd-test: out of memory\n", stderr);
		exit(2);
	}
}

static int
mux_main(int argc, char **argv)
{
	const char *sock = "/run/authd/mux", *user = NULL, *realm = "",
		   *service = "imap", *addr = NULL;
	char *pass = NULL, reply[1100];
	int c, rc;

	optind = 2;
	while ((c = getopt(argc, argv, "f:u:r:s:a:p:P")) != -1) {
		switch (c) {
		case 'f': sock = optarg; break;
		case 'u': user = optarg; break;
		case 'r': realm = optarg; break;
		case 's': service = optarg; break;
		case 'a': addr = optarg; break;
		case 'p': set_password(&pass, optarg); break;
		case 'P': set_password(&pass, NULL); break;
		default: usage();
		}
	}
	if (user == NULL || pass == NULL || optind != argc)
		usage();
	if (addr == NULL)
		rc = authd_mux_check(sock, user, pass, service, realm, TIMEOUT_MS,
				     reply, sizeof(reply));
	else
		rc = authd_mux_check_addr(sock, user, pass, service, realm, addr,
					  TIMEOUT_MS, reply, sizeof(reply));
	secret_free_str(pass);
	if (rc < 0) {
		fprintf(stderr, "authd-test: %s\n", reply);
		return 2;
	}
	printf("%s\n", reply);
	/* A temporary failure is not a refusal: 2, as on the auth socket. */
	return rc == AUTHD_OK ? 0 : rc == AUTHD_FAIL ? 1 : 2;
}

struct auth_opts {
	const char *sock, *mech, *user, *service, *authzid, *realm;
	char *pass;
	bool secured, final_resp_ok, no_initial;
};

/* make_client - the client side of the mechanism.  DIGEST-MD5 hashes
 * user:realm:password, and authd stores that hash for the user's local
 * part and realm: "alice@example.org" is sent as username "alice" with
 * realm "example.org" (unless -r names the realm). */
static int
make_client(const struct auth_opts *o, struct authd_client **cl_r)
{
	struct authd_client *cl;
	char *user = NULL;
	const char *realm = o->realm;
	int rc;

	if ((rc = authd_client_new(o->mech, &cl)) != AUTHD_OK) {
		fprintf(stderr, "authd-test: %s: %s\n", o->mech,
			authd_strerror(rc));
		return rc;
	}
	if ((user = strdup(o->user)) == NULL) {
		authd_client_free(cl);
		return AUTHD_ERR_NOMEM;
	}
	if (strcmp(authd_client_mech(cl), "DIGEST-MD5") == 0 && realm == NULL) {
		char *at = strrchr(user, '@');

		if (at != NULL && at != user && at[1] != '\0') {
			*at = '\0';
			realm = at + 1;
		}
	}
	if ((rc = authd_client_set_credentials(cl, user, o->pass,
					       o->authzid)) != AUTHD_OK ||
	    (rc = authd_client_set_service(cl, o->service, NULL)) != AUTHD_OK ||
	    (realm != NULL &&
	     (rc = authd_client_set_realm(cl, realm)) != AUTHD_OK)) {
		fprintf(stderr, "authd-test: %s\n", authd_client_error(cl));
		free(user);
		authd_client_free(cl);
		return rc;
	}
	free(user);
	*cl_r = cl;
	return AUTHD_OK;
}

/* print_result - the result line of a finished session. */
static void
print_result(const struct authd_session *s)
{
	const char *v;

	if (authd_session_status(s) == AUTHD_OK) {
		printf("OK user=%s", authd_session_user(s));
		if ((v = authd_session_param(s, "original_user")) != NULL)
			printf(" original_user=%s", v);
		printf("\n");
		return;
	}
	printf("FAIL");
	if ((v = authd_session_fail_code(s)) != NULL)
		printf(" code=%s", v);
	if ((v = authd_session_fail_reason(s)) != NULL)
		printf(" reason=%s", v);
	printf("\n");
}

/* exchange - the SASL dialogue; the exit status. */
static int
exchange(const struct auth_opts *o, struct authd_conn *conn,
	 struct authd_client *cl)
{
	struct authd_session *s;
	const unsigned char *resp, *data;
	size_t len, dlen;
	int rc, st;

	if ((s = authd_session_new(conn, authd_client_mech(cl),
				   o->service)) == NULL) {
		fprintf(stderr, "authd-test: %s\n", authd_conn_error(conn));
		return 2;
	}
	authd_session_set_flags(s, (o->secured ? AUTHD_SESSION_SECURED : 0) |
				(o->final_resp_ok ? AUTHD_SESSION_FINAL_RESP_OK :
				 0));
	if ((rc = authd_client_start(cl, !o->no_initial, &resp, &len)) !=
	    AUTHD_OK) {
		fprintf(stderr, "authd-test: %s\n", authd_client_error(cl));
		authd_session_free(s);
		return 2;
	}
	st = authd_session_start(s, resp, len, TIMEOUT_MS);
	while (st == AUTHD_CONTINUE) {
		data = authd_session_challenge(s, &dlen);
		rc = authd_client_step(cl, data, dlen, &resp, &len);
		if (rc != AUTHD_CONTINUE) {
			fprintf(stderr, "authd-test: %s\n", authd_client_error(cl));
			authd_session_free(s);	/* cancels it */
			return rc == AUTHD_FAIL ? 1 : 2;
		}
		st = authd_session_step(s, resp, len, TIMEOUT_MS);
	}
	if (st < 0) {
		fprintf(stderr, "authd-test: %s\n", authd_session_error(s));
		authd_session_free(s);
		return 2;
	}
	if (st == AUTHD_OK) {
		/* Mutual authentication: the server must have proved that it
		 * knows the password before its OK counts. */
		data = authd_session_final_data(s, &dlen);
		if (authd_client_finish(cl, data, data != NULL ? dlen : 0) !=
		    AUTHD_OK) {
			fprintf(stderr, "authd-test: the server said OK, but: %s\n",
				authd_client_error(cl));
			authd_session_free(s);
			return 2;
		}
	}
	print_result(s);
	authd_session_free(s);
	return st == AUTHD_OK ? 0 : 1;
}

static int
auth_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "secured", no_argument, NULL, 'S' },
		{ "final-resp-ok", no_argument, NULL, 'F' },
		{ "no-initial", no_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	struct auth_opts o = { "/run/authd/auth", NULL, NULL, "imap", NULL,
			       NULL, NULL, false, false, false };
	struct authd_client *cl = NULL;
	struct authd_conn *conn = NULL;
	int c, rc = 2;

	optind = 2;
	while ((c = getopt_long(argc, argv, "f:m:u:s:z:r:p:P", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'f': o.sock = optarg; break;
		case 'm': o.mech = optarg; break;
		case 'u': o.user = optarg; break;
		case 's': o.service = optarg; break;
		case 'z': o.authzid = optarg; break;
		case 'r': o.realm = optarg; break;
		case 'S': o.secured = true; break;
		case 'F': o.final_resp_ok = true; break;
		case 'N': o.no_initial = true; break;
		case 'p': set_password(&o.pass, optarg); break;
		case 'P': set_password(&o.pass, NULL); break;
		default: usage();
		}
	}
	if (o.mech == NULL || o.user == NULL || o.pass == NULL ||
	    optind != argc)
		usage();
	if (make_client(&o, &cl) != AUTHD_OK)
		goto out;
	if ((conn = authd_conn_new()) == NULL) {
		fputs("authd-test: out of memory\n", stderr);
		goto out;
	}
	if (authd_conn_connect(conn, o.sock, TIMEOUT_MS) != AUTHD_OK) {
		fprintf(stderr, "authd-test: %s\n", authd_conn_error(conn));
		goto out;
	}
	rc = exchange(&o, conn, cl);
out:
	authd_client_free(cl);
	authd_conn_free(conn);
	secret_free_str(o.pass);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "mux") == 0)
		return mux_main(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "auth") == 0)
		return auth_main(argc, argv);
	usage();
	return 2;
}
