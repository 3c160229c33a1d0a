/*
 * password_input - reading passwords without putting them in argv.
 *
 * Interactive: prompts on /dev/tty with echo off, twice when setting.
 * Scripted: -p reads one line from standard input, --password-fd N one
 * line from descriptor N.  A trailing "\n" (or "\r\n") is removed; the
 * line may not hold more than 511 bytes.  Every buffer is wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "pwtool.h"
#include "secret.h"
#include "xalloc.h"

#define LINE_MAX_READ	(USERDB_PASSWORD_MAX + 2)

/* read_line - read up to the first '\n' (byte by byte, so nothing after
 * the line is consumed from a shared descriptor). */
static char *
read_line(int fd, size_t *len_r, const char **why_r)
{
	char *buf = xmalloc(LINE_MAX_READ + 1);
	size_t n = 0;
	ssize_t r;
	char c;

	for (;;) {
		r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n')
			break;
		if (n == LINE_MAX_READ) {
			secret_free(buf, LINE_MAX_READ + 1);
			*why_r = "password longer than 511 bytes";
			return NULL;
		}
		buf[n++] = c;
	}
	if (r < 0) {
		secret_free(buf, LINE_MAX_READ + 1);
		*why_r = strerror(errno);
		return NULL;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len_r = n;
	return buf;
}

/* The terminal state to put back if a signal ends pwtool at a prompt:
 * otherwise ^C would leave the admin's shell without echo. */
static volatile sig_atomic_t saved_tty = -1;
static struct termios saved_mode;

static void
restore_and_die(int sig)
{
	if (saved_tty >= 0)
		(void)tcsetattr(saved_tty, TCSAFLUSH, &saved_mode);
	(void)!write(saved_tty >= 0 ? saved_tty : STDERR_FILENO, "\n", 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* prompt - one password from the terminal with echo off. */
static char *
prompt(int tty, const char *text, size_t *len_r, const char **why_r)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGTSTP };
	struct sigaction sa, olds[5];
	struct termios old, quiet;
	bool restore = false;
	char *line;
	size_t i;

	if (write(tty, text, strlen(text)) < 0) {
		*why_r = strerror(errno);
		return NULL;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = restore_and_die;
	sigemptyset(&sa.sa_mask);
	if (tcgetattr(tty, &old) == 0) {
		saved_mode = old;
		saved_tty = tty;
		for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			sigaction(sigs[i], &sa, &olds[i]);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		restore = tcsetattr(tty, TCSAFLUSH, &quiet) == 0;
	}
	line = read_line(tty, len_r, why_r);
	if (restore)
		(void)tcsetattr(tty, TCSAFLUSH, &old);
	if (saved_tty >= 0) {
		saved_tty = -1;
		for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			sigaction(sigs[i], &olds[i], NULL);
	}
	(void)!write(tty, "\n", 1);
	return line;
}

char *
password_read(struct pwtool *pw, const char *key, bool confirm,
	      size_t *len_r, int *code_r)
{
	const char *why = NULL;
	char *p1, *p2, *text;
	size_t l1, l2;
	int tty;

	*code_r = PWTOOL_INPUT;
	if (pw->pipe || pw->password_fd >= 0) {
		p1 = read_line(pw->pipe ? STDIN_FILENO : pw->password_fd, &l1,
			       &why);
		if (p1 == NULL) {
			pwtool_error(PWTOOL_INPUT, "reading password: %s", why);
			return NULL;
		}
		if ((why = userdb_password_check(p1, l1)) != NULL) {
			secret_free(p1, LINE_MAX_READ + 1);
			pwtool_error(PWTOOL_INPUT, "%s", why);
			return NULL;
		}
		*len_r = l1;
		return p1;
	}
	tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (tty < 0 || !isatty(tty)) {
		if (tty >= 0)
			close(tty);
		*code_r = PWTOOL_USAGE;
		pwtool_error(PWTOOL_USAGE, "no terminal to ask for the password: "
			     "use -p (standard input) or --password-fd N");
		return NULL;
	}
	text = xasprintf("Password for %s: ", key);
	p1 = prompt(tty, text, &l1, &why);
	free(text);
	if (p1 != NULL && confirm) {
		p2 = prompt(tty, "Again: ", &l2, &why);
		if (p2 == NULL) {
			secret_free(p1, LINE_MAX_READ + 1);
			p1 = NULL;
		} else if (l1 != l2 || !secret_equal(p1, p2, l1)) {
			secret_free(p1, LINE_MAX_READ + 1);
			p1 = NULL;
			why = "the two passwords differ";
		}
		if (p2 != NULL)
			secret_free(p2, LINE_MAX_READ + 1);
	}
	close(tty);
	if (p1 == NULL) {
		pwtool_error(PWTOOL_INPUT, "%s", why != NULL ? why : "no password");
		return NULL;
	}
	if ((why = userdb_password_check(p1, l1)) != NULL) {
		secret_free(p1, LINE_MAX_READ + 1);
		pwtool_error(PWTOOL_INPUT, "%s", why);
		return NULL;
	}
	*len_r = l1;
	return p1;
}
