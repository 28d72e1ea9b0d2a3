/* Mutant od_never: recovery never sets ownerDied
 * Expected to be caught by: assertion: the next writer is told a writer died holding */
#define MUTANT_OD_NEVER
#include "../prwlock.pml"
