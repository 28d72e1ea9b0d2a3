/* Mutant od_never: recovery never sets ownerDied
 * Expected to be caught by: assertion: the next writer is told a writer died holding
 * check-config: safety-2p-death */
#define MUTANT_OD_NEVER
#include "../prwlock.pml"
