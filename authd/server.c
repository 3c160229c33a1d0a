/*
 * server - the daemon's one shared state object.  See server.h.
 */
#include "server.h"

struct authd authd;
