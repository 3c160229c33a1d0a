/*
 * test_config - the authd.conf reader: syntax, types, and error messages.
 */
#include "config.h"
#include "conf_keys.h"
#include "test.h"

static const struct {
	const char *text;
	const char *error;	/* substring of the error, or NULL if valid */
} cases[] = {
	{ "", NULL },
	{ "# comment\n\n   \n", NULL },
	{ "default_realm = example.org\n", NULL },
	{ "default_realm=example.org", NULL },
	{ "  store_mode =  0600  \r\n", NULL },
	{ "default_realm =\n", NULL },
	{ "password_scheme = bcrypt\n", NULL },
	{ "username_fold_case = off\n", NULL },
	{ "no_such_key = 1\n", "t.conf:1: unknown key \"no_such_key\"" },
	{ "\n\nstore_mode = 0999\n", "t.conf:3: store_mode: expected an octal mode" },
	{ "scram_iterations = 100\n", "t.conf:1: scram_iterations: number out of range" },
	{ "scram_iterations = -4096\n", "expected a whole number" },
	{ "scram_iterations = 4096x\n", "expected a whole number" },
	{ "password_scheme = md5\n", "not one of the allowed values" },
	{ "username_fold_case = maybe\n", "expected yes or no" },
	{ "default_realm\n", "t.conf:1: expected \"key = value\"" },
	{ " = x\n", "missing key" },
	{ "default_realm = a\ndefault_realm = b\n",
	  "t.conf:2: default_realm is already set at line 1" },
	{ "default_realm = a\x01" "b\n", "control character" },
	{ "default_realm = example.org   # main domain\n",
	  "t.conf:1: default_realm: a comment must be on a line of its own" },
	{ "store_path = /var/lib/authd/users.db\t#x\n", "line of its own" },
	{ "\tdefault_realm = example.org\n  # a comment line\n", NULL },
	{ "pam_service = smtp#1\n", NULL },
};

int
main(void)
{
	struct config *cfg;
	char *error;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ok;

		cfg = conf_keys_new();
		error = NULL;
		ok = config_parse(cfg, cases[i].text, strlen(cases[i].text),
				  "t.conf", &error);
		if (cases[i].error == NULL)
			CHECK(ok, "case %zu valid%s%s", i, error ? ": " : "",
			      error ? error : "");
		else
			CHECK(!ok && error != NULL && strstr(error, cases[i].error),
			      "case %zu: error \"%s\" (got \"%s\")", i,
			      cases[i].error, error ? error : "none");
		free(error);
		config_free(cfg);
	}

	cfg = conf_keys_new();
	error = NULL;
	CHECK(config_parse(cfg, "store_mode = 0600\ndefault_realm = x.org\n", 40,
			   "t.conf", &error), "typed accessors: parse");
	CHECK(config_uint(cfg, "store_mode") == 0600, "mode is octal");
	CHECK(config_is_set(cfg, "store_mode"), "set key is set");
	CHECK(!config_is_set(cfg, "store_owner"), "unset key is not set");
	CHECK_STR(config_str(cfg, "default_realm"), "x.org", "string value");
	CHECK(config_uint(cfg, "scram_iterations") == 4096, "default applies");
	CHECK(config_bool(cfg, "username_fold_case"), "bool default yes");
	CHECK(config_set(cfg, "password_cost", "7", &error), "config_set");
	CHECK(config_uint(cfg, "password_cost") == 7, "config_set value");
	CHECK(!config_set(cfg, "password_cost", "x", &error), "config_set checks");
	free(error);
	error = NULL;
	CHECK(config_parse(cfg, "default_realm = a\0b\n", 18, "t.conf", &error) == 0 &&
	      strstr(error, "NUL") != NULL, "NUL byte refused");
	free(error);
	error = NULL;
	CHECK(!config_load(cfg, "/nonexistent/authd.conf", false, &error) &&
	      strstr(error, "/nonexistent/authd.conf") != NULL,
	      "missing file named in the error");
	free(error);
	CHECK(config_load(cfg, "/nonexistent/authd.conf", true, &error),
	      "missing default file is fine");
	config_free(cfg);
	return test_done();
}
