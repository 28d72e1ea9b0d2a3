/* Mutant od_always: recovery sets ownerDied even when the dead writer's holdsWrite is 0
 * Expected to be caught by: invariant: ownerDied only after a writer died with holdsWrite = 1
 * check-config: safety-2p-death */
#define MUTANT_OD_ALWAYS
#include "../prwlock.pml"
