/* Mutant no_grant_after_leave: endWait does not call grantTurns() after a queued waiter times out
 * or is cancelled, so readers queued behind a writer that left stay queued beside a shared hold
 * Expected to be caught by: invariant: no queued task that could go on (needs 3 tasks)
 * check-config: pg-safety-3t */
#define MUTANT_NO_GRANT_AFTER_LEAVE
#include "../postgres_session.pml"
