/* Mutant no_pglocks: after 55P03 the session does not read pg_locks, so a lock granted in the
 * same instant as the timeout stays with the session while held == .none
 * Expected to be caught by: consistency (held == server lock) / no leaked server lock
 * check-config: pg-safety-2t */
#define MUTANT_NO_PGLOCKS
#include "../postgres_session.pml"
