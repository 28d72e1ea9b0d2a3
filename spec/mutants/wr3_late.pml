/* Mutant wr3_late: a writer's release clears ownerDied after giving W up (WR3 after WR4)
 * Expected to be caught by: assertion: the next writer is told (a later death's notice is wiped; needs 2 deaths) */
#define MUTANT_WR3_LATE
#include "../prwlock.pml"
