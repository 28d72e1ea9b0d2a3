/* Mutant wn_missing: a writer that is NEXT and times out leaves without taking NEXT out of W (no WN)
 * Expected to be caught by: no phantom NEXT (a live participant outside its wait is still NEXT);
 * without that invariant, an invalid end state (the other writers wait for the live NEXT forever)
 * check-config: safety-2p-nodeath */
#define MUTANT_WN_MISSING
#include "../prwlock.pml"
