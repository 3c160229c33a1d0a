/*
 * error - the names of libauthd's result and error codes.
 */
#include "authd.h"

const char *
authd_strerror(int code)
{
	switch (code) {
	case AUTHD_OK: return "success";
	case AUTHD_FAIL: return "authentication failed";
	case AUTHD_TEMPFAIL: return "temporary authentication failure";
	case AUTHD_CONTINUE: return "challenge awaits a response";
	case AUTHD_PENDING: return "in progress";
	case AUTHD_ERROR: return "internal error";
	case AUTHD_ERR_INVALID: return "invalid argument or call order";
	case AUTHD_ERR_NOMEM: return "out of memory";
	case AUTHD_ERR_SYSTEM: return "system error";
	case AUTHD_ERR_TIMEOUT: return "timed out";
	case AUTHD_ERR_CLOSED: return "connection closed by the server";
	case AUTHD_ERR_PROTOCOL: return "protocol error from the server";
	case AUTHD_ERR_UNSUPPORTED: return "unsupported mechanism";
	case AUTHD_ERR_CHALLENGE: return "malformed challenge from the server";
	case AUTHD_ERR_VERIFY: return "the server failed to prove its identity";
	case AUTHD_ERR_PASSWORD: return "password unusable for this mechanism";
	case AUTHD_ERR_CANCELLED: return "cancelled";
	default: return "unknown error code";
	}
}
