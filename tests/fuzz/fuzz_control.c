/*
 * fuzz_control - the control socket's command parser (untrusted: the
 * lines of any client the socket admits, and authdctl's arguments).
 * Properties: never reads past the input; a line end lies inside it; a
 * parsed command is one of the known ones, its argument NUL-terminated,
 * bounded, without spaces or control bytes, and empty for "all".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_request req;
	const char *p = (const char *)data;
	size_t end = control_line_end(p, size), i, n;

	if (end > size || (end > 0 && p[end - 1] != '\n'))
		abort();
	/* The daemon hands over the line without its LF, or a whole buffer
	 * when no LF came: both shapes. */
	if (control_parse(p, end > 0 ? end - 1 : size, &req) == NULL) {
		if (req.cmd > CONTROL_HELP)
			abort();
		n = strnlen(req.arg, sizeof(req.arg));
		if (n > CONTROL_ARG_MAX || (req.all && n != 0))
			abort();
		for (i = 0; i < n; i++)
			if ((unsigned char)req.arg[i] <= ' ' ||
			    req.arg[i] == 0x7f)
				abort();
		if ((req.cmd == CONTROL_PENALTY_FLUSH ||
		     req.cmd == CONTROL_CACHE_FLUSH) && n == 0 && !req.all)
			abort();
	}
	return 0;
}
