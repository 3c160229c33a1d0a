/*
 * backend_pam - checks against the system's PAM stack (system accounts).
 *
 * Runs on the PAM worker pool: PAM modules may block (network, disk,
 * deliberate failure delays).  authd installs its own PAM_FAIL_DELAY
 * callback that does nothing, so pam_unix's ~2 s sleep after a failure
 * does not hold a worker; the throttle applies authd's own delay without
 * blocking anything.
 *
 * pam_unix must read /etc/shadow, which is root:shadow 0640 on Debian.
 * authd drops root, so it keeps the supplementary groups named in
 * pam_groups (normally "shadow"); unix_chkpwd cannot help a non-root
 * caller check other users' passwords.
 */
#ifndef AUTHD_BACKEND_PAM_H
#define AUTHD_BACKEND_PAM_H

#include <stddef.h>

#include "check.h"

/* backend_pam_check - pam_authenticate + pam_acct_mgmt for user with
 * password under service; reason (for the log) written to reason_r. */
enum auth_result backend_pam_check(const char *service, const char *user,
				   const char *pw, size_t pw_len,
				   const char *rhost, char *reason_r,
				   size_t reason_len);

#endif
