/*
 * test_privs - privs_chroot_path: how a path made before chroot(2) is
 * reached after it (the sockets and pid file removed at shutdown, the
 * store opened inside).  Whole components only: "/srv/a" does not
 * contain "/srv/ab".
 */
#include "privs.h"
#include "test.h"

int
main(void)
{
	static const struct {
		const char *root, *path, *want;	/* want NULL: outside */
	} cases[] = {
		{ "", "/run/authd/auth", "/run/authd/auth" },
		{ "/", "/run/authd/auth", "/run/authd/auth" },
		{ "/var/spool/postfix", "/var/spool/postfix/var/run/authd/auth",
		  "/var/run/authd/auth" },
		{ "/var/spool/postfix/", "/var/spool/postfix/var/run/authd/auth",
		  "/var/run/authd/auth" },
		{ "/var/spool/postfix//", "/var/spool/postfix/x", "/x" },
		{ "/var/spool/postfix", "/var/spool/postfix", "/" },
		{ "/srv/a", "/srv/ab/auth", NULL },
		{ "/srv/a", "/srv/auth", NULL },
		{ "/srv/a", "/run/authd/auth", NULL },
		{ "/srv/a", "relative/auth", NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = privs_chroot_path(cases[i].root,
						    cases[i].path);

		if (cases[i].want == NULL)
			CHECK(got == NULL, "root \"%s\": \"%s\" lies outside",
			      cases[i].root, cases[i].path);
		else
			CHECK_STR(got, cases[i].want, "root \"%s\": \"%s\" is "
				  "\"%s\" inside", cases[i].root, cases[i].path,
				  cases[i].want);
	}
	return test_done();
}
