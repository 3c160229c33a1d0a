/*
 * fuzz_batch_line - the pwtool batch line parser (untrusted: every line
 * a control panel or script sends to `pwtool batch`).  Properties: no
 * crash; an accepted line has a non-empty USER without outer blanks and a
 * password of at most 511 bytes; and the canonical spelling of an accepted
 * command ("VERB --opt=VALUE ... -- USER", the password re-encoded) parses
 * back to the same command.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_parse.h"
#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char line2[BATCH_LINE_MAX + 1];

/* spell - the canonical line of cmd into line2; its length. */
static size_t
spell(const struct batch_cmd *cmd)
{
	char b64[BATCH_PASSWORD_B64_MAX + 1];
	int n;

	codec_b64_encode(cmd->password, cmd->password_len, b64);
	n = snprintf(line2, sizeof(line2), "%s%s%s%s%s%s%s%s%s%s",
		     cmd->verb_name,
		     cmd->opts & BATCH_OPT_REALM ? " --realm=" : "",
		     cmd->opts & BATCH_OPT_REALM ? cmd->realm : "",
		     cmd->opts & BATCH_OPT_MECHS ? " --mechs=" : "",
		     cmd->opts & BATCH_OPT_MECHS ? cmd->mechs : "",
		     cmd->opts & BATCH_OPT_DISABLED ? " --disabled" : "",
		     cmd->opts & BATCH_OPT_PASSWORD ? " --password-base64=" : "",
		     cmd->opts & BATCH_OPT_PASSWORD ? b64 : "",
		     cmd->user_len > 0 ? " -- " : "", cmd->user);
	if (n < 0 || (size_t)n >= sizeof(line2))
		abort();
	return (size_t)n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct batch_cmd cmd, again;
	const char *why;
	size_t n;

	if (batch_parse_line((const char *)data, size, &cmd, &why) != 0) {
		if (why == NULL || why[0] == '\0')
			abort();
		return 0;
	}
	if (cmd.password_len > USERDB_PASSWORD_MAX ||
	    cmd.user_len != strlen(cmd.user))
		abort();
	if (cmd.user_len > 0 &&
	    (strchr(" \t\r", cmd.user[0]) != NULL ||
	     strchr(" \t\r", cmd.user[cmd.user_len - 1]) != NULL))
		abort();
	/* Realm and mechs values are single words: a blank in one would not
	 * survive respelling, and cannot come out of the parser. */
	n = spell(&cmd);
	if (batch_parse_line(line2, n, &again, &why) != 0 ||
	    again.verb != cmd.verb || again.opts != cmd.opts ||
	    strcmp(again.user, cmd.user) != 0 ||
	    strcmp(again.realm, cmd.realm) != 0 ||
	    strcmp(again.mechs, cmd.mechs) != 0 ||
	    again.password_len != cmd.password_len ||
	    memcmp(again.password, cmd.password, cmd.password_len) != 0)
		abort();
	batch_cmd_clear(&cmd);
	batch_cmd_clear(&again);
	return 0;
}
