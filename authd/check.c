/*
 * check - the check pipeline.  See check.h.
 * Untrusted input: every field of the request (copied, bounded, and
 * sanitised before it reaches a log line).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "server.h"
#include "backend.h"
#include "cache.h"
#include "log.h"
#include "loop.h"
#include "password.h"
#include "policy.h"
#include "secret.h"
#include "stats.h"
#include "storepool.h"
#include "throttle.h"
#include "userdb.h"
#include "worker.h"
#include "xalloc.h"

#define LOG_FIELD	(4 * 64 + 1)
#define SOURCE_MAX	(LOG_FIELD + 8)
#define REFUSED_REASON	"overloaded: no room in the queue " \
			"(auth_queue_max, auth_queue_per_source)"

enum check_state { ST_WORKING, ST_DELAYING };

struct check {
	struct job job;
	struct loop_timer timer;
	enum check_state state;
	bool cancelled;
	bool answered;		/* auth_reply_max answered it (deadline_fired) */
	bool cached;
	bool no_delay;
	bool client_known;
	bool refused;		/* no room in the queue (job.refused) */
	char via[8];
	unsigned char stats_socket;	/* stats.h: STATS_MUX, STATS_AUTH */
	unsigned char stats_mech;	/* stats.h: enum stats_mech */
	char login_log[LOG_FIELD], service[LOG_FIELD], client[LOG_FIELD];
	char service_raw[65];
	char client_addr[LOG_FIELD];	/* client without ";port" */
	char source[SOURCE_MAX];	/* the queue's source (check.h) */
	struct worker_pool *pool;	/* the pool the job went to */
	struct storepool_fetch *fetch;	/* the store lookup in flight */
	char server[STOREPOOL_SERVER_MAX];	/* the store server that
						 * answered, "" for GDBM */
	bool fetch_done;		/* the record came from the pool */
	long long read_at;		/* ... at this change counter */
	char *pw;
	size_t pw_len;
	struct userdb_name name;
	bool name_ok;
	char id[USERDB_KEY_MAX + 1];	/* who, for cache and throttle */
	char cache_id[USERDB_KEY_MAX + 66];	/* id, or service/id for PAM */
	struct userdb_record rec;
	int found;
	enum auth_result result;
	const char *reason;		/* for the log only */
	char reason_buf[384];	/* room for a realm (253) in a reason */
	uint64_t start, deadline_mono;
	struct userdb_hash_params hash;
	const struct backend *backend;
	void (*done)(void *, enum auth_result, const struct userdb_name *);
	void *ctx;
};

static unsigned int pending;

unsigned int
check_pending(void)
{
	return pending;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
check_free(struct check *c)
{
	if (c->pw != NULL)
		secret_free(c->pw, c->pw_len + 1);
	userdb_record_clear(&c->rec);
	secret_wipe(c, sizeof(*c));
	free(c);
	pending--;
}

static void
deliver(struct check *c)
{
	if (!c->cancelled)
		c->done(c->ctx, c->result, c->name_ok ? &c->name : NULL);
	check_free(c);
}

static bool finish(struct check *c);
static struct check *checked_record(struct check *c);
static void client_addr_of(const struct auth_request *r, char *out,
			   size_t size);
static storepool_cb fetched;

static void
delay_fired(struct loop_timer *t)
{
	deliver((struct check *)((char *)t - offsetof(struct check,
							   timer)));
}

/* fetch_abandon - a store look-up in flight is not waited for: the
 * check ends now as a temporary failure (reason for the log).  False when
 * no look-up is in flight. */
static bool
fetch_abandon(struct check *c, const char *reason)
{
	if (c->fetch == NULL)
		return false;
	storepool_cancel(c->fetch);
	c->fetch = NULL;
	c->result = AUTH_TEMPFAIL;
	c->reason = reason;
	(void)finish(c);
	return true;
}

/* deadline_fired - auth_reply_max has passed and a worker is still on the
 * check (a slow PAM module, a hash queue behind a burst): the client gets
 * its temporary failure now, as promised, and the check ends in the
 * background, still logged and counted. */
static void
deadline_fired(struct loop_timer *t)
{
	struct check *c = (struct check *)((char *)t -
		offsetof(struct check, timer));

	if (c->state != ST_WORKING || c->cancelled)
		return;
	stats.reply_max++;
	/* The store has not answered (a server that hangs, or a long
	 * queue): a temporary failure. */
	if (fetch_abandon(c, "store did not answer within auth_reply_max"))
		return;
	if (worker_cancel(c->pool, &c->job)) {
		/* Still queued: out of the queue, and no worker spends a
		 * hash on a request that is answered already. */
		c->result = AUTH_TEMPFAIL;
		c->reason = "overloaded: queued for auth_reply_max";
		(void)finish(c);	/* no delay for a tempfail: delivers */
		return;
	}
	c->cancelled = true;
	c->answered = true;
	c->done(c->ctx, AUTH_TEMPFAIL, c->name_ok ? &c->name : NULL);
}

static void
log_result(const struct check *c, uint64_t delay)
{
	const char *who = c->name_ok ? c->name.key : c->login_log;

	if (c->answered)
		log_warnx("%s: user=%s service=%s client=%s: answered tempfail "
			  "at auth_reply_max, before the check ended (%s)",
			  c->via, who, c->service, c->client,
			  c->result == AUTH_OK ? "ok" :
			  c->result == AUTH_FAIL ? c->reason : "tempfail");
	else if (c->cancelled)
		log_info("%s: user=%s service=%s client=%s: client went away "
			 "before the answer (%s)", c->via, who, c->service,
			 c->client, c->result == AUTH_OK ? "ok" :
			 c->result == AUTH_FAIL ? c->reason : "tempfail");
	else if (c->result == AUTH_OK)
		log_info("%s: user=%s service=%s client=%s result=ok%s%s%s",
			 c->via, who, c->service, c->client,
			 c->cached ? " cached=yes" : "",
			 c->server[0] != '\0' ? " store=" : "", c->server);
	else if (c->result == AUTH_FAIL)
		log_notice("%s: user=%s service=%s client=%s result=fail "
			   "reason=\"%s\" delay=%llums%s%s", c->via, who,
			   c->service, c->client, c->reason,
			   (unsigned long long)delay,
			   c->server[0] != '\0' ? " store=" : "", c->server);
	else
		log_warnx("%s: user=%s service=%s client=%s result=tempfail "
			  "reason=\"%s\"%s%s", c->via, who, c->service,
			  c->client, c->reason,
			  c->server[0] != '\0' ? " store=" : "", c->server);
}

/* log_refused - a check refused for want of room in the queue.  Not one
 * line each: a refusal costs no hash, and a client that asks again at
 * once (a flood does) would otherwise fill the log at the loop's speed.
 * A refusal after a quiet second is logged with its user and source; the
 * ones within the second after it are only counted, and the next line
 * says how many there were. */
static void
log_refused(const struct check *c, uint64_t now)
{
	static uint64_t last;
	static unsigned long unlogged;

	if (last != 0 && now - last < 1000) {
		unlogged++;
		return;
	}
	if (unlogged > 0)
		log_warnx("overloaded: %lu more checks refused in the %llu ms "
			  "before this one (no room in the queue)", unlogged,
			  (unsigned long long)(now - last));
	log_warnx("%s: user=%s service=%s client=%s source=\"%s\" "
		  "result=tempfail reason=\"%s\"", c->via,
		  c->name_ok ? c->name.key : c->login_log, c->service,
		  c->client, c->source, c->reason);
	unlogged = 0;
	last = now;
}

/* count - the counters of a finished check (stats.h): what its client
 * was told, or that it went away first. */
static void
count(const struct check *c, uint64_t delay)
{
	enum stats_result r = c->answered ? STATS_TEMPFAIL :
			      c->cancelled ? STATS_GONE :
			      c->result == AUTH_OK ? STATS_OK :
			      c->result == AUTH_FAIL ? STATS_FAIL : STATS_TEMPFAIL;

	stats.requests[c->stats_socket][c->stats_mech][r]++;
	if (delay > 0)
		stats.delayed++;
	if (c->refused)
		stats.refused++;
}

/* finish - cache, throttle, log, then deliver now or after the delay.
 * Returns true if delivered (c is gone), false if a delay is pending. */
static bool
finish(struct check *c)
{
	uint64_t now = loop_now(authd.loop), delay = 0, elapsed, logged_delay = 0;
	const struct authd_settings *s = authd.set;

	loop_timer_cancel(authd.loop, &c->timer);	/* the deadline */
	/* A record read before a change whose notification has come since
	 * must not enter the cache: the flush for it is past. */
	if (c->result == AUTH_OK && authd.cache != NULL && !c->cached &&
	    c->pw != NULL && (!c->fetch_done || storepool_may_cache(c->read_at)))
		cache_insert(authd.cache, c->cache_id, c->pw, c->pw_len,
			     c->backend->lookup_credentials != NULL ?
			     c->rec.fingerprint : NULL,
			     now);
	if (c->pw != NULL) {
		secret_free(c->pw, c->pw_len + 1);
		c->pw = NULL;
	}
	userdb_record_clear(&c->rec);
	if (c->result == AUTH_OK) {
		throttle_success(authd.throttle, c->id, now);
	} else if (c->result == AUTH_FAIL) {
		/* Without a known address there is no address to count:
		 * lumping all such clients together would let one attacker
		 * slow down everybody. */
		unsigned int n = throttle_failure(authd.throttle, c->id,
						  c->client_known ? c->client_addr : NULL,
						  now);

		uint64_t target = c->no_delay ? 0 :
			throttle_delay(n, s->fail_delay, s->fail_delay_max);

		/* The delay is counted from the request's start, not from the
		 * end of the check: every failure is answered at start +
		 * target, however long its verifier took (a dummy yescrypt for
		 * an unknown user, microseconds for a cleartext or CRAM-MD5
		 * record), so timing reveals nothing while the check is shorter
		 * than the delay.  The target never exceeds fail_delay_max,
		 * itself below auth_reply_max. */
		elapsed = now - c->start;
		delay = target > elapsed ? target - elapsed : 0;
		logged_delay = target;
	}
	if (c->refused)
		log_refused(c, now);
	else
		log_result(c, logged_delay);
	count(c, logged_delay);
	if (c->cancelled) {
		check_free(c);
		return true;
	}
	if (delay > 0) {
		c->state = ST_DELAYING;
		loop_timer_init(&c->timer, delay_fired);
		loop_timer_set(authd.loop, &c->timer, delay);
		return false;
	}
	deliver(c);
	return true;
}

/* refuse - no room in the queue: a temporary failure, never a wrong
 * password.  Returns check_start's handle (NULL once answered). */
static struct check *
refuse(struct check *c)
{
	c->refused = true;
	c->result = AUTH_TEMPFAIL;
	c->reason = REFUSED_REASON;
	return finish(c) ? NULL : c;
}

/* --- worker side --- */

/* run - on a worker: the back-end's verdict.  A request that waited
 * longer than the reply budget is answered without spending a hash (or a
 * PAM conversation) on it: the client has given up by now. */
static void
run(struct job *job)
{
	struct check *c = (struct check *)job;
	struct backend_request br = {
		&c->name, c->service_raw,
		c->client_known ? c->client_addr : NULL,
		c->pw, c->pw_len, &c->rec, c->found, &c->hash,
	};

	if (mono_ms() > c->deadline_mono) {
		c->result = AUTH_TEMPFAIL;
		c->reason = "overloaded: request waited too long";
		return;
	}
	c->result = c->backend->verify_plain(&br, c->reason_buf,
					     sizeof(c->reason_buf));
	c->reason = c->reason_buf;
}

static void
job_complete(struct job *job)
{
	struct check *c = (struct check *)job;

	/* No room in the queue (or pushed out by a lighter source): a
	 * temporary failure, never a wrong password, and not counted. */
	if (job->refused) {
		c->refused = true;
		c->result = AUTH_TEMPFAIL;
		c->reason = REFUSED_REASON;
	}
	/* A check whose client went away is still logged and counted: an
	 * attacker must not dodge the throttle by hanging up. */
	(void)finish(c);
}

/* --- loop side --- */

/* check_new - copy what the log and throttle need from the request. */
static struct check *
check_new(const struct auth_request *r)
{
	const struct authd_settings *s = authd.set;
	struct check *c = xcalloc(1, sizeof(*c));

	pending++;
	c->start = loop_now(authd.loop);
	c->deadline_mono = mono_ms() + s->reply_max;
	c->done = r->done;
	c->ctx = r->ctx;
	c->no_delay = r->no_delay;
	c->hash = s->hash;
	c->backend = s->backend;
	c->state = ST_WORKING;
	loop_timer_init(&c->timer, deadline_fired);
	snprintf(c->via, sizeof(c->via), "%s", r->via);
	c->stats_socket = strcmp(r->via, "auth") == 0 ? STATS_AUTH : STATS_MUX;
	c->stats_mech = (unsigned char)stats_mech(r->mech);
	log_safe(r->login, r->login_len, c->login_log, sizeof(c->login_log));
	log_safe(r->service ? r->service : "", r->service ? r->service_len : 0,
		       c->service, sizeof(c->service));
	log_safe(r->client ? r->client : "", r->client ? r->client_len : 0,
		       c->client, sizeof(c->client));
	c->client_known = c->client[0] != '\0';
	client_addr_of(r, c->client_addr, sizeof(c->client_addr));
	if (!c->client_known)
		snprintf(c->client, sizeof(c->client), "-");
	if (s->pam_service[0] != '\0')
		snprintf(c->service_raw, sizeof(c->service_raw), "%s",
			 s->pam_service);
	else if (r->service != NULL && r->service_len < sizeof(c->service_raw))
		snprintf(c->service_raw, sizeof(c->service_raw), "%.*s",
			 (int)r->service_len, r->service);
	c->result = AUTH_FAIL;
	return c;
}

/* client_addr_of - r's client address without ";port", made safe. */
static void
client_addr_of(const struct auth_request *r, char *out, size_t size)
{
	const char *semi;
	size_t n;

	if (r->client == NULL) {
		out[0] = '\0';
		return;
	}
	/* libsasl2 sends "ip;port": the port changes with every connection,
	 * so the address alone identifies the client for the throttle. */
	semi = memchr(r->client, ';', r->client_len);
	n = semi != NULL ? (size_t)(semi - r->client) : r->client_len;
	log_safe(r->client, n, out, size);
}

/* source_from - the queue's source (check.h, "Queue"): the client
 * address (an IPv6 one as its /64), else the requester, else "-". */
static void
source_from(const char *client_addr, const char *peer, char *out,
	    size_t size)
{
	unsigned char a[16];
	char net[INET6_ADDRSTRLEN];
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
						    0, 0, 0xff, 0xff };

	if (client_addr[0] != '\0') {
		/* One host or site: an IPv6 client may pick any address of
		 * its /64, so the /64 is the source. */
		if (inet_pton(AF_INET6, client_addr, a) == 1 &&
		    memcmp(a, v4mapped, sizeof(v4mapped)) != 0) {
			memset(a + 8, 0, 8);
			if (inet_ntop(AF_INET6, a, net, sizeof(net)) != NULL) {
				snprintf(out, size, "net %s/64", net);
				return;
			}
		}
		snprintf(out, size, "addr %s", client_addr);
	} else if (peer != NULL) {
		snprintf(out, size, "%s", peer);
	} else {
		snprintf(out, size, "-");
	}
}

static void
source_of(struct check *c, const struct auth_request *r)
{
	source_from(c->client_addr, r->peer, c->source, sizeof(c->source));
}

void
check_source(const struct auth_request *r, char *buf, size_t size)
{
	char addr[LOG_FIELD];

	client_addr_of(r, addr, sizeof(addr));
	source_from(addr, r->peer, buf, size);
}

/* realm_refuses - auth_realm_mechanisms forbids r->mech in the realm of
 * name: the reason goes to buf. */
static bool
realm_refuses(const struct auth_request *r, const struct userdb_name *name,
	      char *buf, size_t size)
{
	if (r->mech == NULL || policy_mech_allowed(r->mech, name->realm))
		return false;
	snprintf(buf, size, "mechanism %s is not allowed in realm %s "
		 "(auth_realm_mechanisms)", r->mech, name->realm);
	return true;
}

struct check *
check_report(const struct auth_request *r, const struct userdb_name *name,
		  enum auth_result result, const char *reason)
{
	struct check *c = check_new(r);

	if (name != NULL) {
		c->name = *name;
		c->name_ok = true;
		memcpy(c->id, name->key, name->key_len + 1);
	} else {
		snprintf(c->id, sizeof(c->id), "%s", c->login_log);
	}
	c->result = result;
	if (r->store_server != NULL)
		snprintf(c->server, sizeof(c->server), "%s", r->store_server);
	snprintf(c->reason_buf, sizeof(c->reason_buf), "%s",
		 reason != NULL ? reason : "");
	/* The mechanism has already done its work (the same work for every
	 * user, so no timing tells the policy from a wrong password); only
	 * the log says which it was. */
	if (name != NULL && result != AUTH_TEMPFAIL &&
	    realm_refuses(r, name, c->reason_buf, sizeof(c->reason_buf)))
		c->result = AUTH_FAIL;
	c->reason = c->reason_buf;
	return finish(c) ? NULL : c;
}

struct check *
check_start(const struct auth_request *r)
{
	const struct authd_settings *s = authd.set;
	const struct backend *be = s->backend;
	struct check *c = check_new(r);
	const char *why;
	bool remote;	/* the store is read off the loop (storepool.h) */

	if ((why = be->resolve(r, c->service_raw, &c->name)) == NULL) {
		c->name_ok = true;
		memcpy(c->id, c->name.key, c->name.key_len + 1);
		/* PAM decides per service: a success for one service must
		 * not open another from the cache. */
		if (be->cache_per_service)
			snprintf(c->cache_id, sizeof(c->cache_id), "%s/%s",
				 c->service_raw, c->id);
		else
			memcpy(c->cache_id, c->id, c->name.key_len + 1);
	}
	if (why == NULL)
		why = userdb_password_check(r->password, r->password_len);
	if (why == NULL && r->mech != NULL) {
		/* The realm is the store's idea of it on every back-end: the
		 * one the login names or default_realm (a login that the
		 * store rules refuse has no realm to restrict). */
		struct userdb_name sn;
		const struct userdb_name *n = &c->name;

		if (be != &backend_store)
			n = backend_store.resolve(r, NULL, &sn) == NULL ? &sn :
			    NULL;
		if (n != NULL && realm_refuses(r, n, c->reason_buf,
					       sizeof(c->reason_buf)))
			why = c->reason_buf;
	}
	if (why != NULL) {
		/* Malformed names cannot exist, and a realm's mechanism
		 * policy is the same for all its users, so answering without
		 * a hash reveals nothing about any user (and the failure delay
		 * still runs from the request's start). */
		if (why != c->reason_buf)
			snprintf(c->reason_buf, sizeof(c->reason_buf), "%s", why);
		c->reason = c->reason_buf;
		if (c->id[0] == '\0')
			snprintf(c->id, sizeof(c->id), "%s", c->login_log);
		return finish(c) ? NULL : c;
	}
	/* A source with no room left in the queue is refused before the
	 * store is read or the password copied: under a flood, refusals are
	 * most of the work and must cost little.  Such a source has more
	 * than its share waiting already, so even a login the cache could
	 * answer waits until its earlier ones are done. */
	source_of(c, r);
	c->pool = be->may_block ? authd.pam_pool : authd.hash_pool;
	remote = be == &backend_store && storepool_active();
	if (!worker_has_room(c->pool, c->source) ||
	    (remote && !storepool_has_room(c->source)))
		return refuse(c);
	c->pw = xmalloc(r->password_len + 1);
	memcpy(c->pw, r->password, r->password_len);
	c->pw[r->password_len] = '\0';
	c->pw_len = r->password_len;
	c->job.complete = job_complete;
	c->job.run = run;
	if (remote) {
		/* While the listener hears every change (storepool.h), a
		 * cache hit needs no record. */
		if (authd.cache != NULL && storepool_cache_trusted() &&
		    cache_lookup_current(authd.cache, c->cache_id, c->pw,
					 c->pw_len, c->start)) {
			stats.cache_hits++;
			c->cached = true;
			c->result = AUTH_OK;
			return finish(c) ? NULL : c;
		}
		/* The record comes back through fetched(), on the loop; the
		 * deadline runs from now, as for a hash. */
		loop_timer_set(authd.loop, &c->timer, s->reply_max);
		c->fetch = storepool_fetch(&c->name, c->service_raw, c->source,
					   s->reply_max, fetched, c);
		return c;
	}
	if (be->lookup_credentials != NULL) {
		c->found = be->lookup_credentials(&c->name, &c->rec, &why);
		if (c->found < 0) {
			c->result = AUTH_TEMPFAIL;
			snprintf(c->reason_buf, sizeof(c->reason_buf), "%s", why);
			c->reason = c->reason_buf;
			return finish(c) ? NULL : c;
		}
	}
	return checked_record(c);
}

/* checked_record - with the user's record in hand (or none): the cache,
 * a cheap verifier on the loop, else a worker.  Returns c while it is
 * alive (a worker has it, or a delay), NULL once it is answered and
 * gone: check_start's contract. */
static struct check *
checked_record(struct check *c)
{
	const struct authd_settings *s = authd.set;
	const struct backend *be = c->backend;

	if (authd.cache != NULL &&
	    (be->lookup_credentials == NULL ||
	     (c->found == 1 && !(c->rec.flags & USERDB_FLAG_DISABLED)))) {
		if (cache_lookup(authd.cache, c->cache_id, c->pw, c->pw_len,
				 be->lookup_credentials != NULL ?
				 c->rec.fingerprint : NULL, c->start)) {
			stats.cache_hits++;
			c->cached = true;
			c->result = AUTH_OK;
			return finish(c) ? NULL : c;
		}
		stats.cache_misses++;
	}
	/* A record without a strong verifier (cleartext, CRAM-MD5,
	 * DIGEST-MD5) checks in microseconds: a right password is answered
	 * here, as a worker's round trip (and a wait behind the hashes)
	 * would cost far more than the check.  Anything else goes to a
	 * worker, where a failure is padded to the dummy's cost
	 * (backend_store.c) so that it looks like an unknown user's: the
	 * microseconds spent here are under 0.1% of that. */
	if (c->found == 1 && !(c->rec.flags & USERDB_FLAG_DISABLED) &&
	    !(c->rec.have & (USERDB_V_CRYPT | USERDB_V_SCRAM_SHA256 |
			     USERDB_V_SCRAM_SHA1)) &&
	    userdb_verify(&c->rec, &c->name, c->pw, c->pw_len)) {
		c->result = AUTH_OK;
		return finish(c) ? NULL : c;
	}
	if (c->fetch_done) {
		/* The deadline set before the lookup still runs; the hash
		 * queue may have filled meanwhile. */
		if (!worker_has_room(c->pool, c->source))
			return refuse(c);
	} else {
		loop_timer_set(authd.loop, &c->timer, s->reply_max);
	}
	/* A refusal (a lighter source pushed this one's oldest out since
	 * worker_has_room, or took the room) comes back through
	 * job_complete, from the loop. */
	worker_submit_from(c->pool, &c->job, c->source);
	return c;
}

/* fetched - the store pool's answer (storepool.h), on the loop. */
static void
fetched(void *ctx, int found, struct userdb_record *rec, const char *why,
	const char *server, long long changes)
{
	struct check *c = ctx;

	c->fetch = NULL;
	c->fetch_done = true;
	c->read_at = changes;
	snprintf(c->server, sizeof(c->server), "%s", server);
	if (found < 0) {
		/* Never "unknown user": the store could not say. */
		c->result = AUTH_TEMPFAIL;
		snprintf(c->reason_buf, sizeof(c->reason_buf), "%s", why);
		c->reason = c->reason_buf;
		(void)finish(c);
		return;
	}
	c->found = found;
	c->rec = *rec;
	userdb_record_init(rec);
	(void)checked_record(c);
}

void
check_cancel(struct check *c)
{
	if (c == NULL)
		return;
	if (c->state == ST_DELAYING) {
		loop_timer_cancel(authd.loop, &c->timer);
		check_free(c);
		return;
	}
	c->cancelled = true;	/* job_complete frees it */
	if (fetch_abandon(c, "client went away during the store lookup"))
		return;
	if (worker_cancel(c->pool, &c->job)) {
		/* No worker had it yet: nothing was checked, so nothing is
		 * counted; the slot in the queue is free at once. */
		c->result = AUTH_TEMPFAIL;
		c->reason = "client went away while queued";
		(void)finish(c);
	}
}
