/* Mutant next_no_defer: the writer that is NEXT claims as soon as W has no owner, without
 * deferring to queued readers (its blockers() skip the queued-reader scan)
 * Expected to be caught by: P-RBOUND (a visible queued reader overtaken)
 * check-config: bound-2p-death */
#define MUTANT_NEXT_NO_DEFER
#include "../prwlock.pml"
