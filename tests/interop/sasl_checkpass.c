/*
 * sasl_checkpass - check a password through the real libsasl2 with
 * pwcheck_method: saslauthd, as an MTA or IMAP server does.
 *
 *   sasl_checkpass CONFDIR APPNAME SERVICE USER PASSWORD [USER_REALM]
 *
 * libsasl2 reads CONFDIR/APPNAME.conf (found through a
 * SASL_CB_GETCONFPATH callback), which names the socket with
 * saslauthd_path.  Prints libsasl2's verdict; exits 0 on SASL_OK, 1 on
 * any other result, 2 on a usage or set-up error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>

static char *confdir;

static int
getconfpath(void *context, char **path)
{
	(void)context;
	*path = confdir;
	return SASL_OK;
}

int
main(int argc, char **argv)
{
	sasl_callback_t callbacks[] = {
		/* void (*)(void) in between: the generic function type. */
		{ SASL_CB_GETCONFPATH,
		  (int (*)(void))(void (*)(void))getconfpath, NULL },
		{ SASL_CB_LIST_END, NULL, NULL },
	};
	sasl_conn_t *conn = NULL;
	const char *user, *pass, *realm;
	int r;

	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: sasl_checkpass CONFDIR APPNAME SERVICE "
			"USER PASSWORD [USER_REALM]\n");
		return 2;
	}
	confdir = argv[1];
	user = argv[4];
	pass = argv[5];
	realm = argc == 7 ? argv[6] : NULL;
	r = sasl_server_init(callbacks, argv[2]);
	if (r != SASL_OK) {
		fprintf(stderr, "sasl_server_init: %s\n",
			sasl_errstring(r, NULL, NULL));
		return 2;
	}
	r = sasl_server_new(argv[3], NULL, realm, NULL, NULL, NULL, 0, &conn);
	if (r != SASL_OK) {
		fprintf(stderr, "sasl_server_new: %s\n",
			sasl_errstring(r, NULL, NULL));
		sasl_done();
		return 2;
	}
	r = sasl_checkpass(conn, user, (unsigned)strlen(user), pass,
			   (unsigned)strlen(pass));
	/* The code too: SASL_FAIL is what Postfix turns into a 454 (try
	 * again), SASL_BADAUTH into a 535 (wrong password). */
	printf("%s code=%s\n", r == SASL_OK ? "SASL_OK" : sasl_errdetail(conn),
	       r == SASL_OK ? "SASL_OK" : r == SASL_FAIL ? "SASL_FAIL" :
	       r == SASL_BADAUTH ? "SASL_BADAUTH" : "other");
	sasl_dispose(&conn);
	sasl_done();
	return r == SASL_OK ? 0 : 1;
}
