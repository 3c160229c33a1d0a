/*
 * settings - the product's configuration keys.  Keep authd.conf.5 in step.
 */
#include "build_config.h"
#include "settings.h"

const struct config_key settings_keys[] = {
	/* The credential store (userdb). */
	{ "store_path", CONFIG_STR, AUTHD_STORE_PATH, 0, 0, NULL },
	{ "store_owner", CONFIG_STR, "", 0, 0, NULL },
	{ "store_group", CONFIG_STR, "", 0, 0, NULL },
	{ "store_mode", CONFIG_MODE, "0640", 0, 0, NULL },
	{ "store_lock_timeout", CONFIG_UINT, "30", 0, 3600, NULL },
	/* Names. */
	{ "default_realm", CONFIG_STR, "", 0, 0, NULL },
	{ "username_fold_case", CONFIG_BOOL, "yes", 0, 0, NULL },
	/* Verifiers that pwtool creates. */
	{ "password_scheme", CONFIG_ENUM, "yescrypt", 0, 0,
	  "yescrypt|sha512-crypt|bcrypt" },
	{ "password_cost", CONFIG_UINT, "0", 0, 999999999, NULL },
	{ "scram_iterations", CONFIG_UINT, "4096", 4096, 10000000, NULL },
	{ "pwtool_default_mechs", CONFIG_STR, "plain scram", 0, 0, NULL },
	{ NULL, CONFIG_STR, NULL, 0, 0, NULL },
};

struct config *
settings_new(void)
{
	return config_new(settings_keys);
}
