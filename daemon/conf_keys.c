/*
 * conf_keys - the keys of authd.conf.  Keep authd.conf.5 in step.
 */
#include "build_config.h"
#include "conf_keys.h"
#include "log.h"
#include "proc.h"

const struct config_key conf_keys[] = {
	/* The credential store (userdb). */
	{ "store_path", CONFIG_STR, AUTHD_STORE_PATH, 0, 0, NULL },
	{ "store_owner", CONFIG_STR, "", 0, 0, NULL },
	{ "store_group", CONFIG_STR, "", 0, 0, NULL },
	{ "store_mode", CONFIG_MODE, "0640", 0, 0, NULL },
	{ "store_lock_timeout", CONFIG_UINT, "30", 0, 3600, NULL },
	/* Bytes of change log before it is folded into a new base; 0: 1/64
	 * of the base, at least 256 KiB (userdb.h). */
	{ "store_log_max", CONFIG_UINT, "0", 0, 1UL << 40, NULL },
	/* Which store: GDBM files at store_path, or a PostgreSQL database
	 * that many nodes share (userdb/store_pg.h).  Its connection string
	 * (libpq keywords or a postgresql:// URI) is given inline, or in a
	 * file that only root may read, since it may hold a password. */
	{ "store", CONFIG_ENUM, "gdbm", 0, 0, "gdbm|postgresql" },
	{ "store_pg_conninfo", CONFIG_STR, "", 0, 0, NULL },
	{ "store_pg_conninfo_file", CONFIG_STR, "", 0, 0, NULL },
	/* authd's connections to it: lookups run on that many threads, one
	 * connection each (authd/storepool.h). */
	{ "store_pg_connections", CONFIG_UINT, "4", 1, 64, NULL },
	/* Cache hits without a read, while a LISTEN connection hears every
	 * change (authd/storepool.h). */
	{ "store_pg_notify", CONFIG_BOOL, "yes", 0, 0, NULL },
	/* A site's own tables instead of the authd schema: read-only
	 * (userdb/store_pg.h, store_pg_set_query). */
	{ "store_pg_password_query", CONFIG_STR, "", 0, 0, NULL },
	/* Names. */
	{ "default_realm", CONFIG_STR, "", 0, 0, NULL },
	{ "username_fold_case", CONFIG_BOOL, "yes", 0, 0, NULL },
	/* Verifiers that pwtool creates. */
	{ "password_scheme", CONFIG_ENUM, "yescrypt", 0, 0,
	  "yescrypt|sha512-crypt|bcrypt" },
	{ "password_cost", CONFIG_UINT, "0", 0, 999999999, NULL },
	{ "scram_iterations", CONFIG_UINT, "4096", 4096, 10000000, NULL },
	{ "pwtool_default_mechs", CONFIG_STR, "plain scram", 0, 0, NULL },
	/* The daemon: sockets, process, privileges. */
	{ "socket_dir", CONFIG_STR, "/run/authd", 0, 0, NULL },
	{ "socket_owner", CONFIG_STR, "", 0, 0, NULL },
	{ "socket_group", CONFIG_STR, "", 0, 0, NULL },
	{ "socket_mode", CONFIG_MODE, "0660", 0, 0, NULL },
	{ "socket_dir_mode", CONFIG_MODE, "0750", 0, 0, NULL },
	{ "socket_peer_users", CONFIG_STR, "", 0, 0, NULL },
	{ "socket_peer_groups", CONFIG_STR, "", 0, 0, NULL },
	{ "pid_file", CONFIG_STR, "", 0, 0, NULL },
	{ "user", CONFIG_STR, "authd", 0, 0, NULL },
	{ "group", CONFIG_STR, "", 0, 0, NULL },
	{ "chroot", CONFIG_STR, "", 0, 0, NULL },
	{ "log_facility", CONFIG_ENUM, "auth", 0, 0, PROC_FACILITIES },
	/* auto: syslog, or the journal's stream under authd -F (log.h). */
	{ "log_target", CONFIG_ENUM, "auto", 0, 0, LOG_TARGETS },
	{ "max_connections", CONFIG_UINT, "4096", 16, 1000000, NULL },
	/* Each socket's own share of max_connections (0: three quarters), so
	 * that neither can lock the other's clients out; and one local
	 * user's (0: no cap). */
	{ "mux_max_connections", CONFIG_UINT, "0", 0, 1000000, NULL },
	{ "auth_max_connections", CONFIG_UINT, "0", 0, 1000000, NULL },
	{ "max_connections_per_uid", CONFIG_UINT, "0", 0, 1000000, NULL },
	/* MiB for every connection's buffers and open exchanges together. */
	{ "connection_memory_max", CONFIG_UINT, "32", 1, 65536, NULL },
	{ "sandbox", CONFIG_BOOL, "yes", 0, 0, NULL },
	/* Checking passwords. */
	{ "auth_backend", CONFIG_ENUM, "store", 0, 0, "store|pam" },
	{ "auth_workers", CONFIG_UINT, "0", 0, 256, NULL },
	{ "auth_reply_max", CONFIG_TIME, "8s", 1000, 60000, NULL },
	/* The fair hash queue (daemon/worker.h): what may wait for a
	 * worker, in all and per source; the rest is refused at once. */
	{ "auth_queue_max", CONFIG_UINT, "512", 1, 1000000, NULL },
	{ "auth_queue_per_source", CONFIG_UINT, "32", 1, 1000000, NULL },
	{ "auth_failure_delay", CONFIG_TIME, "1s", 0, 30000, NULL },
	{ "auth_failure_delay_max", CONFIG_TIME, "5s", 0, 60000, NULL },
	/* Who may switch the failure delay off (no-penalty): nobody by
	 * default, since any client of the auth socket could otherwise
	 * time its guesses without it. */
	{ "auth_no_penalty_users", CONFIG_STR, "", 0, 0, NULL },
	{ "auth_no_penalty_groups", CONFIG_STR, "", 0, 0, NULL },
	{ "auth_cache", CONFIG_BOOL, "no", 0, 0, NULL },
	{ "auth_cache_ttl", CONFIG_TIME, "5m", 1000, 86400000, NULL },
	{ "auth_cache_size", CONFIG_UINT, "10000", 16, 10000000, NULL },
	{ "pam_service", CONFIG_STR, "", 0, 0, NULL },
	{ "pam_append_realm", CONFIG_BOOL, "no", 0, 0, NULL },
	{ "pam_workers", CONFIG_UINT, "16", 1, 256, NULL },
	{ "pam_groups", CONFIG_STR, "", 0, 0, NULL },
	/* The mux (saslauthd) socket. */
	{ "mux_timeout", CONFIG_TIME, "5s", 100, 600000, NULL },
	/* The auth (Dovecot auth-client) socket. */
	{ "auth_mechanisms", CONFIG_STR, "plain login scram-sha-256 scram-sha-1",
	  0, 0, NULL },
	{ "auth_request_timeout", CONFIG_TIME, "60s", 1000, 600000, NULL },
	{ "auth_idle_timeout", CONFIG_TIME, "5m", 0, 86400000, NULL },
	{ "auth_disable_plaintext", CONFIG_BOOL, "no", 0, 0, NULL },
	{ "auth_proxy_users", CONFIG_STR, "", 0, 0, NULL },
	{ "auth_realm_mechanisms", CONFIG_STR, "", 0, 0, NULL },
	{ "digest_md5_realms", CONFIG_STR, "", 0, 0, NULL },
	/* The control socket (authd/conn_control.h): its name in socket_dir
	 * ("none": no control socket), and the group that may use it besides
	 * root ("": root only, mode 0600). */
	{ "control_socket", CONFIG_STR, "control", 0, 0, NULL },
	{ "control_group", CONFIG_STR, "", 0, 0, NULL },
	{ NULL, CONFIG_STR, NULL, 0, 0, NULL },
};

struct config *
conf_keys_new(void)
{
	return config_new(conf_keys);
}
