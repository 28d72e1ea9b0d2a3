/* Mutant grant_loss: the code before the fix of finding P1: a loss noticed between the
 * server's grant and the acquiring task's next actor step leaves lostReason unset, and the task
 * records a hold the server no longer has
 * Expected to be caught by: consistency (held == server lock) / exclusion against the other session
 * note: the code before the fix of finding P1 (spec/README.md)
 * check-config: pg-safety-2t */
#define MUTANT_GRANT_LOSS
#include "../postgres_session.pml"
