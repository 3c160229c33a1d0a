/*
 * authd.h - libauthd, the client library of the authd SASL authentication
 * daemon.  The only installed header; every symbol it declares starts
 * with authd_ or AUTHD_.
 *
 * Three parts:
 *
 *  1. authd_mux_check(): one user/password check over the saslauthd
 *     ("mux") socket, the protocol of Cyrus saslauthd.
 *  2. struct authd_conn and struct authd_session: SASL server sessions
 *     over the "auth" socket (the Dovecot auth-client protocol, version
 *     1).  authd runs the mechanism; the caller relays challenges and
 *     responses between its own client (an SMTP or IMAP peer) and authd.
 *     One connection carries any number of sessions in flight.  Blocking
 *     calls, and a non-blocking form for event loops.
 *  3. struct authd_client: the client side of PLAIN, LOGIN, CRAM-MD5,
 *     DIGEST-MD5, SCRAM-SHA-1 and SCRAM-SHA-256, computing the responses
 *     to a server's challenges (for an outbound relay, and for tests).
 *
 * Conventions:
 *  - Functions that can fail return an int: AUTHD_OK (0) or another
 *    non-negative result, or a negative AUTHD_ERR_* code.  authd_strerror()
 *    names a code; the handle involved keeps a readable message of the
 *    last error (authd_conn_error(), authd_session_error(),
 *    authd_client_error()).
 *  - The library never exits, never prints, never logs and never raises
 *    SIGPIPE.  It keeps no global state.
 *  - Strings passed in are copied when the library needs them later; the
 *    caller keeps ownership of what it passes.  Pointers returned by the
 *    library point into the handle and stay valid as documented at each
 *    function (at most until the handle is freed).
 *  - Every buffer that held a password or a key derived from one is wiped
 *    (OPENSSL_cleanse) before it is freed, errors included.
 *  - Thread safety: handles are independent; a handle (and a connection
 *    together with its sessions) must be used by one thread at a time.
 *    Different handles may be used by different threads at the same time.
 *
 * Link with the output of `pkg-config --cflags --libs authd`.  See
 * libauthd(3) for examples.
 */
#ifndef AUTHD_H
#define AUTHD_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Results and error codes.  Results are >= 0, errors < 0: test "< 0"
 * for "any error".  Values never change meaning between versions. */
enum authd_status {
	AUTHD_OK = 0,		/* accepted / success */
	AUTHD_FAIL = 1,		/* refused: wrong password, unknown user... */
	AUTHD_TEMPFAIL = 2,	/* refused for now (server trouble): try later */
	AUTHD_CONTINUE = 3,	/* session: a challenge awaits a response */
	AUTHD_PENDING = 4,	/* non-blocking: no answer yet */

	AUTHD_ERROR = -1,		/* unclassified internal error */
	AUTHD_ERR_INVALID = -2,		/* bad argument, or wrong call order */
	AUTHD_ERR_NOMEM = -3,		/* out of memory */
	AUTHD_ERR_SYSTEM = -4,		/* a system call failed (socket...) */
	AUTHD_ERR_TIMEOUT = -5,		/* no answer in time */
	AUTHD_ERR_CLOSED = -6,		/* the server closed the connection */
	AUTHD_ERR_PROTOCOL = -7,	/* the server broke the protocol */
	AUTHD_ERR_UNSUPPORTED = -8,	/* mechanism unknown to the library */
	AUTHD_ERR_CHALLENGE = -9,	/* malformed mechanism data from the
					   server (client side) */
	AUTHD_ERR_VERIFY = -10,		/* the server failed to prove itself
					   (DIGEST-MD5 rspauth, SCRAM v=) */
	AUTHD_ERR_PASSWORD = -11,	/* SASLprep refuses the password, or
					   it cannot be encoded */
	AUTHD_ERR_CANCELLED = -12,	/* session cancelled by the caller */
};

/* The default limit of every wait, used when a timeout_ms argument is
 * zero or negative: there is no wait without a limit. */
#define AUTHD_DEFAULT_TIMEOUT_MS	10000

/* authd_strerror - a short static English text for an enum authd_status
 * value ("timed out", ...); never NULL, not to be freed. */
const char *authd_strerror(int code);

/* ------------------------------------------------------------------ */
/* 1. The mux socket (saslauthd protocol)                              */
/* ------------------------------------------------------------------ */

/* authd_mux_check - ask the mux server at socket_path (the full path of
 * the socket, e.g. "/run/authd/mux") whether password is user's.  user
 * and password must not be NULL (empty ones are sent, and the server
 * refuses them); service and realm may be NULL (sent empty).  Sends the four-field request of the released libsasl2 and waits
 * at most timeout_ms (<= 0: AUTHD_DEFAULT_TIMEOUT_MS) in all.
 *
 * Returns AUTHD_OK (the reply starts with "OK"), AUTHD_FAIL (any other
 * reply), AUTHD_TEMPFAIL (an empty reply: authd's temporary failure, see
 * authd(8)), or a negative error (socket unreachable, no reply in time,
 * malformed reply, a field longer than 65535 bytes).  When reason is not
 * NULL, reason_len > 0, it receives a NUL-terminated text, truncated to
 * fit: with AUTHD_OK and AUTHD_FAIL the server's reply as it came ("OK",
 * "NO", "NO NULL password received"; a NUL in it is shown as '?'), with
 * an error a description of the error.  The password is wiped from the
 * library's buffers before it returns. */
int authd_mux_check(const char *socket_path, const char *user,
		    const char *password, const char *service,
		    const char *realm, int timeout_ms, char *reason,
		    size_t reason_len);

/* authd_mux_check_addr - authd_mux_check() with a fifth field, the
 * client's address (e.g. "192.0.2.7;4242"), as the development version
 * of libsasl2 sends it; client_addr NULL sends the four-field request. */
int authd_mux_check_addr(const char *socket_path, const char *user,
			 const char *password, const char *service,
			 const char *realm, const char *client_addr,
			 int timeout_ms, char *reason, size_t reason_len);

/* ------------------------------------------------------------------ */
/* 2. The auth socket: connections and SASL server sessions            */
/* ------------------------------------------------------------------ */

struct authd_conn;
struct authd_session;

/* Mechanism flags announced by the server's MECH lines. */
enum authd_mech_flag {
	AUTHD_MECH_ANONYMOUS = 1u << 0,
	AUTHD_MECH_PLAINTEXT = 1u << 1,	/* the password travels in clear */
	AUTHD_MECH_DICTIONARY = 1u << 2,	/* passive dictionary attack */
	AUTHD_MECH_ACTIVE = 1u << 3,	/* active attack */
	AUTHD_MECH_FORWARD_SECRECY = 1u << 4,
	AUTHD_MECH_MUTUAL_AUTH = 1u << 5,	/* the server proves itself */
	AUTHD_MECH_PRIVATE = 1u << 6,	/* not to be advertised */
	AUTHD_MECH_CHANNEL_BINDING = 1u << 7,
};

/* Session flags: parameters of the AUTH request. */
enum authd_session_flag {
	AUTHD_SESSION_SECURED = 1u << 0,	/* client on TLS or trusted */
	AUTHD_SESSION_VALID_CLIENT_CERT = 1u << 1,
	AUTHD_SESSION_NO_PENALTY = 1u << 2,	/* no failure delay */
	/* The final server data (DIGEST-MD5 rspauth=, SCRAM v=) comes with
	 * the OK (authd_session_final_data()) instead of as one more
	 * challenge that must be answered with an empty response. */
	AUTHD_SESSION_FINAL_RESP_OK = 1u << 3,
};

/* authd_conn_new - a connection handle, not connected yet.  Returns NULL
 * only when out of memory.  Free it with authd_conn_free(). */
struct authd_conn *authd_conn_new(void);

/* authd_conn_free - close the connection and free the handle; NULL is
 * fine.  Sessions of the connection stay allocated (the caller still
 * frees them with authd_session_free()) but are detached: one still in
 * progress ends with AUTHD_ERR_CLOSED. */
void authd_conn_free(struct authd_conn *c);

/* authd_conn_error - the message of the last error on c (or on one of
 * its sessions), "" if none.  Owned by c; valid until the next call on c
 * or one of its sessions. */
const char *authd_conn_error(const struct authd_conn *c);

/* authd_conn_set_timeout - the limit of the non-blocking waits of c:
 * the handshake after authd_conn_connect_start(), and each request sent
 * with authd_session_send_start()/_send_step() (<= 0: the default,
 * AUTHD_DEFAULT_TIMEOUT_MS).  The blocking calls take their own. */
void authd_conn_set_timeout(struct authd_conn *c, int timeout_ms);

/* authd_conn_connect - connect c to the auth socket at socket_path (the
 * full path, e.g. "/run/authd/auth"), send VERSION and CPID, and read the
 * server's handshake up to DONE, waiting at most timeout_ms (<= 0:
 * AUTHD_DEFAULT_TIMEOUT_MS).  Returns AUTHD_OK or a negative error
 * (message in authd_conn_error()).  A handle connects once; after an
 * error, free it and make a new one. */
int authd_conn_connect(struct authd_conn *c, const char *socket_path,
		       int timeout_ms);

/* authd_conn_connect_start - the non-blocking form: connect and queue
 * VERSION and CPID, then return AUTHD_PENDING at once (or a negative
 * error).  The handshake completes in authd_conn_process();
 * authd_conn_ready() tells when.  Sessions may be started before it
 * completes: their requests follow the handshake. */
int authd_conn_connect_start(struct authd_conn *c, const char *socket_path);

/* authd_conn_ready - true once the server's handshake (to DONE) has been
 * read and the connection has not failed since. */
bool authd_conn_ready(const struct authd_conn *c);

/* authd_conn_fd - the socket to watch in an event loop (always in
 * non-blocking mode), or -1 before connecting and after a failure.
 * Owned by c: do not read, write or close it. */
int authd_conn_fd(const struct authd_conn *c);

/* authd_conn_want_write - true when output is queued: watch the fd for
 * writability too (it is always to be watched for readability). */
bool authd_conn_want_write(const struct authd_conn *c);

/* authd_conn_next_timeout - milliseconds until the earliest deadline of
 * c (the handshake or a request waiting for its answer), 0 if one has
 * passed, -1 if none: the longest an event loop may sleep before calling
 * authd_conn_process(). */
int authd_conn_next_timeout(const struct authd_conn *c);

/* authd_conn_process - the non-blocking step: write queued output, read
 * what has arrived, handle complete lines, expire requests past their
 * deadline (those are cancelled at the server and end with
 * AUTHD_ERR_TIMEOUT).  Never blocks.  Returns AUTHD_OK while the
 * connection works, or the negative error that broke it (then every
 * session in progress ends with that error), or AUTHD_ERR_INVALID before
 * a connect.  Sessions with a new status
 * are then returned by authd_conn_next_result(). */
int authd_conn_process(struct authd_conn *c);

/* authd_conn_next_result - a session of c whose status changed (to
 * AUTHD_CONTINUE, a final result or an error) since it was last started,
 * stepped or reported, in the order of the events; NULL when there is
 * none.  Each change is reported once.  Results of the blocking calls are
 * returned by those calls, not here. */
struct authd_session *authd_conn_next_result(struct authd_conn *c);

/* authd_conn_mech_count - the number of mechanisms the server announced
 * (0 before the handshake completed). */
size_t authd_conn_mech_count(const struct authd_conn *c);

/* authd_conn_mech - the name of the i-th announced mechanism, in the
 * server's order, and its AUTHD_MECH_* flags in *flags_r (flags_r may be
 * NULL); NULL if i is out of range.  Owned by c. */
const char *authd_conn_mech(const struct authd_conn *c, size_t i,
			    unsigned int *flags_r);

/* authd_conn_has_mech - whether the server announced mechanism name
 * (case-insensitive); its flags in *flags_r (may be NULL). */
bool authd_conn_has_mech(const struct authd_conn *c, const char *name,
			 unsigned int *flags_r);

/* authd_session_new - a session on c for mechanism mech (e.g. "PLAIN")
 * and service (e.g. "smtp"; both required, copied).  Nothing is sent
 * until it is started.  Returns NULL when out of memory or for an invalid
 * argument (message in authd_conn_error()).  Owned by the caller: free it
 * with authd_session_free(), before or after c.  One session carries one
 * authentication exchange. */
struct authd_session *authd_session_new(struct authd_conn *c,
					const char *mech,
					const char *service);

/* authd_session_free - free s (NULL is fine), cancelling its request at
 * the server if it is still in progress. */
void authd_session_free(struct authd_session *s);

/* authd_session_set_addr - the addresses of the client being
 * authenticated, sent as lip=, lport=, rip= and rport= (used by authd for
 * its log and per-address throttling).  NULL addresses and 0 ports are
 * not sent.  Before the start only.  Returns AUTHD_OK, AUTHD_ERR_INVALID
 * or AUTHD_ERR_NOMEM. */
int authd_session_set_addr(struct authd_session *s, const char *local_ip,
			   unsigned int local_port, const char *remote_ip,
			   unsigned int remote_port);

/* authd_session_set_flags - AUTHD_SESSION_* flags (replacing earlier
 * ones).  Before the start only; returns AUTHD_OK or AUTHD_ERR_INVALID. */
int authd_session_set_flags(struct authd_session *s, unsigned int flags);

/* authd_session_set_data / authd_session_data - one pointer for the
 * caller (its own client, say); the library never touches it. */
void authd_session_set_data(struct authd_session *s, void *data);
void *authd_session_data(const struct authd_session *s);

/* authd_session_start - send the AUTH request and wait for the server's
 * answer, at most timeout_ms (<= 0: AUTHD_DEFAULT_TIMEOUT_MS).  initial
 * is the client's initial response: NULL for none, or initial_len bytes
 * (0 for an empty initial response, which is not the same as none).
 * Returns the new status (see authd_session_status()): AUTHD_CONTINUE,
 * AUTHD_OK, AUTHD_FAIL, AUTHD_TEMPFAIL or a negative error.  After a
 * timeout the request is cancelled at the server; the connection stays
 * usable. */
int authd_session_start(struct authd_session *s, const void *initial,
			size_t initial_len, int timeout_ms);

/* authd_session_step - send the client's response (len bytes, possibly
 * 0) to the challenge of an AUTHD_CONTINUE session, and wait as
 * authd_session_start() does.  Same returns. */
int authd_session_step(struct authd_session *s, const void *resp, size_t len,
		       int timeout_ms);

/* authd_session_send_start / authd_session_send_step - the non-blocking
 * forms: queue the request, try to write it, and return AUTHD_PENDING at
 * once (or a negative error).  The answer arrives through
 * authd_conn_process() and authd_conn_next_result(); the deadline is the
 * connection's timeout (authd_conn_set_timeout()). */
int authd_session_send_start(struct authd_session *s, const void *initial,
			     size_t initial_len);
int authd_session_send_step(struct authd_session *s, const void *resp,
			    size_t len);

/* authd_session_cancel - abandon the exchange: a request in progress is
 * cancelled at the server and the session ends with AUTHD_ERR_CANCELLED
 * (not reported by authd_conn_next_result()).  Returns AUTHD_OK, or
 * AUTHD_ERR_INVALID if s has already ended. */
int authd_session_cancel(struct authd_session *s);

/* authd_session_status - where s stands: AUTHD_PENDING (not started, or
 * waiting for the server), AUTHD_CONTINUE (a challenge waits for
 * authd_session_step()), or final: AUTHD_OK, AUTHD_FAIL, AUTHD_TEMPFAIL
 * (server code temp_fail) or a negative error. */
int authd_session_status(const struct authd_session *s);

/* authd_session_id - the request id on the wire (for logs); 0 before the
 * start. */
unsigned long authd_session_id(const struct authd_session *s);

/* authd_session_challenge - with AUTHD_CONTINUE, the server's challenge,
 * decoded from base64: *len_r bytes (maybe 0), followed by a NUL not
 * counted in *len_r; NULL in other states.  Owned by s, valid until the
 * session is stepped or freed. */
const unsigned char *authd_session_challenge(const struct authd_session *s,
					     size_t *len_r);

/* authd_session_user - with AUTHD_OK, the authenticated (or authorised)
 * user name from the server's user=, normalised by the server (e.g.
 * "alice@example.org"); otherwise the server's user= if it sent one, or
 * NULL.  Owned by s, valid until s is freed. */
const char *authd_session_user(const struct authd_session *s);

/* authd_session_final_data - with AUTHD_OK, the final server data that
 * came with the OK (resp=, only when AUTHD_SESSION_FINAL_RESP_OK was
 * set): *len_r bytes; NULL if the OK carried none.  Owned by s. */
const unsigned char *authd_session_final_data(const struct authd_session *s,
					      size_t *len_r);

/* authd_session_param - a parameter of the server's final OK or FAIL
 * line, unescaped: the value of name=value, "" for a bare word, NULL if
 * absent or before the end (e.g. "original_user", "code", "reason").
 * Owned by s, valid until s is freed. */
const char *authd_session_param(const struct authd_session *s,
				const char *name);

/* authd_session_fail_code / authd_session_fail_reason - with AUTHD_FAIL
 * or AUTHD_TEMPFAIL, the server's code= ("temp_fail", "authz_fail",
 * "user_disabled", "pass_expired", "invalid_base64") and reason= text,
 * each NULL when absent.  A wrong password carries neither.  Owned by s. */
const char *authd_session_fail_code(const struct authd_session *s);
const char *authd_session_fail_reason(const struct authd_session *s);

/* authd_session_error - with a negative status, what went wrong; "" for
 * other states.  Owned by s, valid until s is freed. */
const char *authd_session_error(const struct authd_session *s);

/* ------------------------------------------------------------------ */
/* 3. Client side of the mechanisms                                   */
/* ------------------------------------------------------------------ */

struct authd_client;

/* authd_client_new - the client side of mechanism mech (PLAIN, LOGIN,
 * CRAM-MD5, DIGEST-MD5, SCRAM-SHA-1 or SCRAM-SHA-256, case-insensitive)
 * into *client_r.  Returns AUTHD_OK, AUTHD_ERR_UNSUPPORTED or
 * AUTHD_ERR_NOMEM (*client_r NULL then).  Free with authd_client_free().
 * One handle runs one exchange. */
int authd_client_new(const char *mech, struct authd_client **client_r);

/* authd_client_free - wipe every secret of cl and free it; NULL is fine. */
void authd_client_free(struct authd_client *cl);

/* authd_client_mech - the canonical (upper-case) name of cl's mechanism;
 * static. */
const char *authd_client_mech(const struct authd_client *cl);

/* authd_client_error - the message of the last error on cl, "" if none.
 * Owned by cl, valid until the next call on cl. */
const char *authd_client_error(const struct authd_client *cl);

/* authd_client_set_credentials - the authentication identity (authcid)
 * and password, both required, and the authorisation identity: authzid
 * NULL or "" for "act as myself".  All UTF-8, copied (the password into a
 * buffer wiped on free).  Before authd_client_start().  Returns AUTHD_OK,
 * AUTHD_ERR_INVALID or AUTHD_ERR_NOMEM. */
int authd_client_set_credentials(struct authd_client *cl, const char *authcid,
				 const char *password, const char *authzid);

/* authd_client_set_service - DIGEST-MD5 only (ignored by the others):
 * the digest-uri "service/host", e.g. "smtp" and "mail.example.org"; host
 * NULL means "localhost".  The service must be the one the server expects
 * (authd: the session's service).  Required for DIGEST-MD5. */
int authd_client_set_service(struct authd_client *cl, const char *service,
			     const char *host);

/* authd_client_set_realm - DIGEST-MD5 only: the realm to answer with.
 * Without it, the first realm of the challenge, or none when the
 * challenge offers none. */
int authd_client_set_realm(struct authd_client *cl, const char *realm);

/* authd_client_set_nonce - a fixed client nonce (DIGEST-MD5 cnonce,
 * SCRAM client nonce), printable ASCII without ',' '"' or '\\'.  For
 * tests with published vectors only: a real exchange must use the
 * default, 18 bytes from RAND_bytes() in base64. */
int authd_client_set_nonce(struct authd_client *cl, const char *nonce);

/* authd_client_start - begin the exchange.  With use_initial (the
 * protocol has initial responses: SMTP AUTH, the auth socket), *resp_r
 * and *len_r receive the initial response of mechanisms that have one
 * (PLAIN: the whole message; SCRAM: client-first; LOGIN: the user name);
 * otherwise, and for CRAM-MD5 and DIGEST-MD5, *resp_r is NULL: send none
 * and wait for the server's first challenge.  Returns AUTHD_OK or a
 * negative error (AUTHD_ERR_INVALID without credentials,
 * AUTHD_ERR_PASSWORD when SASLprep refuses the SCRAM password).  *resp_r
 * is owned by cl, valid until the next call on cl, then wiped. */
int authd_client_start(struct authd_client *cl, bool use_initial,
		       const unsigned char **resp_r, size_t *len_r);

/* authd_client_step - the response to the server's challenge (len bytes,
 * decoded from base64).  Returns AUTHD_CONTINUE with the response in
 * *resp_r and *len_r (possibly 0 bytes: send an empty response), or
 * AUTHD_FAIL when the mechanism data reports the server's refusal (SCRAM
 * e=), or a negative error: AUTHD_ERR_CHALLENGE (malformed or unexpected
 * challenge), AUTHD_ERR_VERIFY (DIGEST-MD5 rspauth or SCRAM v= is wrong:
 * the server does not know the password; abandon the exchange),
 * AUTHD_ERR_PASSWORD, AUTHD_ERR_NOMEM.  *resp_r as in
 * authd_client_start(). */
int authd_client_step(struct authd_client *cl, const unsigned char *challenge,
		      size_t len, const unsigned char **resp_r, size_t *len_r);

/* authd_client_finish - the server announced success; final is the data
 * that came with it (OK resp=, or NULL/0 for none).  Returns AUTHD_OK
 * when the exchange is complete: for DIGEST-MD5 and SCRAM, the server has
 * proved it knows the password (in final, or in an earlier challenge
 * handled by authd_client_step()); AUTHD_ERR_VERIFY when it has not, or
 * AUTHD_ERR_CHALLENGE for final data that makes no sense.  A caller that
 * skips this check loses mutual authentication. */
int authd_client_finish(struct authd_client *cl, const unsigned char *final,
			size_t len);

#ifdef __cplusplus
}
#endif

#endif
