/*
 * conn_control - the control socket.  See conn_control.h and
 * proto/control-protocol.txt.
 * Untrusted input: the command lines (proto/control.h parses them); the
 * names in a reply are the throttle's, already made safe for the log.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "build_config.h"
#include "cache.h"
#include "conn.h"
#include "conn_control.h"
#include "conn_limit.h"
#include "control.h"
#include "log.h"
#include "loop.h"
#include "peer.h"
#include "server.h"
#include "stats.h"
#include "storepool.h"
#include "throttle.h"
#include "worker.h"
#include "xalloc.h"

/* A reply may queue this much before the connection stops being read;
 * `penalty list` stops at CONTROL_LIST_MAX lines so that one reply stays
 * a few hundred KiB however full the throttle's table is. */
#define CONTROL_BACKLOG		(64 * 1024)
#define CONTROL_LIST_MAX	2000

struct control_conn {
	struct conn conn;		/* first: the buffered connection */
	struct control_conn *prev, *next;
	struct loop_timer timer;
	uid_t uid;			/* the peer, for the log */
};

static struct control_conn *all_conns;
static unsigned int n_conns;

static void line(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* line - one data line of a reply: a line that begins with "." gets one
 * more (control-protocol.txt), so no data line reads as the end. */
static void
line(struct buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(tmp))
		n = (int)sizeof(tmp) - 1;
	if (tmp[0] == '.')
		(void)buf_append_c(b, '.');
	(void)buf_append(b, tmp, (size_t)n);
	(void)buf_append_c(b, '\n');
}

static uint64_t
uptime_s(void)
{
	return (loop_now(authd.loop) - stats.start_ms) / 1000;
}

static uint64_t
requests_total(void)
{
	uint64_t n = 0;
	int s, m, r;

	for (s = 0; s < 2; s++)
		for (m = 0; m < STATS_MECHS; m++)
			for (r = 0; r < STATS_RESULTS; r++)
				n += stats.requests[s][m][r];
	return n;
}

static unsigned int
queued(struct worker_pool *p)
{
	unsigned int jobs = 0, sources;

	if (p != NULL)
		worker_queue_stats(p, &jobs, &sources);
	return jobs;
}

static void
do_status(struct buf *b)
{
	const struct authd_settings *s = authd.set;

	line(b, "authd %s pid %ld uptime %llus backend %s requests %llu "
	     "queue %u/%u connections %u", AUTHD_VERSION, (long)getpid(),
	     (unsigned long long)uptime_s(), s->backend->name,
	     (unsigned long long)requests_total(),
	     queued(authd.hash_pool) + queued(authd.pam_pool), s->queue_max,
	     conn_limit_count(CONN_KIND_MUX) + conn_limit_count(CONN_KIND_AUTH));
}

/* The numbers both `stats` and `metrics` show, gathered once. */
struct snapshot {
	uint64_t by_socket[2][STATS_RESULTS];
	uint64_t by_mech[STATS_MECHS][STATS_RESULTS];
	size_t pen_users, pen_addrs, cache_entries;
	uint64_t pen_started;
	unsigned int conns[STATS_SOCKETS];
	unsigned int hash_jobs, pam_jobs;
};

static void
snapshot(struct snapshot *sn)
{
	uint64_t now = loop_now(authd.loop);
	int s, m, r;

	memset(sn, 0, sizeof(*sn));
	for (s = 0; s < 2; s++)
		for (m = 0; m < STATS_MECHS; m++)
			for (r = 0; r < STATS_RESULTS; r++) {
				sn->by_socket[s][r] += stats.requests[s][m][r];
				sn->by_mech[m][r] += stats.requests[s][m][r];
			}
	throttle_counts(authd.throttle, now, &sn->pen_users, &sn->pen_addrs,
			&sn->pen_started);
	sn->cache_entries = authd.cache != NULL ?
			    cache_entries(authd.cache, now) : 0;
	sn->conns[STATS_MUX] = conn_limit_count(CONN_KIND_MUX);
	sn->conns[STATS_AUTH] = conn_limit_count(CONN_KIND_AUTH);
	sn->conns[STATS_CONTROL] = n_conns;
	sn->hash_jobs = queued(authd.hash_pool);
	sn->pam_jobs = queued(authd.pam_pool);
}

/* do_stats - "key value" lines: easy to read, easy to grep. */
static void
do_stats(struct buf *b)
{
	const struct authd_settings *s = authd.set;
	struct snapshot sn;
	int i, r;

	snapshot(&sn);
	line(b, "version %s", AUTHD_VERSION);
	line(b, "pid %ld", (long)getpid());
	line(b, "uptime_seconds %llu", (unsigned long long)uptime_s());
	line(b, "backend %s", s->backend->name);
	line(b, "requests %llu", (unsigned long long)requests_total());
	for (i = 0; i < 2; i++)
		for (r = 0; r < STATS_RESULTS; r++)
			line(b, "requests.%s.%s %llu", stats_socket_names[i],
			     stats_result_names[r],
			     (unsigned long long)sn.by_socket[i][r]);
	/* Only the mechanisms in use: seven of them, four results each, are
	 * mostly zeros (metrics shows them all, for stable series). */
	for (i = 0; i < STATS_MECHS; i++)
		for (r = 0; r < STATS_RESULTS; r++)
			if (sn.by_mech[i][0] + sn.by_mech[i][1] +
			    sn.by_mech[i][2] + sn.by_mech[i][3] > 0)
				line(b, "mechanism.%s.%s %llu",
				     stats_mech_names[i], stats_result_names[r],
				     (unsigned long long)sn.by_mech[i][r]);
	line(b, "cache %s", authd.cache != NULL ? "on" : "off");
	line(b, "cache.hits %llu", (unsigned long long)stats.cache_hits);
	line(b, "cache.misses %llu", (unsigned long long)stats.cache_misses);
	line(b, "cache.entries %zu", sn.cache_entries);
	line(b, "throttle.users %zu", sn.pen_users);
	line(b, "throttle.addresses %zu", sn.pen_addrs);
	line(b, "throttle.started %llu", (unsigned long long)sn.pen_started);
	line(b, "throttle.delayed %llu", (unsigned long long)stats.delayed);
	line(b, "store %s", s->store.pg ? "postgresql" : "gdbm");
	if (s->store.pg) {
		line(b, "store.server %s", storepool_server());
		line(b, "store.lookups %llu",
		     (unsigned long long)stats.store_lookups);
		line(b, "store.errors %llu",
		     (unsigned long long)stats.store_errors);
		line(b, "queue.store %u", storepool_queued());
	}
	line(b, "queue.hash %u", sn.hash_jobs);
	line(b, "queue.pam %u", sn.pam_jobs);
	line(b, "queue.max %u", s->queue_max);
	line(b, "queue.per_source %u", s->queue_per_source);
	line(b, "queue.refused %llu", (unsigned long long)stats.refused);
	line(b, "queue.reply_max %llu", (unsigned long long)stats.reply_max);
	line(b, "workers.hash %u", s->workers);
	line(b, "workers.pam %u", authd.pam_pool != NULL ? s->pam_workers : 0);
	for (i = 0; i < STATS_SOCKETS; i++) {
		line(b, "connections.%s %u", stats_socket_names[i], sn.conns[i]);
		line(b, "connections.%s.accepted %llu", stats_socket_names[i],
		     (unsigned long long)stats.accepted[i]);
	}
}

/* metric - the HELP and TYPE lines of one metric family. */
static void
metric(struct buf *b, const char *name, const char *type, const char *help)
{
	line(b, "# HELP authd_%s %s", name, help);
	line(b, "# TYPE authd_%s %s", name, type);
}

/* do_metrics - the same numbers in the Prometheus text exposition format
 * 0.0.4: one HELP and TYPE per family, counters end in _total, every
 * label value a fixed word (no escaping needed). */
static void
do_metrics(struct buf *b)
{
	const struct authd_settings *s = authd.set;
	struct snapshot sn;
	int i, r;

	snapshot(&sn);
	metric(b, "info", "gauge", "Version and back-end of this authd.");
	line(b, "authd_info{version=\"%s\",backend=\"%s\"} 1", AUTHD_VERSION,
	     s->backend->name);
	metric(b, "start_time_seconds", "gauge",
	       "Start time of authd since the Unix epoch in seconds.");
	line(b, "authd_start_time_seconds %lld", (long long)stats.start_time);
	metric(b, "uptime_seconds", "gauge", "Seconds since authd started.");
	line(b, "authd_uptime_seconds %llu", (unsigned long long)uptime_s());
	metric(b, "requests_total", "counter",
	       "Checks answered, by socket and result (gone: the client "
	       "left before the answer).");
	for (i = 0; i < 2; i++)
		for (r = 0; r < STATS_RESULTS; r++)
			line(b, "authd_requests_total{socket=\"%s\",result=\"%s\"} "
			     "%llu", stats_socket_names[i], stats_result_names[r],
			     (unsigned long long)sn.by_socket[i][r]);
	metric(b, "mechanism_requests_total", "counter",
	       "Checks answered, by SASL mechanism (none: the mux socket) "
	       "and result.");
	for (i = 0; i < STATS_MECHS; i++)
		for (r = 0; r < STATS_RESULTS; r++)
			line(b, "authd_mechanism_requests_total{mechanism=\"%s\","
			     "result=\"%s\"} %llu", stats_mech_names[i],
			     stats_result_names[r],
			     (unsigned long long)sn.by_mech[i][r]);
	metric(b, "cache_hits_total", "counter",
	       "Password checks answered from the credential cache.");
	line(b, "authd_cache_hits_total %llu",
	     (unsigned long long)stats.cache_hits);
	metric(b, "cache_misses_total", "counter",
	       "Password checks the credential cache could not answer.");
	line(b, "authd_cache_misses_total %llu",
	     (unsigned long long)stats.cache_misses);
	metric(b, "cache_entries", "gauge", "Live credential cache entries.");
	line(b, "authd_cache_entries %zu", sn.cache_entries);
	metric(b, "penalties", "gauge",
	       "Failure counts the throttle holds now, by kind.");
	line(b, "authd_penalties{kind=\"user\"} %zu", sn.pen_users);
	line(b, "authd_penalties{kind=\"address\"} %zu", sn.pen_addrs);
	metric(b, "penalties_started_total", "counter",
	       "Failure counts the throttle started.");
	line(b, "authd_penalties_started_total %llu",
	     (unsigned long long)sn.pen_started);
	metric(b, "delayed_failures_total", "counter",
	       "Failures answered after a throttle delay.");
	line(b, "authd_delayed_failures_total %llu",
	     (unsigned long long)stats.delayed);
	metric(b, "queue_jobs", "gauge",
	       "Checks waiting for a worker, by pool.");
	line(b, "authd_queue_jobs{pool=\"hash\"} %u", sn.hash_jobs);
	line(b, "authd_queue_jobs{pool=\"pam\"} %u", sn.pam_jobs);
	line(b, "authd_queue_jobs{pool=\"store\"} %u", storepool_queued());
	metric(b, "store_lookups_total", "counter",
	       "PostgreSQL store look-ups answered, by result (error: a "
	       "temporary failure).");
	line(b, "authd_store_lookups_total{result=\"ok\"} %llu",
	     (unsigned long long)(stats.store_lookups - stats.store_errors));
	line(b, "authd_store_lookups_total{result=\"error\"} %llu",
	     (unsigned long long)stats.store_errors);
	metric(b, "queue_max", "gauge", "auth_queue_max: the queue's bound.");
	line(b, "authd_queue_max %u", s->queue_max);
	metric(b, "queue_refused_total", "counter",
	       "Checks refused (tempfail) for want of room in the queue.");
	line(b, "authd_queue_refused_total %llu",
	     (unsigned long long)stats.refused);
	metric(b, "reply_max_total", "counter",
	       "Checks answered tempfail at auth_reply_max.");
	line(b, "authd_reply_max_total %llu",
	     (unsigned long long)stats.reply_max);
	metric(b, "workers", "gauge", "Worker threads, by pool.");
	line(b, "authd_workers{pool=\"hash\"} %u", s->workers);
	line(b, "authd_workers{pool=\"pam\"} %u",
	     authd.pam_pool != NULL ? s->pam_workers : 0);
	metric(b, "connections", "gauge", "Open connections, by socket.");
	for (i = 0; i < STATS_SOCKETS; i++)
		line(b, "authd_connections{socket=\"%s\"} %u",
		     stats_socket_names[i], sn.conns[i]);
	metric(b, "connections_accepted_total", "counter",
	       "Connections admitted, by socket.");
	for (i = 0; i < STATS_SOCKETS; i++)
		line(b, "authd_connections_accepted_total{socket=\"%s\"} %llu",
		     stats_socket_names[i],
		     (unsigned long long)stats.accepted[i]);
}

struct list_ctx {
	struct buf *b;
	size_t shown;
};

static void
list_one(void *arg, const struct throttle_penalty *p)
{
	struct list_ctx *lc = arg;
	const struct authd_settings *s = authd.set;

	if (lc->shown++ >= CONTROL_LIST_MAX)
		return;
	line(lc->b, "%s %s failures=%u next_delay_ms=%llu forget_in_s=%llu",
	     p->kind == 'a' ? "address" : "user", p->name, p->count,
	     (unsigned long long)throttle_delay(p->count + 1, s->fail_delay,
						s->fail_delay_max),
	     (unsigned long long)((p->remaining_ms + 999) / 1000));
}

static void
do_penalty_list(struct buf *b)
{
	struct list_ctx lc = { b, 0 };

	(void)throttle_list(authd.throttle, loop_now(authd.loop), list_one, &lc);
	if (lc.shown > CONTROL_LIST_MAX)
		line(b, "# %zu more not shown", lc.shown - CONTROL_LIST_MAX);
}

/* user_key - the store key a typed name stands for (the one name rule:
 * case, default_realm), or NULL if it names nobody. */
static const char *
user_key(const char *arg, struct userdb_name *n)
{
	if (userdb_name_parse(arg, strlen(arg), NULL, 0, &authd.set->rules,
			      n) != NULL)
		return NULL;
	return n->key;
}

static void
do_penalty_flush(struct control_conn *c, const struct control_request *req,
		 struct buf *b)
{
	uint64_t now = loop_now(authd.loop);
	struct userdb_name n;
	const char *key;
	size_t gone;

	if (req->all) {
		gone = throttle_flush(authd.throttle, NULL, now);
	} else {
		/* The name as typed (an address, or a user as the log shows
		 * it) and as the store names the user. */
		gone = throttle_flush(authd.throttle, req->arg, now);
		if ((key = user_key(req->arg, &n)) != NULL &&
		    strcmp(key, req->arg) != 0)
			gone += throttle_flush(authd.throttle, key, now);
	}
	log_info("control: uid %u: penalty flush %s: %zu count%s forgotten",
		 (unsigned)c->uid, req->all ? "all" : req->arg, gone,
		 gone == 1 ? "" : "s");
	line(b, "flushed %zu", gone);
}

/* do_cache_flush - NULL, or the reason for an ERR reply. */
static const char *
do_cache_flush(struct control_conn *c, const struct control_request *req,
	       struct buf *b)
{
	uint64_t now = loop_now(authd.loop);
	struct userdb_name n;
	const char *key = NULL;
	size_t gone;

	if (authd.cache == NULL)
		return "auth_cache = no: there is no cache to flush";
	if (!req->all && (key = user_key(req->arg, &n)) == NULL)
		return "not a user name (or no realm and no default_realm)";
	/* PAM's entries are per service ("service/user"), which the admin
	 * does not name: a user's flush is the whole cache there. */
	if (authd.set->backend->cache_per_service)
		key = NULL;
	gone = cache_flush(authd.cache, key, now);
	log_info("control: uid %u: cache flush %s: %zu entr%s forgotten",
		 (unsigned)c->uid, req->all ? "all" : key != NULL ? key :
		 "(PAM: all)", gone, gone == 1 ? "y" : "ies");
	line(b, "flushed %zu%s", gone, !req->all && key == NULL ?
	     " (the PAM back-end caches per service: the whole cache)" : "");
	return NULL;
}

static void
do_help(struct buf *b)
{
	line(b, "status                    one line: version, pid, uptime, ...");
	line(b, "stats                     counters, \"name value\" lines");
	line(b, "metrics | stats prometheus  the counters for Prometheus");
	line(b, "penalty list              the throttle's failure counts");
	line(b, "penalty flush ADDR|USER|all  forget failure counts");
	line(b, "cache flush USER|all      forget cached logins");
}

/* answer - the reply to one command line, queued in c's output. */
static void
answer(struct control_conn *c, const char *text, size_t len)
{
	struct control_request req;
	struct buf *b = &c->conn.out;
	const char *why;
	size_t mark = b->len;

	if ((why = control_parse(text, len, &req)) != NULL) {
		log_debug("control: uid %u: refused a command: %s",
			  (unsigned)c->uid, why);
		line(b, "ERR %s", why);
		(void)buf_append_str(b, CONTROL_END "\n");
		return;
	}
	(void)buf_append_str(b, "OK\n");
	switch (req.cmd) {
	case CONTROL_STATUS: do_status(b); break;
	case CONTROL_STATS: do_stats(b); break;
	case CONTROL_METRICS: do_metrics(b); break;
	case CONTROL_PENALTY_LIST: do_penalty_list(b); break;
	case CONTROL_PENALTY_FLUSH: do_penalty_flush(c, &req, b); break;
	case CONTROL_CACHE_FLUSH:
		if ((why = do_cache_flush(c, &req, b)) != NULL) {
			b->len = mark;
			line(b, "ERR %s", why);
		}
		break;
	case CONTROL_HELP: do_help(b); break;
	}
	(void)buf_append_str(b, CONTROL_END "\n");
}

static void
control_input(struct conn *cn)
{
	struct control_conn *c = (struct control_conn *)cn;
	size_t n;

	while (!cn->closed && !cn->close_when_sent && !conn_backlogged(cn)) {
		n = control_line_end(cn->in.data, cn->in.len);
		if (n == 0 && cn->in.len < CONTROL_LINE_MAX)
			break;
		if (n == 0 || n > CONTROL_LINE_MAX) {
			/* No resynchronising inside an over-long line: say
			 * why, and close. */
			(void)buf_append_str(&cn->out, "ERR line too long\n"
					     CONTROL_END "\n");
			buf_consume(&cn->in, cn->in.len);
			cn->close_when_sent = true;
			break;
		}
		answer(c, cn->in.data, n - 1);
		buf_consume(&cn->in, n);
	}
	loop_timer_set(authd.loop, &c->timer, CONTROL_IDLE_MS);
	if (!cn->closed)
		conn_flush(cn);
}

static void
control_closed(struct conn *cn)
{
	struct control_conn *c = (struct control_conn *)cn;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		all_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	loop_timer_cancel(authd.loop, &c->timer);
	n_conns--;
}

static void
control_free(struct conn *cn)
{
	free(cn);
}

static const struct conn_ops control_ops = {
	control_input, control_closed, control_free, NULL,
};

static void
control_timeout(struct loop_timer *t)
{
	struct control_conn *c = (struct control_conn *)((char *)t -
		offsetof(struct control_conn, timer));

	conn_close(&c->conn);
}

void
conn_control_accept(int fd, bool have_group, gid_t group)
{
	struct control_conn *c;
	struct ucred cred;

	if (!peer_control_allowed(fd, have_group, group, &cred)) {
		close(fd);
		return;
	}
	if (n_conns >= CONTROL_CONNS_MAX) {
		log_notice("control: %d connections open already: refusing "
			   "pid %ld uid %u", CONTROL_CONNS_MAX, (long)cred.pid,
			   (unsigned)cred.uid);
		close(fd);
		return;
	}
	stats.accepted[STATS_CONTROL]++;
	c = xcalloc(1, sizeof(*c));
	c->uid = cred.uid;
	conn_init(&c->conn, authd.loop, fd, &control_ops, CONTROL_LINE_MAX,
		  CONTROL_BACKLOG);
	loop_timer_init(&c->timer, control_timeout);
	loop_timer_set(authd.loop, &c->timer, CONTROL_IDLE_MS);
	c->next = all_conns;
	if (all_conns != NULL)
		all_conns->prev = c;
	all_conns = c;
	n_conns++;
	if (!conn_watch(&c->conn)) {
		log_warn("epoll add");
		conn_close(&c->conn);
	}
}

void
conn_control_close_all(void)
{
	while (all_conns != NULL)
		conn_close(&all_conns->conn);
	loop_run_deferred(authd.loop);
}
