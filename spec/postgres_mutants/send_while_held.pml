/* Mutant send_while_held: acquire() starts a server acquisition without `held == .none` (e.g. a
 * writer while readers hold), which the server grants re-entrantly to the same session
 * Expected to be caught by: local mutual exclusion / holders counted in held
 * check-config: pg-safety-2t */
#define MUTANT_SEND_WHILE_HELD
#include "../postgres_session.pml"
