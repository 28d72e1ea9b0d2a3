/* Mutant dekker: a reader loads W before publishing in R (breaks the Dekker pair)
 * Expected to be caught by: mutual exclusion (v2: a reader biased in an earlier round enters at R3 on a stale W)
 * check-config: safety-2p-nodeath */
#define MUTANT_DEKKER
#include "../prwlock.pml"
