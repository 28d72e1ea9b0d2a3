/* Mutant dekker: a reader loads W before publishing in R (breaks the Dekker pair)
 * Expected to be caught by: mutual exclusion
 * check-config: safety-2p-nodeath */
#define MUTANT_DEKKER
#include "../prwlock.pml"
