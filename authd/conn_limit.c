/*
 * conn_limit - connection limits.  See conn_limit.h.
 */
#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "conn_limit.h"
#include "log.h"
#include "loop.h"
#include "server.h"
#include "xalloc.h"

/* A refusal is logged at once; the next ones are counted and reported
 * at most this often: a client that reconnects in a loop would otherwise
 * write a line per attempt. */
#define CONN_LIMIT_LOG_MS	10000
/* After a connection closes, wait this long (closes come in bursts) and
 * then give freed memory back if the connections fell to half of their
 * peak or fewer. */
#define CONN_LIMIT_TRIM_MS	1000
/* Fewer connections than this at their peak hold too little to be worth
 * a trim (a mux client at a time would trim every second). */
#define CONN_LIMIT_TRIM_PEAK	32

struct uid_count {
	uid_t uid;
	unsigned int n;
};

static unsigned int by_kind[2];
static struct uid_count *uids;		/* one entry per uid with a
					 * connection, unordered */
static size_t n_uids, cap_uids;
/* One rate limit per limit, so that each one that refuses is named. */
enum { LIM_TOTAL, LIM_MUX, LIM_AUTH, LIM_UID, LIM_N };
static struct limit_log {
	const char *key;
	unsigned int value;		/* the limit when it last refused */
	uint64_t last_log;
	unsigned long unreported;	/* refusals since that line */
	struct loop_timer timer;	/* reports them */
} logs[LIM_N] = {
	{ "max_connections", 0, 0, 0, { 0, -1, NULL } },
	{ "mux_max_connections", 0, 0, 0, { 0, -1, NULL } },
	{ "auth_max_connections", 0, 0, 0, { 0, -1, NULL } },
	{ "max_connections_per_uid", 0, 0, 0, { 0, -1, NULL } },
};
static struct loop_timer trim_timer;
static bool timers_ready;
static unsigned int peak;		/* most connections since a trim */

static void
report_timer(struct loop_timer *t)
{
	struct limit_log *l = (struct limit_log *)((char *)t -
		offsetof(struct limit_log, timer));

	if (l->unreported == 0)
		return;
	log_warnx("%s (%u) reached: %lu more client%s refused in the last "
		  "%d s", l->key, l->value, l->unreported,
		  l->unreported == 1 ? "" : "s", CONN_LIMIT_LOG_MS / 1000);
	l->unreported = 0;
	l->last_log = loop_now(authd.loop);
}

/* trim - most clients have gone: the memory their buffers used is free
 * but may still be the process's (the allocator keeps it for reuse);
 * give it back, so a burst does not leave the daemon large. */
static void
trim(struct loop_timer *t)
{
	(void)t;
	if (authd.connections > peak / 2 || peak < CONN_LIMIT_TRIM_PEAK)
		return;
	(void)malloc_trim(0);
	peak = authd.connections;
}

static void
timers_init(void)
{
	if (timers_ready)
		return;
	size_t i;

	for (i = 0; i < LIM_N; i++)
		loop_timer_init(&logs[i].timer, report_timer);
	loop_timer_init(&trim_timer, trim);
	timers_ready = true;
}

/* refuse - log the refusal (rate-limited), false. */
static bool
refuse(int which, unsigned int limit, const struct conn_slot *s)
{
	struct limit_log *l = &logs[which];
	uint64_t now = loop_now(authd.loop);

	l->value = limit;
	if (l->last_log != 0 && now - l->last_log < CONN_LIMIT_LOG_MS) {
		if (l->unreported++ == 0)
			loop_timer_set(authd.loop, &l->timer,
				       l->last_log + CONN_LIMIT_LOG_MS - now);
		return false;
	}
	if (s->per_uid)
		log_warnx("%s (%u) reached by uid %u, refusing a client",
			  l->key, limit, (unsigned int)s->uid);
	else
		log_warnx("%s (%u) reached, refusing a client", l->key, limit);
	l->last_log = now;
	return false;
}

static struct uid_count *
uid_find(uid_t uid)
{
	size_t i;

	for (i = 0; i < n_uids; i++)
		if (uids[i].uid == uid)
			return &uids[i];
	return NULL;
}

bool
conn_limit_admit(int fd, enum conn_kind kind, struct conn_slot *slot_r)
{
	const struct authd_settings *set = authd.set;
	unsigned int kind_max = kind == CONN_KIND_AUTH ?
				set->auth_max_connections :
				set->mux_max_connections;
	struct uid_count *u = NULL;

	timers_init();
	slot_r->kind = kind;
	slot_r->uid = (uid_t)-1;
	slot_r->per_uid = false;
	slot_r->taken = false;
	if (authd.connections >= set->max_connections)
		return refuse(LIM_TOTAL, set->max_connections, slot_r);
	if (by_kind[kind] >= kind_max)
		return refuse(kind == CONN_KIND_AUTH ? LIM_AUTH : LIM_MUX,
			      kind_max, slot_r);
	if (set->max_connections_per_uid != 0) {
		struct ucred cred;
		socklen_t len = sizeof(cred);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			log_warn("SO_PEERCRED");
			return false;
		}
		/* root may stop authd anyway: no cap (and the MTA's master
		 * process keeps working whatever its users do). */
		if (cred.uid != 0) {
			slot_r->uid = cred.uid;
			slot_r->per_uid = true;
			u = uid_find(cred.uid);
			if (u != NULL && u->n >= set->max_connections_per_uid)
				return refuse(LIM_UID,
					      set->max_connections_per_uid,
					      slot_r);
		}
	}
	if (slot_r->per_uid) {
		if (u == NULL) {
			if (n_uids == cap_uids) {
				cap_uids = cap_uids ? cap_uids * 2 : 16;
				uids = xreallocarray(uids, cap_uids,
						     sizeof(*uids));
			}
			u = &uids[n_uids++];
			u->uid = slot_r->uid;
			u->n = 0;
		}
		u->n++;
	}
	by_kind[kind]++;
	authd.connections++;
	if (authd.connections > peak)
		peak = authd.connections;
	slot_r->taken = true;
	return true;
}

void
conn_limit_release(struct conn_slot *slot)
{
	struct uid_count *u;

	if (!slot->taken)
		return;
	slot->taken = false;
	by_kind[slot->kind]--;
	authd.connections--;
	if (slot->per_uid && (u = uid_find(slot->uid)) != NULL && --u->n == 0)
		*u = uids[--n_uids];
	if (authd.connections <= peak / 2 && !authd.stopping &&
	    trim_timer.idx < 0)
		loop_timer_set(authd.loop, &trim_timer, CONN_LIMIT_TRIM_MS);
}

unsigned int
conn_limit_count(enum conn_kind kind)
{
	return by_kind[kind];
}
